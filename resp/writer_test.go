package resp_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/resp"
)

// commandWire is a plain reference encoder for WriteCommand.
func commandWire(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

var commandCases = []struct {
	name string
	args []string
	want string
}{
	{"NoArgs", nil, "*0\r\n"},
	{"Ping", []string{"PING"}, "*1\r\n$4\r\nPING\r\n"},
	{"SetKV", []string{"SET", "k", "v"}, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
	{"EmptyArg", []string{"SET", "", ""}, "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n"},
	{"BinaryArg", []string{"SET", "k\r\n", "a\r\nb\x00\xff"}, "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$6\r\na\r\nb\x00\xff\r\n"},
	{"AllBytes", []string{"SET", "k", allBytes}, commandWire("SET", "k", allBytes)},
	{"ArgLargerThanBuffer", []string{"SET", "k", strings.Repeat("v", 40<<10)}, commandWire("SET", "k", strings.Repeat("v", 40<<10))},
	{"TenArgs", strings.Fields("MSET a 1 b 2 c 3 d 4 e"), commandWire(strings.Fields("MSET a 1 b 2 c 3 d 4 e")...)},
}

func TestWriteCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range commandCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := resp.NewWriter(&buf)
			if err := w.WriteCommand(tc.args...); err != nil {
				t.Fatalf("WriteCommand(%q): %v", tc.args, err)
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("Flush after WriteCommand(%q): %v", tc.args, err)
			}
			if got := buf.String(); got != tc.want {
				t.Fatalf("WriteCommand(%.60q): got %.80q, want %.80q", tc.args, got, tc.want)
			}

			// The bytes form writes the same bytes.
			buf.Reset()
			bargs := make([][]byte, len(tc.args))
			for i, a := range tc.args {
				bargs[i] = []byte(a)
			}
			if err := w.WriteCommandBytes(bargs...); err != nil {
				t.Fatalf("WriteCommandBytes(%q): %v", tc.args, err)
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("Flush after WriteCommandBytes(%q): %v", tc.args, err)
			}
			if got := buf.String(); got != tc.want {
				t.Fatalf("WriteCommandBytes(%.60q): got %.80q, want %.80q", tc.args, got, tc.want)
			}

			// And it reads back as an array of bulk strings.
			got, err := readOne(t, tc.want, resp.Limits{})
			if err != nil {
				t.Fatalf("Read(WriteCommand(%.60q)): %v", tc.args, err)
			}
			want := resp.Value{Kind: resp.Array, Elems: []resp.Value{}}
			for _, a := range tc.args {
				want.Elems = append(want.Elems, bulk(a))
			}
			if !equalValue(got, want) {
				t.Fatalf("Read(WriteCommand(%.60q)): got %.80s, want %.80s", tc.args, dump(got), dump(want))
			}
		})
	}
}

func TestWriterBuffersUntilFlush(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	if err := w.WriteCommand("PING"); err != nil {
		t.Fatalf("WriteCommand(PING): %v", err)
	}
	if buf.Len() != 0 || w.Buffered() != len("*1\r\n$4\r\nPING\r\n") {
		t.Fatalf("before Flush: got %d bytes written, %d buffered; want 0 and %d", buf.Len(), w.Buffered(), len("*1\r\n$4\r\nPING\r\n"))
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if buf.String() != "*1\r\n$4\r\nPING\r\n" || w.Buffered() != 0 {
		t.Fatalf("after Flush: got %q written, %d buffered; want the command and 0", buf.String(), w.Buffered())
	}
}

func TestWriterUsesGivenBufioWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 64)
	w := resp.NewWriter(bw)
	if err := w.WriteCommand("GET", "k"); err != nil {
		t.Fatalf("WriteCommand(GET k): %v", err)
	}
	if bw.Buffered() != w.Buffered() || bw.Buffered() == 0 {
		t.Fatalf("NewWriter(*bufio.Writer): bufio has %d buffered, Writer %d; want the same non-zero count", bw.Buffered(), w.Buffered())
	}
}

func TestWriterReset(t *testing.T) {
	t.Parallel()
	var first, second bytes.Buffer
	w := resp.NewWriter(&first)
	if err := w.WriteCommand("DISCARDED"); err != nil {
		t.Fatalf("WriteCommand: %v", err)
	}
	w.Reset(&second)
	if err := w.WriteCommand("PING"); err != nil {
		t.Fatalf("WriteCommand after Reset: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush after Reset: %v", err)
	}
	if first.Len() != 0 || second.String() != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("after Reset: got %q and %q, want nothing and the PING command", first.String(), second.String())
	}
}

func TestWriterReportsWriteErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	cases := []struct {
		name  string
		write func(w *resp.Writer) error
	}{
		{"FlushAfterSmallCommand", func(w *resp.Writer) error {
			if err := w.WriteCommand("PING"); err != nil {
				return fmt.Errorf("WriteCommand failed before any I/O: %w", err)
			}
			return w.Flush()
		}},
		{"CommandLargerThanBuffer", func(w *resp.Writer) error {
			return w.WriteCommand("SET", "k", strings.Repeat("v", 40<<10))
		}},
		{"CommandBytesLargerThanBuffer", func(w *resp.Writer) error {
			return w.WriteCommandBytes([]byte("SET"), []byte("k"), bytes.Repeat([]byte("v"), 40<<10))
		}},
		{"ValueLargerThanBuffer", func(w *resp.Writer) error {
			return w.WriteValue(bulk(strings.Repeat("v", 40<<10)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := resp.NewWriter(failWriter{boom})
			if err := tc.write(w); !errors.Is(err, boom) {
				t.Fatalf("%s to a failing writer: got %v, want %v", tc.name, err, boom)
			}
			// The error is sticky.
			if err := w.WriteCommand("PING"); !errors.Is(err, boom) {
				t.Fatalf("WriteCommand after a failed write: got %v, want %v", err, boom)
			}
			if err := w.WriteRESP2Null(); !errors.Is(err, boom) {
				t.Fatalf("WriteRESP2Null after a failed write: got %v, want %v", err, boom)
			}
		})
	}
}

func TestWriteValueEncodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    resp.Value
		want string
	}{
		{"SimpleString", simple("OK"), "+OK\r\n"},
		{"SimpleStringWithCR", simple("a\rb"), "+a\rb\r\n"},
		{"ErrorReply", resp.ErrorValue("ERR bad"), "-ERR bad\r\n"},
		{"IntegerMin", integer(math.MinInt64), ":-9223372036854775808\r\n"},
		{"IntegerMax", integer(math.MaxInt64), ":9223372036854775807\r\n"},
		{"Bulk", bulk("foo"), "$3\r\nfoo\r\n"},
		{"BulkNilIsEmpty", resp.Value{Kind: resp.BulkString}, "$0\r\n\r\n"},
		{"BulkBinary", bulk("a\r\n\x00"), "$4\r\na\r\n\x00\r\n"},
		{"BulkError", resp.Value{Kind: resp.BulkError, Str: []byte("SYNTAX bad")}, "!10\r\nSYNTAX bad\r\n"},
		{"Verbatim", resp.Value{Kind: resp.Verbatim, Str: []byte("Some string"), Format: [3]byte{'t', 'x', 't'}}, "=15\r\ntxt:Some string\r\n"},
		{"Null", null(), "_\r\n"},
		{"True", boolean(true), "#t\r\n"},
		{"False", boolean(false), "#f\r\n"},
		{"Double", double(1.5), ",1.5\r\n"},
		{"DoubleTenth", double(0.1), ",0.1\r\n"},
		{"DoubleNegativeZero", double(math.Copysign(0, -1)), ",-0\r\n"},
		{"DoubleHuge", double(1e300), ",1e+300\r\n"},
		{"DoubleInf", double(math.Inf(1)), ",inf\r\n"},
		{"DoubleMinusInf", double(math.Inf(-1)), ",-inf\r\n"},
		{"DoubleNaN", double(math.NaN()), ",nan\r\n"},
		{"BigNumber", resp.Value{Kind: resp.BigNumber, Str: []byte("-123456789012345678901234567890")}, "(-123456789012345678901234567890\r\n"},
		{"Array", aggregate(resp.Array, integer(1), bulk("a")), "*2\r\n:1\r\n$1\r\na\r\n"},
		{"ArrayEmpty", aggregate(resp.Array), "*0\r\n"},
		{"Set", aggregate(resp.Set, integer(1)), "~1\r\n:1\r\n"},
		{"Push", aggregate(resp.Push, bulk("message")), ">1\r\n$7\r\nmessage\r\n"},
		{"Map", aggregate(resp.Map, simple("b"), integer(1), simple("a"), integer(2)), "%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n"},
		{"AttributeKind", aggregate(resp.Attribute, simple("a"), integer(1)), "|1\r\n+a\r\n:1\r\n"},
		{"WithAttrs", withAttrs(integer(5), simple("a"), integer(1)), "|1\r\n+a\r\n:1\r\n:5\r\n"},
		{"ElementWithAttrs", aggregate(resp.Array, withAttrs(null(), simple("a"), integer(1))), "*1\r\n|1\r\n+a\r\n:1\r\n_\r\n"},
		{"InvalidKindIsNull", resp.Value{}, "_\r\n"},
		{"UnknownKindIsNull", resp.Value{Kind: resp.Kind(200)}, "_\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(encode(t, tc.v)); got != tc.want {
				t.Fatalf("WriteValue(%s): got %q, want %q", dump(tc.v), got, tc.want)
			}
		})
	}
}

