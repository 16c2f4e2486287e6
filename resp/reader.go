package resp

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Default limits, used where a [Limits] field is zero.
const (
	// DefaultMaxBulk is Redis's own proto-max-bulk-len default, 512 MiB.
	DefaultMaxBulk = 512 << 20
	// DefaultMaxElems bounds one aggregate's element count (2^24).
	DefaultMaxElems = 1 << 24
	// DefaultMaxDepth bounds the nesting of aggregates.
	DefaultMaxDepth = 64
)

// chunk is the largest allocation made for a bulk string before its data
// has actually arrived; beyond it, memory grows with the bytes read.
const chunk = 64 << 10

// maxReserve is the most elements reserved for an aggregate before they
// arrive (about 100 KiB of Values).
const maxReserve = 1024

// minLineLimit is the longest line payload accepted whatever MaxBulk says,
// so that length headers, integers and doubles always fit.
const minLineLimit = 64

// Limits bounds what a [Reader] accepts. A zero field means its default.
type Limits struct {
	// MaxBulk is the largest payload in bytes of one bulk string, bulk
	// error or verbatim string (its length as sent, "txt:" included), and
	// of one simple string, simple error or big number. Default
	// DefaultMaxBulk (512 MiB).
	MaxBulk int64
	// MaxElems is the largest element count of one aggregate: for maps the
	// number of pairs, for attributes the number of pairs of all the
	// attributes in front of one value. Default DefaultMaxElems (2^24);
	// values above math.MaxInt32 count as math.MaxInt32.
	MaxElems int64
	// MaxDepth is the deepest nesting of aggregates, attributes included.
	// Default DefaultMaxDepth (64).
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	if l.MaxBulk > math.MaxInt {
		l.MaxBulk = math.MaxInt
	}
	if l.MaxElems <= 0 {
		l.MaxElems = DefaultMaxElems
	}
	if l.MaxElems > math.MaxInt32 {
		l.MaxElems = math.MaxInt32 // so that 2*MaxElems map elements fit an int
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Reader reads RESP2 and RESP3 values from a buffered stream. It is not safe
// for concurrent use.
type Reader struct {
	br      *bufio.Reader
	lim     Limits
	maxLine int64  // longest line accepted, type byte and CRLF included
	buf     []byte // scratch for lines that overflow the bufio buffer
	// slab is carved into small bulk strings, so that a reply of many
	// short strings (HGETALL, LRANGE) costs one allocation per slab, not
	// one per string. Carved pieces are never written again: a new slab
	// replaces a full one, and the old stays alive as long as a piece
	// of it does.
	slab []byte
}

// Bulk strings up to slabPiece bytes are carved from slabs of slabSize.
const (
	slabPiece = 256
	slabSize  = 4096
)

// NewReader returns a Reader over r with the given limits. If r is already a
// *bufio.Reader it is used as is.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	lim = lim.withDefaults()
	return &Reader{br: br, lim: lim, maxLine: 1 + max(lim.MaxBulk, minLineLimit) + 2}
}

// Reset makes the Reader read from r, keeping its limits and buffers and
// discarding anything buffered from the previous stream.
func (r *Reader) Reset(rd io.Reader) { r.br.Reset(rd) }

// Buffered returns the number of bytes read from the stream but not yet
// consumed. A non-zero count between commands means unread replies.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Read reads one complete value. Errors from the underlying reader are
// returned as they are, except that io.EOF becomes io.ErrUnexpectedEOF
// when it cuts a value short: io.EOF itself means the stream ended cleanly
// between values. Malformed input wraps [ErrProtocol] and input over the
// limits wraps [ErrLimit]; after any error the stream is out of sync.
//
// RESP2 null bulk strings and null arrays are read as [Null]. An attribute
// is not returned as a value of its own: its pairs go to [Value.Attrs] of
// the value that follows it, and consecutive attributes are merged.
func (r *Reader) Read() (Value, error) {
	return r.read(0)
}

// read reads one value nested in depth aggregates.
func (r *Reader) read(depth int) (Value, error) {
	var attrs []Value
	pending := depth > 0 // an EOF now cuts a value short
	for {
		line, err := r.line()
		if err != nil {
			if pending && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Value{}, err
		}
		if len(line) == 0 {
			return Value{}, fmt.Errorf("%w: empty line", ErrProtocol)
		}
		if line[0] != '|' {
			v, err := r.value(line[0], line[1:], depth)
			if err != nil {
				return Value{}, err
			}
			v.Attrs = attrs
			return v, nil
		}
		// An attribute annotates the value that follows it. Reading that
		// value in this loop rather than by recursion keeps a long chain
		// of attributes from growing the stack, and merging the chain
		// keeps every pair.
		n, err := parseInt(line[1:])
		if err != nil {
			return Value{}, err
		}
		if err := r.checkAggregate(n, depth); err != nil {
			return Value{}, err
		}
		if n += int64(len(attrs) / 2); n > r.lim.MaxElems {
			return Value{}, fmt.Errorf("%w: attributes of %d pairs over %d", ErrLimit, n, r.lim.MaxElems)
		}
		if attrs == nil {
			attrs = make([]Value, 0, r.reserve(2*int(n)))
		}
		if attrs, err = r.elems(attrs, 2*int(n)-len(attrs), depth+1); err != nil {
			return Value{}, err
		}
		pending = true
	}
}

// value reads the rest of a value other than an attribute, given the type
// byte and the rest of its first line.
func (r *Reader) value(typ byte, body []byte, depth int) (Value, error) {
	switch typ {
	case '+', '-', '(':
		if int64(len(body)) > r.lim.MaxBulk {
			return Value{}, fmt.Errorf("%w: line of %d bytes over %d", ErrLimit, len(body), r.lim.MaxBulk)
		}
		switch typ {
		case '+':
			return Value{Kind: SimpleString, Str: clone(body)}, nil
		case '-':
			return Value{Kind: ErrorReply, Str: clone(body)}, nil
		}
		if !isBigNumber(body) {
			return Value{}, fmt.Errorf("%w: bad big number", ErrProtocol)
		}
		return Value{Kind: BigNumber, Str: clone(body)}, nil
	case ':':
		n, err := parseInt(body)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: Integer, Int: n}, nil
	case '_':
		if len(body) != 0 {
			return Value{}, fmt.Errorf("%w: bad null", ErrProtocol)
		}
		return Value{Kind: Null}, nil
	case '#':
		if len(body) != 1 || (body[0] != 't' && body[0] != 'f') {
			return Value{}, fmt.Errorf("%w: bad boolean", ErrProtocol)
		}
		return Value{Kind: Boolean, Bool: body[0] == 't'}, nil
	case ',':
		f, err := parseDouble(body)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: Double, Float: f}, nil
	case '$', '!', '=':
		return r.readBulk(typ, body)
	case '*', '~', '>', '%':
		return r.readAggregate(typ, body, depth)
	}
	return Value{}, fmt.Errorf("%w: unknown type byte %q", ErrProtocol, typ)
}

