package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Writer writes RESP commands and values to a buffered stream. Nothing
// reaches the underlying writer until [Writer.Flush] (or until the buffer
// fills). It is not safe for concurrent use.
type Writer struct {
	bw  *bufio.Writer
	num []byte // scratch for formatting numbers
}

// NewWriter returns a Writer over w. If w is already a *bufio.Writer it is
// used as is.
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 16<<10)
	}
	return &Writer{bw: bw, num: make([]byte, 0, 24)}
}

// Reset makes the Writer write to w, discarding anything unflushed.
func (w *Writer) Reset(wr io.Writer) { w.bw.Reset(wr) }

// Buffered returns the number of bytes written but not yet flushed.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// WriteCommand writes one command as an array of bulk strings. Arguments are
// written as they are (Go strings may hold any bytes) and nothing is
// allocated per argument.
func (w *Writer) WriteCommand(args ...string) error {
	w.header('*', int64(len(args)))
	for _, a := range args {
		w.header('$', int64(len(a)))
		w.bw.WriteString(a)
		w.bw.WriteString("\r\n")
	}
	return w.err()
}

// CommandLen returns how many bytes [Writer.WriteCommand] writes for args.
// A connection whose write failed uses it to tell which commands reached
// the server whole: a server runs a command only once its last byte (the
// final CRLF) has arrived, so a command that ends past the bytes the
// network accepted certainly did not run.
func CommandLen(args ...string) int64 {
	n := headerLen(int64(len(args)))
	for _, a := range args {
		n += headerLen(int64(len(a))) + int64(len(a)) + 2
	}
	return n
}

// headerLen is the size of a "*n\r\n" or "$n\r\n" header (n ≥ 0).
func headerLen(n int64) int64 {
	digits := int64(1)
	for ; n >= 10; n /= 10 {
		digits++
	}
	return 1 + digits + 2
}

// WriteCommandBytes is [Writer.WriteCommand] for arguments held as bytes.
func (w *Writer) WriteCommandBytes(args ...[]byte) error {
	w.header('*', int64(len(args)))
	for _, a := range args {
		w.header('$', int64(len(a)))
		w.bw.Write(a)
		w.bw.WriteString("\r\n")
	}
	return w.err()
}

// WriteValue writes v in its own kind: RESP3 kinds are written as RESP3,
// and [Null] as the RESP3 null "_". Attributes attached to v (and to its
// elements) are written before the value they annotate. A zero or unknown
// Kind is written as a null.
//
// For a RESP2 peer, convert v with [ToRESP2] first; a Null that remains is
// still written as "_", so a RESP2 server writes top-level nulls with
// [Writer.WriteRESP2Null] instead.
//
// A value that has no wire form (a map or attribute list with an odd
// number of elements, a simple string or error containing '\n', a big
// number that is not an integer) is not written at all: WriteValue returns
// an error wrapping [ErrInvalidValue] and the stream stays in sync.
// Otherwise it returns the first write error of the underlying writer, if
// any.
func (w *Writer) WriteValue(v Value) error {
	if err := check(v); err != nil {
		return err
	}
	w.value(v)
	return w.err()
}

