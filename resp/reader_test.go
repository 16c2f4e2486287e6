package resp_test

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/redis-gateway/redis-gateway/resp"
)

// allBytes holds every byte value, CR, LF and NUL included.
var allBytes = func() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}()

type decodeCase struct {
	name string
	wire string
	want resp.Value
}

// decodeCases are valid frames of every RESP2 and RESP3 type. They are also
// the round-trip, truncation and fuzz seed corpus.
var decodeCases = []decodeCase{
	// Simple strings and errors.
	{"SimpleString", "+OK\r\n", simple("OK")},
	{"SimpleStringEmpty", "+\r\n", simple("")},
	{"SimpleStringWithCR", "+a\rb\r\n", simple("a\rb")},
	{"SimpleStringTrailingCR", "+a\r\r\n", simple("a\r")},
	{"ErrorReply", "-ERR unknown command 'FOO'\r\n", resp.Value{Kind: resp.ErrorReply, Str: []byte("ERR unknown command 'FOO'")}},
	{"ErrorReplyMoved", "-MOVED 3999 127.0.0.1:6381\r\n", resp.Value{Kind: resp.ErrorReply, Str: []byte("MOVED 3999 127.0.0.1:6381")}},

	// Integers.
	{"Integer", ":42\r\n", integer(42)},
	{"IntegerZero", ":0\r\n", integer(0)},
	{"IntegerNegative", ":-7\r\n", integer(-7)},
	{"IntegerPlusSign", ":+7\r\n", integer(7)},
	{"IntegerMinusZero", ":-0\r\n", integer(0)},
	{"IntegerMaxInt64", ":9223372036854775807\r\n", integer(math.MaxInt64)},
	{"IntegerMinInt64", ":-9223372036854775808\r\n", integer(math.MinInt64)},

	// Bulk strings.
	{"Bulk", "$3\r\nfoo\r\n", bulk("foo")},
	{"BulkEmpty", "$0\r\n\r\n", bulk("")},
	{"BulkBinaryCRLFNUL", bulkFrame('$', "a\r\nb\x00c\r\n"), bulk("a\r\nb\x00c\r\n")},
	{"BulkOnlyCRLF", "$2\r\n\r\n\r\n", bulk("\r\n")},
	{"BulkAllBytes", bulkFrame('$', allBytes), bulk(allBytes)},
	{"BulkLargerThanBuffer", bulkFrame('$', strings.Repeat("x", 100<<10)), bulk(strings.Repeat("x", 100<<10))},
	{"NullBulkRESP2", "$-1\r\n", null()},
	{"NullArrayRESP2", "*-1\r\n", nullArray()},
	{"NullRESP3", "_\r\n", null()},

	// Booleans and doubles.
	{"BooleanTrue", "#t\r\n", boolean(true)},
	{"BooleanFalse", "#f\r\n", boolean(false)},
	{"Double", ",1.5\r\n", double(1.5)},
	{"DoubleInteger", ",10\r\n", double(10)},
	{"DoubleNegativeZero", ",-0\r\n", double(math.Copysign(0, -1))},
	{"DoubleExponent", ",1e300\r\n", double(1e300)},
	{"DoubleExponentSigned", ",-1.25E-10\r\n", double(-1.25e-10)},
	{"DoubleInf", ",inf\r\n", double(math.Inf(1))},
	{"DoublePlusInf", ",+inf\r\n", double(math.Inf(1))},
	{"DoubleMinusInf", ",-inf\r\n", double(math.Inf(-1))},
	{"DoubleNaN", ",nan\r\n", double(math.NaN())},
	{"DoubleMinusNaN", ",-nan\r\n", double(math.NaN())},

	// Big numbers, bulk errors, verbatim strings.
	{"BigNumber", "(3492890328409238509324850943850943825024385\r\n", resp.Value{Kind: resp.BigNumber, Str: []byte("3492890328409238509324850943850943825024385")}},
	{"BigNumberNegative", "(-3492890328409238509324850943850943825024385\r\n", resp.Value{Kind: resp.BigNumber, Str: []byte("-3492890328409238509324850943850943825024385")}},
	{"BulkError", "!21\r\nSYNTAX invalid syntax\r\n", resp.Value{Kind: resp.BulkError, Str: []byte("SYNTAX invalid syntax")}},
	{"BulkErrorBinary", bulkFrame('!', "ERR a\r\nb"), resp.Value{Kind: resp.BulkError, Str: []byte("ERR a\r\nb")}},
	{"Verbatim", "=15\r\ntxt:Some string\r\n", resp.Value{Kind: resp.Verbatim, Str: []byte("Some string"), Format: [3]byte{'t', 'x', 't'}}},
	{"VerbatimEmptyMarkdown", "=4\r\nmkd:\r\n", resp.Value{Kind: resp.Verbatim, Str: []byte{}, Format: [3]byte{'m', 'k', 'd'}}},
	{"VerbatimBinary", bulkFrame('=', "txt:a\r\n\x00"), resp.Value{Kind: resp.Verbatim, Str: []byte("a\r\n\x00"), Format: [3]byte{'t', 'x', 't'}}},

	// Aggregates.
	{"Array", "*2\r\n$3\r\nfoo\r\n:1\r\n", aggregate(resp.Array, bulk("foo"), integer(1))},
	{"ArrayEmpty", "*0\r\n", aggregate(resp.Array)},
	{"ArrayRESP2Nulls", "*3\r\n$-1\r\n*-1\r\n*0\r\n", aggregate(resp.Array, null(), nullArray(), aggregate(resp.Array))},
	{"MapOrderKept", "%3\r\n+z\r\n:1\r\n+a\r\n:2\r\n+m\r\n:3\r\n",
		aggregate(resp.Map, simple("z"), integer(1), simple("a"), integer(2), simple("m"), integer(3))},
	{"MapEmpty", "%0\r\n", aggregate(resp.Map)},
	{"MapAggregateKey", "%1\r\n*1\r\n:1\r\n#t\r\n", aggregate(resp.Map, aggregate(resp.Array, integer(1)), boolean(true))},
	{"Set", "~3\r\n+a\r\n:1\r\n#f\r\n", aggregate(resp.Set, simple("a"), integer(1), boolean(false))},
	{"Push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", aggregate(resp.Push, bulk("message"), bulk("ch"), bulk("hello"))},
	{"Attribute",
		"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
		withAttrs(aggregate(resp.Array, integer(2039123), integer(9543892)),
			simple("key-popularity"), aggregate(resp.Map, bulk("a"), double(0.1923), bulk("b"), double(0.0012)))},
	{"AttributeOnElement", "*2\r\n|1\r\n+ttl\r\n:3600\r\n+a\r\n+b\r\n",
		aggregate(resp.Array, withAttrs(simple("a"), simple("ttl"), integer(3600)), simple("b"))},
	{"AttributeOnNull", "|1\r\n+a\r\n:1\r\n_\r\n", withAttrs(null(), simple("a"), integer(1))},
	{"AttributeEmpty", "|0\r\n:1\r\n", withAttrs(integer(1))},
	// Regression: a second attribute used to replace the first one.
	{"AttributesConsecutiveMerge", "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n+x\r\n",
		withAttrs(simple("x"), simple("a"), integer(1), simple("b"), integer(2))},
	{"AttributeInsideAttribute", "|1\r\n|1\r\n+meta\r\n#t\r\n+k\r\n:1\r\n+v\r\n",
		withAttrs(simple("v"), withAttrs(simple("k"), simple("meta"), boolean(true)), integer(1))},
	{"Nested",
		"*3\r\n%1\r\n+k\r\n~2\r\n:1\r\n*1\r\n>1\r\n_\r\n#t\r\n*0\r\n",
		aggregate(resp.Array,
			aggregate(resp.Map, simple("k"), aggregate(resp.Set, integer(1), aggregate(resp.Array, aggregate(resp.Push, null())))),
			boolean(true),
			aggregate(resp.Array))},
}