func (r *Reader) readBulk(typ byte, body []byte) (Value, error) {
	n, err := parseInt(body)
	if err != nil {
		return Value{}, err
	}
	if n == -1 && typ == '$' {
		return Value{Kind: Null}, nil
	}
	if n < 0 {
		return Value{}, fmt.Errorf("%w: negative length %d", ErrProtocol, n)
	}
	if n > r.lim.MaxBulk {
		return Value{}, fmt.Errorf("%w: bulk length %d over %d", ErrLimit, n, r.lim.MaxBulk)
	}
	data, err := r.readN(int(n))
	if err != nil {
		return Value{}, err
	}
	switch typ {
	case '!':
		return Value{Kind: BulkError, Str: data}, nil
	case '=':
		if len(data) < 4 || data[3] != ':' {
			return Value{}, fmt.Errorf("%w: bad verbatim string", ErrProtocol)
		}
		v := Value{Kind: Verbatim, Str: data[4:]}
		copy(v.Format[:], data[:3])
		return v, nil
	}
	return Value{Kind: BulkString, Str: data}, nil
}

// readN reads n bytes followed by CRLF into a fresh slice, growing it as
// data arrives so that a claimed length alone reserves at most chunk bytes.
func (r *Reader) readN(n int) ([]byte, error) {
	if n <= slabPiece {
		if cap(r.slab)-len(r.slab) < n {
			r.slab = make([]byte, 0, slabSize)
		}
		start := len(r.slab)
		r.slab = r.slab[:start+n]
		data := r.slab[start : start+n : start+n] // capped: appends copy
		if _, err := io.ReadFull(r.br, data); err != nil {
			return nil, unexpected(err)
		}
		if err := r.crlf(); err != nil {
			return nil, err
		}
		return data, nil
	}
	data := make([]byte, min(n, chunk))
	if _, err := io.ReadFull(r.br, data); err != nil {
		return nil, unexpected(err)
	}
	for len(data) < n {
		start := len(data)
		// Double, bounded by what is left.
		data = append(data, make([]byte, min(n-start, start))...)
		if _, err := io.ReadFull(r.br, data[start:]); err != nil {
			return nil, unexpected(err)
		}
	}
	if err := r.crlf(); err != nil {
		return nil, err
	}
	return data, nil
}

func (r *Reader) crlf() error {
	c1, err := r.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	c2, err := r.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if c1 != '\r' || c2 != '\n' {
		return fmt.Errorf("%w: missing CRLF after bulk data", ErrProtocol)
	}
	return nil
}

