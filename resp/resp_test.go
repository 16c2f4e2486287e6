package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func read(t testing.TB, wire string, lim Limits) (Value, error) {
	t.Helper()
	return NewReader(strings.NewReader(wire), lim).Read()
}

// equal compares values, treating NaN as equal to NaN.
func equal(a, b Value) bool {
	if a.Kind == Double && b.Kind == Double && math.IsNaN(a.Float) && math.IsNaN(b.Float) {
		return true
	}
	if a.Kind != b.Kind || !bytes.Equal(a.Str, b.Str) || a.Int != b.Int || a.Bool != b.Bool || a.Format != b.Format ||
		len(a.Elems) != len(b.Elems) || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	if a.Kind == Double && a.Float != b.Float {
		return false
	}
	for i := range a.Elems {
		if !equal(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	for i := range a.Attrs {
		if !equal(a.Attrs[i], b.Attrs[i]) {
			return false
		}
	}
	return true
}

var typeCases = []struct {
	name string
	wire string
	want Value
}{
	{"simple", "+OK\r\n", Value{Kind: SimpleString, Str: []byte("OK")}},
	{"error", "-WRONGTYPE bad\r\n", Value{Kind: ErrorReply, Str: []byte("WRONGTYPE bad")}},
	{"integer", ":-42\r\n", Value{Kind: Integer, Int: -42}},
	{"int max", ":9223372036854775807\r\n", Value{Kind: Integer, Int: math.MaxInt64}},
	{"int min", ":-9223372036854775808\r\n", Value{Kind: Integer, Int: math.MinInt64}},
	{"bulk", "$5\r\nhello\r\n", Value{Kind: BulkString, Str: []byte("hello")}},
	{"bulk empty", "$0\r\n\r\n", Value{Kind: BulkString, Str: []byte{}}},
	{"bulk binary", "$6\r\na\r\n\x00\xff\n\r\n", Value{Kind: BulkString, Str: []byte("a\r\n\x00\xff\n")}},
	{"null bulk", "$-1\r\n", Value{Kind: Null}},
	{"null array", "*-1\r\n", Value{Kind: Null, Bool: true}},
	{"null", "_\r\n", Value{Kind: Null}},
	{"true", "#t\r\n", Value{Kind: Boolean, Bool: true}},
	{"false", "#f\r\n", Value{Kind: Boolean}},
	{"double", ",1.5\r\n", Value{Kind: Double, Float: 1.5}},
	{"double exp", ",1e300\r\n", Value{Kind: Double, Float: 1e300}},
	{"inf", ",inf\r\n", Value{Kind: Double, Float: math.Inf(1)}},
	{"-inf", ",-inf\r\n", Value{Kind: Double, Float: math.Inf(-1)}},
	{"nan", ",nan\r\n", Value{Kind: Double, Float: math.NaN()}},
	{"big number", "(3492890328409238509324850943850943825024385\r\n", Value{Kind: BigNumber, Str: []byte("3492890328409238509324850943850943825024385")}},
	{"bulk error", "!21\r\nSYNTAX invalid syntax\r\n", Value{Kind: BulkError, Str: []byte("SYNTAX invalid syntax")}},
	{"verbatim", "=15\r\ntxt:Some string\r\n", Value{Kind: Verbatim, Str: []byte("Some string"), Format: [3]byte{'t', 'x', 't'}}},
	{"array", "*2\r\n:1\r\n$1\r\na\r\n", Value{Kind: Array, Elems: []Value{{Kind: Integer, Int: 1}, {Kind: BulkString, Str: []byte("a")}}}},
	{"empty array", "*0\r\n", Value{Kind: Array, Elems: []Value{}}},
	{"map keeps order", "%2\r\n+z\r\n:1\r\n+a\r\n:2\r\n", Value{Kind: Map, Elems: []Value{
		{Kind: SimpleString, Str: []byte("z")}, {Kind: Integer, Int: 1}, {Kind: SimpleString, Str: []byte("a")}, {Kind: Integer, Int: 2}}}},
	{"set", "~1\r\n+x\r\n", Value{Kind: Set, Elems: []Value{{Kind: SimpleString, Str: []byte("x")}}}},
	{"push", ">2\r\n+message\r\n+hi\r\n", Value{Kind: Push, Elems: []Value{{Kind: SimpleString, Str: []byte("message")}, {Kind: SimpleString, Str: []byte("hi")}}}},
	{"attribute", "|1\r\n+ttl\r\n:3\r\n:7\r\n", Value{Kind: Integer, Int: 7, Attrs: []Value{{Kind: SimpleString, Str: []byte("ttl")}, {Kind: Integer, Int: 3}}}},
	{"nested", "*2\r\n*1\r\n%1\r\n+k\r\n,2.5\r\n_\r\n", Value{Kind: Array, Elems: []Value{
		{Kind: Array, Elems: []Value{{Kind: Map, Elems: []Value{{Kind: SimpleString, Str: []byte("k")}, {Kind: Double, Float: 2.5}}}}},
		{Kind: Null}}}},
}

func TestReadEveryType(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.wire, Limits{})
			if err != nil {
				t.Fatalf("%q: %v", tc.wire, err)
			}
			if !equal(got, tc.want) {
				t.Fatalf("%q: got %v, want %v", tc.wire, got, tc.want)
			}
		})
	}
}

func TestRoundTripEveryType(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.WriteValue(tc.want); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			got, err := NewReader(&buf, Limits{}).Read()
			if err != nil {
				t.Fatalf("read back %q: %v", buf.String(), err)
			}
			want := tc.want
			want.Bool = want.Bool && want.Kind != Null // RESP3 has one null
			if !equal(got, want) {
				t.Fatalf("round trip: got %v, want %v", got, want)
			}
		})
	}
}

