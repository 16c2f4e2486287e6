package resp_test

import (
	"errors"
	"math"
	"testing"

	"github.com/redis-gateway/redis-gateway/resp"
)

func TestKindString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		k    resp.Kind
		want string
	}{
		{resp.Invalid, "invalid"},
		{resp.SimpleString, "simple-string"},
		{resp.ErrorReply, "error"},
		{resp.Integer, "integer"},
		{resp.BulkString, "bulk-string"},
		{resp.Array, "array"},
		{resp.Null, "null"},
		{resp.Boolean, "boolean"},
		{resp.Double, "double"},
		{resp.BigNumber, "big-number"},
		{resp.BulkError, "bulk-error"},
		{resp.Verbatim, "verbatim-string"},
		{resp.Map, "map"},
		{resp.Set, "set"},
		{resp.Attribute, "attribute"},
		{resp.Push, "push"},
		{resp.Push + 1, "kind(16)"},
		{resp.Kind(255), "kind(255)"},
	}
	for _, tc := range cases {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("Kind(%d).String(): got %q, want %q", uint8(tc.k), got, tc.want)
		}
	}
}

func TestParseError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		text     string
		wantCode string
	}{
		{"Err", "ERR unknown command 'FOO'", "ERR"},
		{"ErrAlone", "ERR", "ERR"},
		{"WrongType", "WRONGTYPE Operation against a key holding the wrong kind of value", "WRONGTYPE"},
		{"Moved", "MOVED 3999 127.0.0.1:6381", "MOVED"},
		{"Ask", "ASK 3999 127.0.0.1:6381", "ASK"},
		{"NoScript", "NOSCRIPT No matching script. Please use EVAL.", "NOSCRIPT"},
		{"NoAuth", "NOAUTH Authentication required.", "NOAUTH"},
		{"WrongPass", "WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS"},
		{"BusyGroup", "BUSYGROUP Consumer Group name already exists", "BUSYGROUP"},
		{"CodeWithUnderscoreAndDigit", "NOT_A_CODE2 x", "NOT_A_CODE2"},
		{"LowerCaseText", "unknown error from script", "ERR"},
		{"MixedCaseWord", "Err something", "ERR"},
		{"Empty", "", "ERR"},
		{"LeadingSpace", " WRONGTYPE x", "ERR"},
		// Regression: a first word of digits or punctuation counted as a code.
		{"DigitsFirst", "123 not a code", "ERR"},
		{"DashFirst", "- dash", "ERR"},
		{"UnderscoreFirst", "_X y", "ERR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := resp.ParseError(tc.text)
			if e.Code != tc.wantCode || e.Msg != tc.text || e.Error() != tc.text {
				t.Fatalf("ParseError(%q): got Code %q, Msg %q, Error() %q; want Code %q and the text", tc.text, e.Code, e.Msg, e.Error(), tc.wantCode)
			}
		})
	}
}

func TestValueErr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		v        resp.Value
		wantCode string // "" means Err returns nil
	}{
		{"ErrorReply", resp.ErrorValue("WRONGTYPE Operation against a key"), "WRONGTYPE"},
		{"BulkError", resp.Value{Kind: resp.BulkError, Str: []byte("SYNTAX invalid syntax")}, "SYNTAX"},
		{"ErrorReplyLowerCase", resp.ErrorValue("oops"), "ERR"},
		{"ErrorReplyEmpty", resp.ErrorValue(""), "ERR"},
		{"SimpleString", simple("ERR not an error"), ""},
		{"BulkString", bulk("ERR not an error"), ""},
		{"Null", null(), ""},
		{"Zero", resp.Value{}, ""},
		{"ArrayOfErrors", aggregate(resp.Array, resp.ErrorValue("ERR x")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Err()
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("%s.Err(): got %v, want nil", dump(tc.v), err)
				}
				return
			}
			var re *resp.Error
			if !errors.As(err, &re) {
				t.Fatalf("%s.Err(): got %T %v, want *resp.Error", dump(tc.v), err, err)
			}
			if re.Code != tc.wantCode || re.Msg != string(tc.v.Str) {
				t.Fatalf("%s.Err(): got Code %q Msg %q, want Code %q Msg %q", dump(tc.v), re.Code, re.Msg, tc.wantCode, tc.v.Str)
			}
		})
	}
}

func TestValuePredicates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v                                  resp.Value
		null, isErr, aggregateKind, isText bool
	}{
		{simple("x"), false, false, false, true},
		{resp.ErrorValue("ERR x"), false, true, false, false},
		{integer(1), false, false, false, false},
		{bulk("x"), false, false, false, true},
		{aggregate(resp.Array), false, false, true, false},
		{null(), true, false, false, false},
		{boolean(true), false, false, false, false},
		{double(1), false, false, false, false},
		{resp.Value{Kind: resp.BigNumber, Str: []byte("1")}, false, false, false, false},
		{resp.Value{Kind: resp.BulkError, Str: []byte("ERR x")}, false, true, false, false},
		{resp.Value{Kind: resp.Verbatim, Str: []byte("x")}, false, false, false, true},
		{aggregate(resp.Map), false, false, true, false},
		{aggregate(resp.Set), false, false, true, false},
		{aggregate(resp.Attribute), false, false, true, false},
		{aggregate(resp.Push), false, false, true, false},
		{resp.Value{}, false, false, false, false},
	}
	for _, tc := range cases {
		if got := tc.v.IsNull(); got != tc.null {
			t.Errorf("%s.IsNull(): got %t, want %t", dump(tc.v), got, tc.null)
		}
		if got := tc.v.IsError(); got != tc.isErr {
			t.Errorf("%s.IsError(): got %t, want %t", dump(tc.v), got, tc.isErr)
		}
		if got := tc.v.IsAggregate(); got != tc.aggregateKind {
			t.Errorf("%s.IsAggregate(): got %t, want %t", dump(tc.v), got, tc.aggregateKind)
		}
		if got := tc.v.IsText(); got != tc.isText {
			t.Errorf("%s.IsText(): got %t, want %t", dump(tc.v), got, tc.isText)
		}
	}
}