func TestReadDecodes(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readOne(t, tc.wire, resp.Limits{})
			if err != nil {
				t.Fatalf("Read(%q): %v", tc.wire, err)
			}
			if !equalValue(got, tc.want) {
				t.Fatalf("Read(%q): got %s, want %s", tc.wire, dump(got), dump(tc.want))
			}
		})
	}
}

// TestReadOneByteAtATime reads every case through a reader that returns one
// byte per call, so that every line and bulk crosses buffer refills.
func TestReadOneByteAtATime(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tc.wire)), 16)
			got, err := resp.NewReader(br, resp.Limits{}).Read()
			if err != nil {
				t.Fatalf("Read(%q): %v", tc.wire, err)
			}
			if !equalValue(got, tc.want) {
				t.Fatalf("Read(%q): got %s, want %s", tc.wire, dump(got), dump(tc.want))
			}
		})
	}
}

// TestReadStream reads all cases back to back from one stream.
func TestReadStream(t *testing.T) {
	t.Parallel()
	var all strings.Builder
	for _, tc := range decodeCases {
		all.WriteString(tc.wire)
	}
	r := resp.NewReader(strings.NewReader(all.String()), resp.Limits{})
	for _, tc := range decodeCases {
		got, err := r.Read()
		if err != nil {
			t.Fatalf("Read %s from stream: %v", tc.name, err)
		}
		if !equalValue(got, tc.want) {
			t.Fatalf("Read %s from stream: got %s, want %s", tc.name, dump(got), dump(tc.want))
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("Read at end of stream: got %v, want io.EOF", err)
	}
	if n := r.Buffered(); n != 0 {
		t.Fatalf("Buffered at end of stream: got %d, want 0", n)
	}
}

// TestReadValueOwnsMemory checks that a value stays intact after later
// reads reuse the reader's buffers.
func TestReadValueOwnsMemory(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("L", 40<<10) // overflows the bufio buffer
	wire := "+first\r\n*2\r\n+inner\r\n$3\r\nbar\r\n+" + long + "\r\n+" + strings.Repeat("y", 40<<10) + "\r\n+zzzzzzzzzzzz\r\n"
	r := resp.NewReader(strings.NewReader(wire), resp.Limits{})
	var got []resp.Value
	for {
		v, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		got = append(got, v)
	}
	want := []resp.Value{simple("first"), aggregate(resp.Array, simple("inner"), bulk("bar")), simple(long), simple(strings.Repeat("y", 40<<10)), simple("zzzzzzzzzzzz")}
	if len(got) != len(want) {
		t.Fatalf("Read until EOF: got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if !equalValue(got[i], want[i]) {
			t.Fatalf("value %d after later reads: got %.80s, want %.80s", i, dump(got[i]), dump(want[i]))
		}
	}
}

func TestReadLongLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		payload int // bytes after the type byte
		lim     resp.Limits
		wantErr error
	}{
		{"OverBufioBuffer", 40 << 10, resp.Limits{}, nil},
		{"ExactlyBufioBuffer", 16 << 10, resp.Limits{}, nil},
		{"AtMaxBulk", 1 << 20, resp.Limits{MaxBulk: 1 << 20}, nil},
		{"OverMaxBulk", 1<<20 + 1, resp.Limits{MaxBulk: 1 << 20}, resp.ErrLimit},
		{"FarOverMaxBulk", 3 << 20, resp.Limits{MaxBulk: 1 << 20}, resp.ErrLimit},
		// Regression: lines that fit the bufio buffer were never checked.
		{"ShortLineOverSmallMaxBulk", 11, resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"ShortLineAtSmallMaxBulk", 10, resp.Limits{MaxBulk: 10}, nil},
		// Regression: a line could end up to one buffer past MaxBulk.
		{"LineJustOverMaxBulkAfterBufferFull", 20<<10 + 1, resp.Limits{MaxBulk: 20 << 10}, resp.ErrLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := strings.Repeat("a", tc.payload)
			for _, typ := range []byte{'+', '-'} {
				wire := string(typ) + payload + "\r\n"
				got, err := readOne(t, wire, tc.lim)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Read(%c + %d bytes) with %+v: got error %v, want %v", typ, tc.payload, tc.lim, err, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Read(%c + %d bytes) with %+v: %v", typ, tc.payload, tc.lim, err)
				}
				if len(got.Str) != tc.payload || strings.Count(string(got.Str), "a") != tc.payload {
					t.Fatalf("Read(%c + %d bytes): got %d bytes, want %d", typ, tc.payload, len(got.Str), tc.payload)
				}
			}
		})
	}
}