// TestWriteValueRejectsUnencodable covers values that have no wire form:
// writing them as they are would desynchronise the stream, so WriteValue
// writes nothing and returns ErrInvalidValue.
func TestWriteValueRejectsUnencodable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    resp.Value
	}{
		// Regression: a map with an odd element count was written with a
		// header of len/2 pairs followed by all elements.
		{"MapOddElems", aggregate(resp.Map, simple("k"), integer(1), simple("dangling"))},
		{"AttributeOddElems", aggregate(resp.Attribute, simple("k"))},
		{"AttrsOdd", withAttrs(integer(1), simple("k"))},
		{"NestedMapOddElems", aggregate(resp.Array, integer(1), aggregate(resp.Map, simple("k")))},
		{"OddElemsInAttrs", withAttrs(integer(1), simple("k"), aggregate(resp.Map, simple("x")))},
		// Regression: line-based kinds containing '\n' were written as
		// they are and ended the line early.
		{"SimpleStringWithLF", simple("a\nb")},
		{"SimpleStringWithCRLF", simple("OK\r\n+INJECTED")},
		{"ErrorWithLF", resp.ErrorValue("ERR a\nb")},
		{"BigNumberNotDigits", resp.Value{Kind: resp.BigNumber, Str: []byte("12a")}},
		{"BigNumberEmpty", resp.Value{Kind: resp.BigNumber}},
		{"SimpleStringInArrayWithLF", aggregate(resp.Array, simple("ok"), simple("a\nb"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := resp.NewWriter(&buf)
			if err := w.WriteValue(tc.v); !errors.Is(err, resp.ErrInvalidValue) {
				t.Fatalf("WriteValue(%s): got %v, want ErrInvalidValue", dump(tc.v), err)
			}
			if w.Buffered() != 0 {
				t.Fatalf("WriteValue(%s): %d bytes buffered after the error, want 0", dump(tc.v), w.Buffered())
			}
			// The writer is still usable.
			if err := w.WriteCommand("PING"); err != nil {
				t.Fatalf("WriteCommand after WriteValue(%s): %v", dump(tc.v), err)
			}
		})
	}
}

func TestWriteRESP2Null(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	if err := w.WriteRESP2Null(); err != nil {
		t.Fatalf("WriteRESP2Null: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if buf.String() != "$-1\r\n" {
		t.Fatalf("WriteRESP2Null: got %q, want %q", buf.String(), "$-1\r\n")
	}
}

// roundTripValues are values built in code rather than read, for the
// round-trip test; decodeCases adds every value the reader produces.
var roundTripValues = []struct {
	name string
	v    resp.Value
}{
	{"BulkNil", resp.Value{Kind: resp.BulkString}},
	{"BulkBig", bulk(strings.Repeat("\r\n\x00x", 50<<10))},
	{"DoubleTenth", double(0.1)},
	{"DoubleThird", double(1.0 / 3)},
	{"DoubleMax", double(math.MaxFloat64)},
	{"DoubleSmallest", double(math.SmallestNonzeroFloat64)},
	{"DoubleNegativeZero", double(math.Copysign(0, -1))},
	{"DoubleNaN", double(math.NaN())},
	{"DoubleMinusInf", double(math.Inf(-1))},
	{"IntegerMin", integer(math.MinInt64)},
	{"VerbatimZeroFormat", resp.Value{Kind: resp.Verbatim, Str: []byte("x")}},
	{"AttrsOnAttrElements", withAttrs(aggregate(resp.Set, bulk("m")), withAttrs(simple("k"), simple("ka"), integer(1)), withAttrs(integer(2), simple("va"), null()))},
	{"Deep", func() resp.Value {
		v := integer(1)
		for range 31 { // 62 levels, plus the push: within DefaultMaxDepth
			v = aggregate(resp.Map, simple("k"), aggregate(resp.Array, v))
		}
		return aggregate(resp.Push, bulk("deep"), v)
	}()},
	{"Wide", func() resp.Value {
		elems := make([]resp.Value, 5000)
		for i := range elems {
			elems[i] = integer(int64(i))
		}
		return aggregate(resp.Array, elems...)
	}()},
}

func TestWriteValueRoundTrip(t *testing.T) {
	t.Parallel()
	type rtCase struct {
		name string
		v    resp.Value
	}
	var cases []rtCase
	for _, tc := range decodeCases {
		cases = append(cases, rtCase{"Decoded" + tc.name, tc.want})
	}
	for _, tc := range roundTripValues {
		cases = append(cases, rtCase{tc.name, tc.v})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wire := encode(t, tc.v)
			got, err := readOne(t, string(wire), resp.Limits{})
			if err != nil {
				t.Fatalf("Read(WriteValue(%.80s)) = Read(%.80q): %v", dump(tc.v), wire, err)
			}
			if !equalValue(got, resp3Form(tc.v)) {
				t.Fatalf("Read(WriteValue(%.80s)): got %.80s", dump(tc.v), dump(got))
			}
		})
	}
}