func TestValueString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    resp.Value
		want string
	}{
		{simple("OK"), `"OK"`},
		{bulk("a\r\n"), `"a\r\n"`},
		{resp.ErrorValue("ERR x"), "(error) ERR x"},
		{integer(-3), "-3"},
		{double(1.5), "1.5"},
		{double(math.Inf(-1)), "-Inf"},
		{boolean(true), "true"},
		{null(), "(nil)"},
		{resp.Value{Kind: resp.BigNumber, Str: []byte("12")}, `"12"`},
		{aggregate(resp.Map, simple("k"), aggregate(resp.Set, integer(1), integer(2))), `map["k", set[1, 2]]`},
		{resp.Value{}, "invalid"},
	}
	for _, tc := range cases {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%s.String(): got %q, want %q", dump(tc.v), got, tc.want)
		}
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	b := []byte("raw")
	cases := []struct {
		name      string
		got, want resp.Value
	}{
		{"StringValue", resp.StringValue("s"), bulk("s")},
		{"BytesValue", resp.BytesValue(b), bulk("raw")},
		{"SimpleValue", resp.SimpleValue("OK"), simple("OK")},
		{"IntValue", resp.IntValue(-5), integer(-5)},
		{"ArrayValue", resp.ArrayValue(integer(1), null()), aggregate(resp.Array, integer(1), null())},
		{"NullValue", resp.NullValue(), null()},
		{"ErrorValue", resp.ErrorValue("ERR x"), resp.Value{Kind: resp.ErrorReply, Str: []byte("ERR x")}},
	}
	for _, tc := range cases {
		if !equalValue(tc.got, tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, dump(tc.got), dump(tc.want))
		}
	}
	if v := resp.BytesValue(b); &v.Str[0] != &b[0] {
		t.Errorf("BytesValue(b): copied b, want it shared")
	}
}

func TestToRESP2(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   resp.Value
		want resp.Value
	}{
		{"SimpleString", simple("OK"), simple("OK")},
		{"ErrorReply", resp.ErrorValue("ERR x"), resp.ErrorValue("ERR x")},
		{"Integer", integer(7), integer(7)},
		{"Bulk", bulk("b"), bulk("b")},
		{"Null", null(), null()},
		{"True", boolean(true), integer(1)},
		{"False", boolean(false), integer(0)},
		{"Double", double(1.5), bulk("1.5")},
		{"DoubleInf", double(math.Inf(1)), bulk("inf")},
		{"DoubleMinusInf", double(math.Inf(-1)), bulk("-inf")},
		{"DoubleNaN", double(math.NaN()), bulk("nan")},
		{"DoubleNegativeZero", double(math.Copysign(0, -1)), bulk("-0")},
		{"BigNumber", resp.Value{Kind: resp.BigNumber, Str: []byte("-12345678901234567890")}, bulk("-12345678901234567890")},
		{"Verbatim", resp.Value{Kind: resp.Verbatim, Str: []byte("text"), Format: [3]byte{'t', 'x', 't'}}, bulk("text")},
		{"BulkError", resp.Value{Kind: resp.BulkError, Str: []byte("SYNTAX x")}, resp.ErrorValue("SYNTAX x")},
		{"Map", aggregate(resp.Map, simple("a"), boolean(true), simple("b"), double(2)),
			aggregate(resp.Array, simple("a"), integer(1), simple("b"), bulk("2"))},
		{"Set", aggregate(resp.Set, integer(1)), aggregate(resp.Array, integer(1))},
		{"Push", aggregate(resp.Push, bulk("message")), aggregate(resp.Array, bulk("message"))},
		{"AttributeKind", aggregate(resp.Attribute, simple("a"), integer(1)), aggregate(resp.Array, simple("a"), integer(1))},
		{"ArrayEmpty", aggregate(resp.Array), aggregate(resp.Array)},
		{"Nested", aggregate(resp.Array, aggregate(resp.Map, simple("k"), aggregate(resp.Set, boolean(false)))),
			aggregate(resp.Array, aggregate(resp.Array, simple("k"), aggregate(resp.Array, integer(0))))},
		{"AttrsDroppedOnScalar", withAttrs(integer(1), simple("a"), integer(1)), integer(1)},
		{"AttrsDroppedOnBoolean", withAttrs(boolean(true), simple("a"), integer(1)), integer(1)},
		{"AttrsDroppedOnAggregate", withAttrs(aggregate(resp.Set, integer(1)), simple("a"), integer(1)), aggregate(resp.Array, integer(1))},
		{"AttrsDroppedOnElement", aggregate(resp.Array, withAttrs(simple("x"), simple("a"), integer(1))), aggregate(resp.Array, simple("x"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := dump(tc.in)
			got := resp.ToRESP2(tc.in)
			if !equalValue(got, tc.want) {
				t.Fatalf("ToRESP2(%s): got %s, want %s", before, dump(got), dump(tc.want))
			}
			if after := dump(tc.in); after != before {
				t.Fatalf("ToRESP2(%s) changed its input to %s", before, after)
			}
		})
	}
}