// TestReadLineNeverEnding checks that a line without '\n' is cut off at the
// limit rather than read to the end of the stream.
func TestReadLineNeverEnding(t *testing.T) {
	t.Parallel()
	lr := &loopReader{frame: []byte("+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")}
	_, err := resp.NewReader(lr, resp.Limits{MaxBulk: 1 << 20}).Read()
	if !errors.Is(err, resp.ErrLimit) {
		t.Fatalf("Read(endless line): got %v, want ErrLimit", err)
	}
}

func TestReadMalformed(t *testing.T) {
	t.Parallel()
	nest := func(n int, open, leaf string) string { return strings.Repeat(open, n) + leaf }
	cases := []struct {
		name    string
		wire    string
		lim     resp.Limits
		wantErr error
	}{
		// Line framing.
		{"EmptyLine", "\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BareLF", "\n", resp.Limits{}, resp.ErrProtocol},
		{"BareLFSimple", "+OK\n", resp.Limits{}, resp.ErrProtocol},
		{"BareLFInteger", ":1\n", resp.Limits{}, resp.ErrProtocol},
		{"BareLFHeader", "*1\n:1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BareLFInsideArray", "*2\r\n:1\r\n:2\n", resp.Limits{}, resp.ErrProtocol},
		{"MissingCRLFAfterBulk", "$3\r\nfooXY", resp.Limits{}, resp.ErrProtocol},
		{"BareLFAfterBulk", "$3\r\nfoo\n+OK\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BulkLongerThanHeader", "$2\r\nfoo\r\n", resp.Limits{}, resp.ErrProtocol},
		{"MissingCRLFAfterVerbatim", "=7\r\ntxt:abcXX", resp.Limits{}, resp.ErrProtocol},

		// Type bytes.
		{"UnknownTypeByte", "?x\r\n", resp.Limits{}, resp.ErrProtocol},
		{"InlineCommand", "PING\r\n", resp.Limits{}, resp.ErrProtocol},
		{"NULTypeByte", "\x00\r\n", resp.Limits{}, resp.ErrProtocol},
		{"UnknownTypeInArray", "*1\r\n@1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BadNull", "_x\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BadBoolean", "#x\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BadBooleanEmpty", "#\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BadBooleanLong", "#tt\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BadBooleanUpper", "#T\r\n", resp.Limits{}, resp.ErrProtocol},

		// Integers.
		{"IntegerEmpty", ":\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerSignOnly", ":-\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerPlusOnly", ":+\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerTrailingLetter", ":12a\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerInnerSpace", ":1 2\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerLeadingSpace", ": 1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerHex", ":0x10\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerFraction", ":1.0\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerDoubleSign", ":--1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerOverflow", ":9223372036854775808\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerUnderflow", ":-9223372036854775809\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerOverflowUint64", ":18446744073709551616\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerOverflow20Digits", ":99999999999999999999\r\n", resp.Limits{}, resp.ErrProtocol},
		{"IntegerTooLong", ":000000000000000000001\r\n", resp.Limits{}, resp.ErrProtocol},

		// Lengths.
		{"BulkLengthEmpty", "$\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BulkLengthLetters", "$abc\r\n", resp.Limits{}, resp.ErrProtocol},
		{"ArrayLengthTrailingLetter", "*1x\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BulkLengthMinus2", "$-2\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BulkLengthMinInt64", "$-9223372036854775808\r\n", resp.Limits{}, resp.ErrProtocol},
		{"ArrayLengthMinus2", "*-2\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BulkErrorNull", "!-1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"VerbatimNull", "=-1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"SetNull", "~-1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"MapNull", "%-1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"PushNull", ">-1\r\n", resp.Limits{}, resp.ErrProtocol},
		{"AttributeNull", "|-1\r\n", resp.Limits{}, resp.ErrProtocol},

		// Doubles, big numbers, verbatim strings.
		{"DoubleEmpty", ",\r\n", resp.Limits{}, resp.ErrProtocol},
		{"DoubleLetters", ",abc\r\n", resp.Limits{}, resp.ErrProtocol},
		{"DoubleTwoDots", ",1.5.5\r\n", resp.Limits{}, resp.ErrProtocol},
		{"DoubleSpace", ", 1.5\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BigNumberEmpty", "(\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BigNumberSignOnly", "(-\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BigNumberLetter", "(12a\r\n", resp.Limits{}, resp.ErrProtocol},
		{"BigNumberFraction", "(1.5\r\n", resp.Limits{}, resp.ErrProtocol},
		{"VerbatimNoColon", "=3\r\ntxt\r\n", resp.Limits{}, resp.ErrProtocol},
		{"VerbatimColonMisplaced", "=5\r\ntxt-x\r\n", resp.Limits{}, resp.ErrProtocol},
		{"VerbatimEmpty", "=0\r\n\r\n", resp.Limits{}, resp.ErrProtocol},

		// Limits.
		{"BulkOverMaxBulk", "$11\r\nhello world\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"BulkErrorOverMaxBulk", "!11\r\nERR a b c d\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"VerbatimOverMaxBulk", "=11\r\ntxt:abcdefg\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"BulkOverDefaultMaxBulk", "$536870913\r\n", resp.Limits{}, resp.ErrLimit},
		{"BulkMaxInt64Length", "$9223372036854775807\r\n", resp.Limits{}, resp.ErrLimit},
		{"BulkInArrayOverMaxBulk", "*1\r\n$11\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"SimpleOverMaxBulk", "+hello world\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"BigNumberOverMaxBulk", "(123456789012\r\n", resp.Limits{MaxBulk: 10}, resp.ErrLimit},
		{"ArrayOverMaxElems", "*5\r\n", resp.Limits{MaxElems: 4}, resp.ErrLimit},
		{"SetOverMaxElems", "~5\r\n", resp.Limits{MaxElems: 4}, resp.ErrLimit},
		{"PushOverMaxElems", ">5\r\n", resp.Limits{MaxElems: 4}, resp.ErrLimit},
		{"MapOverMaxElems", "%5\r\n", resp.Limits{MaxElems: 4}, resp.ErrLimit},
		{"AttributeOverMaxElems", "|5\r\n", resp.Limits{MaxElems: 4}, resp.ErrLimit},
		{"ArrayOverDefaultMaxElems", "*16777217\r\n", resp.Limits{}, resp.ErrLimit},
		{"ArrayMaxInt64Length", "*9223372036854775807\r\n", resp.Limits{}, resp.ErrLimit},
		// Regression: consecutive attributes were each checked on their
		// own, so their merged list could exceed MaxElems.
		{"AttributesMergedOverMaxElems", "|1\r\n:1\r\n:1\r\n|1\r\n:2\r\n:2\r\n:0\r\n", resp.Limits{MaxElems: 1}, resp.ErrLimit},
		{"NestingOverMaxDepth", nest(4, "*1\r\n", ":1\r\n"), resp.Limits{MaxDepth: 3}, resp.ErrLimit},
		{"NestingMixedOverMaxDepth", "%1\r\n+k\r\n~1\r\n>1\r\n*1\r\n:1\r\n", resp.Limits{MaxDepth: 3}, resp.ErrLimit},
		{"NestingAttributeOverMaxDepth", "*1\r\n*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", resp.Limits{MaxDepth: 2}, resp.ErrLimit},
		{"NestingOverDefaultMaxDepth", nest(65, "*1\r\n", ":1\r\n"), resp.Limits{}, resp.ErrLimit},
		// Regression: a chain of attributes recursed without counting
		// depth, so a long enough chain could exhaust the stack.
		{"AttributeChainOverMaxElems", nest(1000, "|1\r\n:1\r\n:1\r\n", ":1\r\n"), resp.Limits{MaxElems: 100}, resp.ErrLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := resp.NewReader(strings.NewReader(tc.wire), tc.lim).Read()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read(%.100q) with %+v: got value %.100s, error %v; want error %v", tc.wire, tc.lim, dump(got), err, tc.wantErr)
			}
			other := resp.ErrLimit
			if tc.wantErr == resp.ErrLimit {
				other = resp.ErrProtocol
			}
			if errors.Is(err, other) {
				t.Fatalf("Read(%.100q): error %v also matches %v", tc.wire, err, other)
			}
			if !equalValue(got, resp.Value{}) {
				t.Fatalf("Read(%.100q): got value %.100s alongside error, want zero Value", tc.wire, dump(got))
			}
		})
	}
}

