package resp_test

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/resp"
)

// equalValue reports whether a and b are the same value: same kind, same
// bytes (nil and empty are the same), same numbers (NaN equals NaN, -0 is
// not 0), same elements and attributes.
func equalValue(a, b resp.Value) bool {
	if a.Kind != b.Kind || !bytes.Equal(a.Str, b.Str) || a.Int != b.Int ||
		a.Bool != b.Bool || a.Format != b.Format || !equalFloat(a.Float, b.Float) {
		return false
	}
	return equalValues(a.Elems, b.Elems) && equalValues(a.Attrs, b.Attrs)
}

func equalValues(a, b []resp.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// dump formats v with every field that equalValue compares, for failure
// messages: Value.String leaves out kinds of scalars, formats and attributes.
func dump(v resp.Value) string {
	var b strings.Builder
	dumpTo(&b, v)
	return b.String()
}

func dumpTo(b *strings.Builder, v resp.Value) {
	if v.Attrs != nil {
		b.WriteString("attrs")
		dumpList(b, v.Attrs)
		b.WriteByte(' ')
	}
	b.WriteString(v.Kind.String())
	switch v.Kind {
	case resp.Integer:
		fmt.Fprintf(b, "(%d)", v.Int)
	case resp.Double:
		fmt.Fprintf(b, "(%v)", v.Float)
	case resp.Boolean:
		fmt.Fprintf(b, "(%t)", v.Bool)
	case resp.Null:
		if v.Bool {
			b.WriteString("(array)")
		}
	case resp.Verbatim:
		fmt.Fprintf(b, "(%q %q)", v.Format[:], v.Str)
	case resp.Array, resp.Set, resp.Push, resp.Map, resp.Attribute:
		dumpList(b, v.Elems)
	default:
		if v.Str != nil {
			fmt.Fprintf(b, "(%q)", v.Str)
		}
	}
	// Fields that the kind does not use should be zero; show them if not.
	if v.Kind != resp.Integer && v.Int != 0 {
		fmt.Fprintf(b, "{Int:%d}", v.Int)
	}
	if v.Kind != resp.Double && v.Float != 0 {
		fmt.Fprintf(b, "{Float:%v}", v.Float)
	}
}

func dumpList(b *strings.Builder, vs []resp.Value) {
	b.WriteByte('[')
	for i, e := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		dumpTo(b, e)
	}
	b.WriteByte(']')
}

// Builders for expected values and wire frames.

func simple(s string) resp.Value { return resp.Value{Kind: resp.SimpleString, Str: []byte(s)} }
func bulk(s string) resp.Value   { return resp.Value{Kind: resp.BulkString, Str: []byte(s)} }
func integer(n int64) resp.Value { return resp.Value{Kind: resp.Integer, Int: n} }
func double(f float64) resp.Value {
	return resp.Value{Kind: resp.Double, Float: f}
}
func boolean(b bool) resp.Value { return resp.Value{Kind: resp.Boolean, Bool: b} }
func null() resp.Value          { return resp.Value{Kind: resp.Null} }
func nullArray() resp.Value     { return resp.Value{Kind: resp.Null, Bool: true} }

// resp3Form is v as it reads back after a RESP3 write: RESP3 has one null,
// so a RESP2 null array's mark is gone.
func resp3Form(v resp.Value) resp.Value {
	if v.Kind == resp.Null {
		v.Bool = false
	}
	if v.Elems != nil {
		out := make([]resp.Value, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = resp3Form(e)
		}
		v.Elems = out
	}
	if v.Attrs != nil {
		out := make([]resp.Value, len(v.Attrs))
		for i, e := range v.Attrs {
			out[i] = resp3Form(e)
		}
		v.Attrs = out
	}
	return v
}
func aggregate(k resp.Kind, elems ...resp.Value) resp.Value {
	return resp.Value{Kind: k, Elems: elems}
}
func withAttrs(v resp.Value, attrs ...resp.Value) resp.Value {
	v.Attrs = attrs
	return v
}

// bulkFrame returns the wire form of a bulk-like frame (typ '$', '!' or '=').
func bulkFrame(typ byte, s string) string {
	return string(typ) + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n"
}

// readOne reads one value from wire and requires that the reader then sees
// the end of the input, so that a case cannot pass by leaving bytes unread.
func readOne(tb testing.TB, wire string, lim resp.Limits) (resp.Value, error) {
	tb.Helper()
	r := resp.NewReader(strings.NewReader(wire), lim)
	v, err := r.Read()
	if err != nil {
		return v, err
	}
	if _, err := r.Read(); err != io.EOF {
		tb.Fatalf("Read(%q): after the value, got %v, want io.EOF (bytes left over)", wire, err)
	}
	return v, nil
}

// encode writes v with a fresh Writer and returns the bytes.
func encode(tb testing.TB, v resp.Value) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	if err := w.WriteValue(v); err != nil {
		tb.Fatalf("WriteValue(%s): %v", dump(v), err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatalf("Flush after WriteValue(%s): %v", dump(v), err)
	}
	return buf.Bytes()
}

// loopReader returns frame over and over, for benchmarks that read the
// same reply forever.
type loopReader struct {
	frame []byte
	off   int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.frame[l.off:])
		n += c
		l.off = (l.off + c) % len(l.frame)
	}
	return n, nil
}

// failWriter fails every write with err.
type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