func (r *Reader) readAggregate(typ byte, body []byte, depth int) (Value, error) {
	n, err := parseInt(body)
	if err != nil {
		return Value{}, err
	}
	if n == -1 && typ == '*' {
		return Value{Kind: Null, Bool: true}, nil
	}
	if err := r.checkAggregate(n, depth); err != nil {
		return Value{}, err
	}
	kind, count := aggregateKind(typ, int(n))
	elems, err := r.elems(make([]Value, 0, r.reserve(count)), count, depth+1)
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: kind, Elems: elems}, nil
}

// aggregateKind returns the kind of an aggregate from its type byte, and
// how many values follow a header of n entries (twice n for a map).
func aggregateKind(typ byte, n int) (Kind, int) {
	switch typ {
	case '~':
		return Set, n
	case '>':
		return Push, n
	case '%':
		return Map, 2 * n
	}
	return Array, n
}

// checkAggregate checks the header of an aggregate of n entries (pairs for
// maps and attributes) found at the given depth.
func (r *Reader) checkAggregate(n int64, depth int) error {
	if n < 0 {
		return fmt.Errorf("%w: negative length %d", ErrProtocol, n)
	}
	if n > r.lim.MaxElems {
		return fmt.Errorf("%w: aggregate length %d over %d", ErrLimit, n, r.lim.MaxElems)
	}
	if depth >= r.lim.MaxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrLimit, r.lim.MaxDepth)
	}
	return nil
}

// reserve returns the capacity to allocate for an aggregate of count
// elements. Every element takes at least 3 bytes ("_\r\n"), so when the
// buffered bytes cannot hold them all the header is either large or
// ahead of its data: then reserve only what the buffer could hold, capped
// at maxReserve, and let append grow the slice as elements arrive. A run
// of huge headers therefore costs little, while a reply that has arrived
// gets a slice of exactly the right size.
func (r *Reader) reserve(count int) int {
	return min(count, maxReserve, 1+r.br.Buffered()/3)
}

// elems appends count values read at depth to dst.
func (r *Reader) elems(dst []Value, count, depth int) ([]Value, error) {
	for i := range count {
		e, err := r.read(depth)
		if err != nil {
			return nil, unexpected(err)
		}
		if len(dst) == cap(dst) {
			// Double (up to count): append grows large slices by only
			// 1.25×, which for a reply that arrives in pieces allocates
			// about five times its final size in all.
			dst = slices.Grow(dst, min(count-i, max(cap(dst), 16)))
		}
		dst = append(dst, e)
	}
	return dst, nil
}

// line returns the next line without its CRLF. The slice is valid until the
// next read.
func (r *Reader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		line, err = r.longLine(line)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if int64(len(line)) > r.maxLine {
		return nil, fmt.Errorf("%w: line longer than %d", ErrLimit, r.maxLine)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not terminated by CRLF", ErrProtocol)
	}
	return line[:len(line)-2], nil
}

// longLine reads the rest of a line that overflowed the bufio buffer after
// first, stopping with ErrLimit as soon as it is longer than maxLine. The
// scratch buffer is kept for the next long line only while it is small, so
// that one huge line does not pin its memory for the life of the Reader.
func (r *Reader) longLine(first []byte) ([]byte, error) {
	buf := append(r.buf[:0], first...)
	err := bufio.ErrBufferFull
	for err == bufio.ErrBufferFull {
		if int64(len(buf)) > r.maxLine {
			return nil, fmt.Errorf("%w: line longer than %d", ErrLimit, r.maxLine)
		}
		var more []byte
		more, err = r.br.ReadSlice('\n')
		buf = append(buf, more...)
	}
	if cap(buf) <= chunk {
		r.buf = buf[:0]
	} else {
		r.buf = nil
	}
	return buf, err
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// parseInt parses a signed decimal integer without allocating.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, fmt.Errorf("%w: bad integer %q", ErrProtocol, b)
	}
	neg := false
	i := 0
	switch b[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	if i == len(b) {
		return 0, fmt.Errorf("%w: bad integer %q", ErrProtocol, b)
	}
	var n uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad integer %q", ErrProtocol, b)
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, fmt.Errorf("%w: integer overflow %q", ErrProtocol, b)
		}
		n = n*10 + d
	}
	if neg {
		if n > 1<<63 {
			return 0, fmt.Errorf("%w: integer overflow %q", ErrProtocol, b)
		}
		return -int64(n), nil
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("%w: integer overflow %q", ErrProtocol, b)
	}
	return int64(n), nil
}

func parseDouble(b []byte) (float64, error) {
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	case "nan", "-nan":
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad double %q", ErrProtocol, b)
	}
	return f, nil
}

func isBigNumber(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