// TestReadWithinLimits checks the limit boundaries from the accepting side.
func TestReadWithinLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		wire string
		lim  resp.Limits
	}{
		{"BulkAtMaxBulk", "$10\r\nhelloworld\r\n", resp.Limits{MaxBulk: 10}},
		{"ArrayAtMaxElems", "*2\r\n:1\r\n:2\r\n", resp.Limits{MaxElems: 2}},
		{"MapAtMaxElems", "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", resp.Limits{MaxElems: 2}},
		{"NestingAtMaxDepth", "*1\r\n*1\r\n*1\r\n:1\r\n", resp.Limits{MaxDepth: 3}},
		{"AttributeAtMaxDepth", "*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", resp.Limits{MaxDepth: 2}},
		{"NestingAtDefaultMaxDepth", strings.Repeat("*1\r\n", 64) + ":1\r\n", resp.Limits{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := readOne(t, tc.wire, tc.lim); err != nil {
				t.Fatalf("Read(%q) with %+v: %v", tc.wire, tc.lim, err)
			}
		})
	}
}

// sampleFrame holds one frame of every type, nested in one array.
const sampleFrame = "*17\r\n" +
	"+OK\r\n" +
	"-ERR x\r\n" +
	":42\r\n" +
	"$5\r\nhello\r\n" +
	"$-1\r\n" +
	"*-1\r\n" +
	"_\r\n" +
	"#t\r\n" +
	",1.5\r\n" +
	"(123\r\n" +
	"!3\r\nbad\r\n" +
	"=7\r\ntxt:abc\r\n" +
	"%1\r\n+k\r\n:1\r\n" +
	"~1\r\n:2\r\n" +
	">1\r\n:3\r\n" +
	"|1\r\n+a\r\n:1\r\n:5\r\n" +
	"*0\r\n"