func TestWriteCommand(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteCommand("SET", "k\x00", "a\r\nb", ""); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "*4\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		_ = w.WriteCommand("SET", "key", "value")
	})
	if allocs > 0 {
		t.Fatalf("WriteCommand allocates %v times, want 0", allocs)
	}
}

func TestMalformedInput(t *testing.T) {
	cases := []struct {
		name, wire string
		want       error
	}{
		{"no CRLF", "+OK\n", ErrProtocol},
		{"unknown type", "?x\r\n", ErrProtocol},
		{"empty integer", ":\r\n", ErrProtocol},
		{"bad integer", ":12a\r\n", ErrProtocol},
		{"overflow", ":99999999999999999999\r\n", ErrProtocol},
		{"negative length", "$-2\r\n", ErrProtocol},
		{"negative aggregate", "*-5\r\n", ErrProtocol},
		{"bulk without CRLF", "$3\r\nabcXY", ErrProtocol},
		{"bad boolean", "#x\r\n", ErrProtocol},
		{"bad double", ",abc\r\n", ErrProtocol},
		{"bad verbatim", "=3\r\nabc\r\n", ErrProtocol},
		{"bulk over limit", "$2000\r\n", ErrLimit},
		{"aggregate over limit", "*2000\r\n", ErrLimit},
		{"line over limit", "+" + strings.Repeat("x", 3000) + "\r\n", ErrLimit},
		{"too deep", strings.Repeat("*1\r\n", 10) + ":1\r\n", ErrLimit},
	}
	lim := Limits{MaxBulk: 1024, MaxElems: 1000, MaxDepth: 5}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.wire, lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%.40q: got %v, want %v", tc.wire, err, tc.want)
			}
		})
	}
}

func TestTruncatedAtEveryByte(t *testing.T) {
	frame := "*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n,1.5\r\n~2\r\n:1\r\n#t\r\n"
	for i := 0; i < len(frame); i++ {
		_, err := read(t, frame[:i], Limits{})
		switch {
		case i == 0 && err != io.EOF:
			t.Fatalf("empty input: got %v, want io.EOF", err)
		case i > 0 && err != io.ErrUnexpectedEOF:
			t.Fatalf("cut at %d: got %v, want io.ErrUnexpectedEOF", i, err)
		}
	}
	if _, err := read(t, frame, Limits{}); err != nil {
		t.Fatalf("whole frame: %v", err)
	}
}

// TestAbsurdLengthsDoNotAllocate: a header claiming 500 MB (or 16M
// elements) with no data behind it must not make the reader reserve that
// memory.
func TestAbsurdLengthsDoNotAllocate(t *testing.T) {
	for _, wire := range []string{"$500000000\r\nabc", "*16000000\r\n:1\r\n", "%8000000\r\n"} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := NewReader(bufio.NewReader(strings.NewReader(wire)), Limits{}).Read()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%q: read succeeded", wire[:10])
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Fatalf("%q: allocated %d bytes for a frame with no data", wire[:10], grew)
		}
	}
}

func TestLongLineAcrossBuffer(t *testing.T) {
	long := strings.Repeat("y", 100<<10)
	got, err := read(t, "+"+long+"\r\n", Limits{})
	if err != nil || string(got.Str) != long {
		t.Fatalf("long simple string: %v (len %d)", err, len(got.Str))
	}
}

func TestParseError(t *testing.T) {
	cases := []struct{ text, code string }{
		{"WRONGTYPE Operation against a key", "WRONGTYPE"},
		{"MOVED 3999 127.0.0.1:6381", "MOVED"},
		{"ASK 3999 127.0.0.1:6381", "ASK"},
		{"NOSCRIPT No matching script", "NOSCRIPT"},
		{"unknown lower-case text", "ERR"},
		{"", "ERR"},
		// Redis 7 reports a script's ACL refusal as ERR
		{"ERR The user executing the script can't run this command or subcommand script: 06…, on @user_script:1.", "NOPERM"},
		{"ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: b0…", "NOPERM"},
		{"ERR Error running script (call to f_…): @user_script:1: ACL failure in script", "NOPERM"},
		{"ERR wrong number of arguments for 'get' command", "ERR"},
	}
	for _, tc := range cases {
		e := ParseError(tc.text)
		if e.Code != tc.code || e.Error() != tc.text {
			t.Errorf("%q: got %q/%q, want code %q", tc.text, e.Code, e.Error(), tc.code)
		}
	}
	v := Value{Kind: ErrorReply, Str: []byte("OOM no memory")}
	var re *Error
	if !errors.As(v.Err(), &re) || re.Code != "OOM" {
		t.Fatalf("Value.Err: %v", v.Err())
	}
	if (Value{Kind: Integer}).Err() != nil {
		t.Fatal("Err on a non-error")
	}
}

func TestToRESP2(t *testing.T) {
	in := Value{Kind: Map, Elems: []Value{
		{Kind: SimpleString, Str: []byte("a")}, {Kind: Boolean, Bool: true},
		{Kind: SimpleString, Str: []byte("b")}, {Kind: Double, Float: 1.5},
	}}
	want := Value{Kind: Array, Elems: []Value{
		{Kind: SimpleString, Str: []byte("a")}, {Kind: Integer, Int: 1},
		{Kind: SimpleString, Str: []byte("b")}, {Kind: BulkString, Str: []byte("1.5")},
	}}
	if got := ToRESP2(in); !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if k := Kind(200).String(); !strings.Contains(k, "200") {
		t.Fatalf("unknown kind name %q", k)
	}
	if !reflect.DeepEqual(Push.String(), "push") {
		t.Fatal("kind names")
	}
}