func TestAppendDouble(t *testing.T) {
	t.Parallel()
	cases := []struct {
		f    float64
		want string
	}{
		{1.5, "1.5"},
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{-2, "-2"},
		{0.1, "0.1"},
		{1e21, "1e+21"},
		{1e300, "1e+300"},
		{1e-7, "1e-07"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tc := range cases {
		if got := string(resp.AppendDouble([]byte("x="), tc.f)); got != "x="+tc.want {
			t.Errorf("AppendDouble(%q, %v): got %q, want %q", "x=", tc.f, got, "x="+tc.want)
		}
	}
}

func TestWriteRESP2(t *testing.T) {
	in := resp.Value{Kind: resp.Map, Elems: []resp.Value{
		resp.Value{Kind: resp.BulkString, Str: []byte("k")}, {Kind: resp.Double, Float: 1.5},
		resp.SimpleValue("n"), resp.NullValue(),
		resp.Value{Kind: resp.BulkString, Str: []byte("set")}, {Kind: resp.Set, Elems: []resp.Value{{Kind: resp.Boolean, Bool: true}, resp.NullValue()}},
	}}
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	if err := w.WriteRESP2(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "*6\r\n$1\r\nk\r\n$3\r\n1.5\r\n+n\r\n$-1\r\n$3\r\nset\r\n*2\r\n:1\r\n$-1\r\n"
	if buf.String() != want {
		t.Fatalf("WriteRESP2 = %q, want %q", buf.String(), want)
	}
	if err := w.WriteRESP2(resp.SimpleValue("a\nb")); !errors.Is(err, resp.ErrInvalidValue) {
		t.Fatalf("WriteRESP2 of a simple string with a newline: %v, want ErrInvalidValue", err)
	}
}

// TestRESP2NullsRoundTrip: a RESP2 reply read and written again keeps its
// nulls' kinds, the null bulk string ($-1) and the null array (*-1), which
// RESP2 clients tell apart (the Upstash surface relays such replies).
func TestRESP2NullsRoundTrip(t *testing.T) {
	for _, wire := range []string{"$-1\r\n", "*-1\r\n", "*3\r\n*-1\r\n$-1\r\n*1\r\n*-1\r\n"} {
		v, err := resp.NewReader(strings.NewReader(wire), resp.Limits{}).Read()
		if err != nil {
			t.Fatalf("read %q: %v", wire, err)
		}
		var buf bytes.Buffer
		w := resp.NewWriter(&buf)
		if err := w.WriteRESP2(v); err != nil || w.Flush() != nil {
			t.Fatalf("write %q: %v", wire, err)
		}
		if buf.String() != wire {
			t.Errorf("RESP2 round trip: got %q, want %q", buf.String(), wire)
		}
	}
}

// TestCommandLen holds CommandLen to the bytes WriteCommand writes, for the
// encoder's own cases and for argument counts and lengths at every
// decimal boundary of their headers.
func TestCommandLen(t *testing.T) {
	check := func(name string, args []string) {
		t.Helper()
		var b bytes.Buffer
		w := resp.NewWriter(&b)
		if err := w.WriteCommand(args...); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := resp.CommandLen(args...); got != int64(b.Len()) {
			t.Errorf("%s: CommandLen = %d, WriteCommand wrote %d bytes", name, got, b.Len())
		}
	}
	for _, c := range commandCases {
		check(c.name, c.args)
	}
	for _, n := range []int{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 10000, 100000} {
		check(fmt.Sprintf("%d args", n), make([]string, n))
		check(fmt.Sprintf("arg of %d bytes", n), []string{"SET", "k", strings.Repeat("x", n)})
	}
}