// TestReadTruncated cuts the sample frame, and every decode case, at every
// byte offset: the reader must report io.EOF for nothing and
// io.ErrUnexpectedEOF for a partial frame, never a value or a panic.
func TestReadTruncated(t *testing.T) {
	t.Parallel()
	frames := []decodeCase{{name: "SampleFrame", wire: sampleFrame}}
	frames = append(frames, decodeCases...)
	for _, tc := range frames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := readOne(t, tc.wire, resp.Limits{}); err != nil {
				t.Fatalf("Read(%q) whole: %v", tc.wire, err)
			}
			for i := range len(tc.wire) {
				want := io.ErrUnexpectedEOF
				if i == 0 {
					want = io.EOF
				}
				got, err := resp.NewReader(strings.NewReader(tc.wire[:i]), resp.Limits{}).Read()
				if err != want {
					t.Fatalf("Read(%q) cut at %d: got value %s, error %v; want %v", tc.wire[:i], i, dump(got), err, want)
				}
			}
		})
	}
}

// TestReadPassesIOErrors checks that an error from the underlying reader is
// returned as it is, at the start of a value and in the middle of one.
func TestReadPassesIOErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, prefix := range []string{"", "*2\r\n:1\r\n", "$10\r\nhel", "+partial"} {
		r := resp.NewReader(io.MultiReader(strings.NewReader(prefix), iotest.ErrReader(boom)), resp.Limits{})
		if _, err := r.Read(); !errors.Is(err, boom) {
			t.Fatalf("Read(%q then error): got %v, want %v", prefix, err, boom)
		}
	}
}

