package resp

import (
	"bufio"
	"fmt"
	"io"
	"math"
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

// chunk is the largest allocation made for an aggregate or a bulk string
// before its data has actually arrived; beyond it, memory grows with the
// bytes read.
const chunk = 64 << 10

// Limits bounds what a [Reader] accepts. A zero field means its default.
type Limits struct {
	// MaxBulk is the largest bulk string, verbatim string, bulk error or
	// line in bytes. Default DefaultMaxBulk (512 MiB).
	MaxBulk int64
	// MaxElems is the largest element count of one aggregate (for maps,
	// the number of pairs). Default DefaultMaxElems.
	MaxElems int64
	// MaxDepth is the deepest nesting of aggregates. Default
	// DefaultMaxDepth (64).
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	if l.MaxElems <= 0 {
		l.MaxElems = DefaultMaxElems
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Reader reads RESP2 and RESP3 values from a buffered stream. It is not safe
// for concurrent use.
type Reader struct {
	br  *bufio.Reader
	lim Limits
	buf []byte // scratch for lines that overflow the bufio buffer
}

// NewReader returns a Reader over r with the given limits. If r is already a
// *bufio.Reader it is used as is.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	return &Reader{br: br, lim: lim.withDefaults()}
}

// Reset makes the Reader read from r, keeping its limits and buffers.
func (r *Reader) Reset(rd io.Reader) { r.br.Reset(rd) }

// Buffered returns the number of bytes read from the stream but not yet
// consumed. A non-zero count between commands means unread replies.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Read reads one complete value. Errors from the underlying reader are
// returned as they are (io.EOF before the first byte of a value, and
// io.ErrUnexpectedEOF within one); malformed input wraps [ErrProtocol] and
// input over the limits wraps [ErrLimit].
func (r *Reader) Read() (Value, error) {
	return r.read(0)
}

func (r *Reader) read(depth int) (Value, error) {
	line, err := r.line()
	if err != nil {
		if depth > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Value{}, err
	}
	if len(line) == 0 {
		return Value{}, fmt.Errorf("%w: empty line", ErrProtocol)
	}
	typ, body := line[0], line[1:]
	switch typ {
	case '+':
		return Value{Kind: SimpleString, Str: clone(body)}, nil
	case '-':
		return Value{Kind: ErrorReply, Str: clone(body)}, nil
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
	case '(':
		if !isBigNumber(body) {
			return Value{}, fmt.Errorf("%w: bad big number", ErrProtocol)
		}
		return Value{Kind: BigNumber, Str: clone(body)}, nil
	case '$', '!', '=':
		return r.readBulk(typ, body)
	case '*', '~', '>', '%', '|':
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
	first := n
	if first > chunk {
		first = chunk
	}
	data := make([]byte, first, first)
	if _, err := io.ReadFull(r.br, data); err != nil {
		return nil, unexpected(err)
	}
	for len(data) < n {
		step := n - len(data)
		if step > len(data) { // double, bounded by what is left
			step = len(data)
		}
		start := len(data)
		data = append(data, make([]byte, step)...)
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
		return Value{Kind: Null}, nil
	}
	if n < 0 {
		return Value{}, fmt.Errorf("%w: negative length %d", ErrProtocol, n)
	}
	if n > r.lim.MaxElems {
		return Value{}, fmt.Errorf("%w: aggregate length %d over %d", ErrLimit, n, r.lim.MaxElems)
	}
	if depth+1 > r.lim.MaxDepth {
		return Value{}, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, r.lim.MaxDepth)
	}
	var kind Kind
	count := int(n)
	switch typ {
	case '*':
		kind = Array
	case '~':
		kind = Set
	case '>':
		kind = Push
	case '%':
		kind, count = Map, 2*int(n)
	case '|':
		kind, count = Attribute, 2*int(n)
	}
	capacity := count
	if capacity > chunk/64 {
		capacity = chunk / 64
	}
	elems := make([]Value, 0, capacity)
	for range count {
		e, err := r.read(depth + 1)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Value{}, err
		}
		elems = append(elems, e)
	}
	if kind == Attribute {
		// An attribute annotates the value that follows it.
		v, err := r.read(depth)
		if err != nil {
			return Value{}, unexpected(err)
		}
		v.Attrs = elems
		return v, nil
	}
	return Value{Kind: kind, Elems: elems}, nil
}

// line returns the next line without its CRLF. The slice is valid until the
// next read.
func (r *Reader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.buf = append(r.buf[:0], line...)
		for err == bufio.ErrBufferFull {
			if int64(len(r.buf)) > r.lim.MaxBulk {
				return nil, fmt.Errorf("%w: line longer than %d", ErrLimit, r.lim.MaxBulk)
			}
			line, err = r.br.ReadSlice('\n')
			r.buf = append(r.buf, line...)
		}
		line = r.buf
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if int64(len(line)) > r.lim.MaxBulk+2 {
		return nil, fmt.Errorf("%w: line longer than %d", ErrLimit, r.lim.MaxBulk)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not terminated by CRLF", ErrProtocol)
	}
	return line[:len(line)-2], nil
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