// check returns an error wrapping ErrInvalidValue when v, or a value inside
// it, cannot be written without desynchronising the stream.
func check(v Value) error {
	switch v.Kind {
	case SimpleString, ErrorReply:
		if bytes.IndexByte(v.Str, '\n') >= 0 {
			return fmt.Errorf("%w: %s contains a newline", ErrInvalidValue, v.Kind)
		}
	case BigNumber:
		if !isBigNumber(v.Str) {
			return fmt.Errorf("%w: big number is not an integer", ErrInvalidValue)
		}
	case Map, Attribute:
		if len(v.Elems)%2 != 0 {
			return fmt.Errorf("%w: %s with %d elements, not key/value pairs", ErrInvalidValue, v.Kind, len(v.Elems))
		}
	}
	if len(v.Attrs)%2 != 0 {
		return fmt.Errorf("%w: %d attribute elements, not key/value pairs", ErrInvalidValue, len(v.Attrs))
	}
	for _, a := range v.Attrs {
		if err := check(a); err != nil {
			return err
		}
	}
	for _, e := range v.Elems {
		if err := check(e); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) value(v Value) {
	if len(v.Attrs) > 0 {
		w.header('|', int64(len(v.Attrs)/2))
		for _, a := range v.Attrs {
			w.value(a)
		}
	}
	switch v.Kind {
	case SimpleString:
		w.line('+', v.Str)
	case ErrorReply:
		w.line('-', v.Str)
	case Integer:
		w.header(':', v.Int)
	case BulkString:
		w.bulk('$', v.Str)
	case BulkError:
		w.bulk('!', v.Str)
	case Verbatim:
		w.header('=', int64(len(v.Str)+4))
		w.bw.Write(v.Format[:])
		w.bw.WriteByte(':')
		w.bw.Write(v.Str)
		w.bw.WriteString("\r\n")
	case Null:
		w.bw.WriteString("_\r\n")
	case Boolean:
		if v.Bool {
			w.bw.WriteString("#t\r\n")
		} else {
			w.bw.WriteString("#f\r\n")
		}
	case Double:
		w.bw.WriteByte(',')
		w.num = AppendDouble(w.num[:0], v.Float)
		w.bw.Write(w.num)
		w.bw.WriteString("\r\n")
	case BigNumber:
		w.line('(', v.Str)
	case Array, Set, Push:
		typ := byte('*')
		switch v.Kind {
		case Set:
			typ = '~'
		case Push:
			typ = '>'
		}
		w.header(typ, int64(len(v.Elems)))
		for _, e := range v.Elems {
			w.value(e)
		}
	case Map, Attribute:
		typ := byte('%')
		if v.Kind == Attribute {
			typ = '|'
		}
		w.header(typ, int64(len(v.Elems)/2))
		for _, e := range v.Elems {
			w.value(e)
		}
	default:
		// An invalid Value is a programming error in the caller; write a
		// null rather than desynchronise the stream.
		w.bw.WriteString("_\r\n")
	}
}

// WriteRESP2 writes v in RESP2, as a RESP2 server would have sent it: v is
// converted with [ToRESP2] first, and nulls, at any depth, are written as
// the null bulk string ($-1), or as the null array (*-1) when read from
// one (Bool set). Invalid values are refused as by [Writer.WriteValue].
func (w *Writer) WriteRESP2(v Value) error {
	v = ToRESP2(v)
	if err := check(v); err != nil {
		return err
	}
	w.valueRESP2(v)
	return w.err()
}

func (w *Writer) valueRESP2(v Value) {
	switch v.Kind {
	case Null:
		if v.Bool {
			w.bw.WriteString("*-1\r\n")
		} else {
			w.bw.WriteString("$-1\r\n")
		}
	case Array:
		w.header('*', int64(len(v.Elems)))
		for _, e := range v.Elems {
			w.valueRESP2(e)
		}
	default:
		w.value(v)
	}
}

// WriteRESP2Null writes the RESP2 null bulk string ($-1), which RESP2 peers
// expect instead of RESP3's '_'.
func (w *Writer) WriteRESP2Null() error {
	w.bw.WriteString("$-1\r\n")
	return w.err()
}

func (w *Writer) header(typ byte, n int64) {
	w.bw.WriteByte(typ)
	w.num = strconv.AppendInt(w.num[:0], n, 10)
	w.bw.Write(w.num)
	w.bw.WriteString("\r\n")
}

func (w *Writer) line(typ byte, s []byte) {
	w.bw.WriteByte(typ)
	w.bw.Write(s)
	w.bw.WriteString("\r\n")
}

func (w *Writer) bulk(typ byte, s []byte) {
	w.header(typ, int64(len(s)))
	w.bw.Write(s)
	w.bw.WriteString("\r\n")
}

// err reports the bufio.Writer's sticky error, if any.
func (w *Writer) err() error {
	// bufio.Writer keeps the first write error and returns it from every
	// later call; a zero-length write surfaces it without side effects.
	if _, err := w.bw.Write(nil); err != nil {
		return fmt.Errorf("resp: write: %w", err)
	}
	return nil
}

// AppendDouble appends f in the form Redis uses for doubles: "inf", "-inf",
// "nan", or the shortest decimal that reads back as f.
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