// TestReadAbsurdLengthsDoNotAllocate checks that a length claimed by a
// header reserves little memory until the data arrives. It does not run in
// parallel so that other tests do not add to the allocation count.
func TestReadAbsurdLengthsDoNotAllocate(t *testing.T) {
	const budget = 1 << 20
	cases := []struct {
		name string
		wire string
	}{
		{"Bulk500MB", "$524288000\r\n0123456789"},
		{"BulkError500MB", "!524288000\r\n0123456789"},
		{"Verbatim500MB", "=524288000\r\ntxt:012345"},
		{"Array2e24", "*16777216\r\n"},
		{"Set2e24", "~16777216\r\n"},
		{"Push2e24", ">16777216\r\n"},
		{"Map2e24", "%16777216\r\n"},
		{"Attribute2e24", "|16777216\r\n"},
		{"Array2e24WithSomeElements", "*16777216\r\n:1\r\n:2\r\n:3\r\n"},
		// Regression: every level reserved 1024 elements (104 KiB) up
		// front, so 64 nested headers of a few bytes each cost 6.6 MiB.
		{"NestedArray2e24Headers", strings.Repeat("*16777216\r\n", 64)},
		{"NestedMap2e24Headers", strings.Repeat("%16777216\r\n", 64)},
		{"BulksClaiming500MBInArray", "*3\r\n$524288000\r\nabc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() {
				_, err = resp.NewReader(strings.NewReader(tc.wire), resp.Limits{}).Read()
			})
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("Read(%.100q): got %v, want io.ErrUnexpectedEOF", tc.wire, err)
			}
			if n > budget {
				t.Fatalf("Read(%.100q): allocated %d bytes, want at most %d", tc.wire, n, budget)
			}
		})
	}
}

// TestReadBigBulkArrives checks that a bulk string larger than the first
// chunk is read whole when its data does arrive.
func TestReadBigBulkArrives(t *testing.T) {
	t.Parallel()
	for _, n := range []int{64<<10 - 1, 64 << 10, 64<<10 + 1, 1 << 20, 3<<20 + 17} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		got, err := readOne(t, bulkFrame('$', string(data)), resp.Limits{})
		if err != nil {
			t.Fatalf("Read(bulk of %d bytes): %v", n, err)
		}
		if string(got.Str) != string(data) {
			t.Fatalf("Read(bulk of %d bytes): got %d bytes, different content", n, len(got.Str))
		}
	}
}

func TestReaderReset(t *testing.T) {
	t.Parallel()
	r := resp.NewReader(strings.NewReader("+toolong\r\n+unread\r\n"), resp.Limits{MaxBulk: 5})
	if _, err := r.Read(); !errors.Is(err, resp.ErrLimit) {
		t.Fatalf("Read(+toolong) with MaxBulk 5: got %v, want ErrLimit", err)
	}
	r.Reset(strings.NewReader("+abc\r\n+toolong\r\n"))
	if n := r.Buffered(); n != 0 {
		t.Fatalf("Buffered after Reset: got %d, want 0", n)
	}
	v, err := r.Read()
	if err != nil || string(v.Str) != "abc" {
		t.Fatalf("Read after Reset: got %s, %v; want simple-string abc", dump(v), err)
	}
	if n := r.Buffered(); n != len("+toolong\r\n") {
		t.Fatalf("Buffered after one read: got %d, want %d", n, len("+toolong\r\n"))
	}
	// The limits survive Reset.
	if _, err := r.Read(); !errors.Is(err, resp.ErrLimit) {
		t.Fatalf("Read(+toolong) after Reset: got %v, want ErrLimit", err)
	}
}
