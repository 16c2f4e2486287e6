package resp

import (
	"strconv"
	"strings"
)

// Kind is the RESP type of a [Value]. Its values are named after the RESP3
// types; RESP2 replies use the subset SimpleString, ErrorReply, Integer,
// BulkString, Array and Null.
type Kind uint8

// The RESP kinds, each with the byte that introduces it on the wire.
const (
	Invalid      Kind = iota // zero Value
	SimpleString             // +OK\r\n
	ErrorReply               // -ERR message\r\n
	Integer                  // :42\r\n
	BulkString               // $3\r\nfoo\r\n
	Array                    // *2\r\n…  (RESP2 *-1 is Null with Bool set)
	Null                     // _\r\n  (RESP2 $-1, and *-1 with Bool set)
	Boolean                  // #t\r\n
	Double                   // ,3.14\r\n  ,inf\r\n  ,nan\r\n
	BigNumber                // (3492890328409238509324850943850943825024385\r\n
	BulkError                // !21\r\nSYNTAX invalid syntax\r\n
	Verbatim                 // =15\r\ntxt:Some string\r\n
	Map                      // %2\r\n key value key value
	Set                      // ~2\r\n…
	Attribute                // |1\r\n key value, then the value it annotates
	Push                     // >3\r\nmessage channel payload
)

var kindNames = [...]string{
	Invalid:      "invalid",
	SimpleString: "simple-string",
	ErrorReply:   "error",
	Integer:      "integer",
	BulkString:   "bulk-string",
	Array:        "array",
	Null:         "null",
	Boolean:      "boolean",
	Double:       "double",
	BigNumber:    "big-number",
	BulkError:    "bulk-error",
	Verbatim:     "verbatim-string",
	Map:          "map",
	Set:          "set",
	Attribute:    "attribute",
	Push:         "push",
}

// String returns the kind's name, such as "bulk-string".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one RESP reply (or one element of a reply).
//
// Which fields are meaningful depends on Kind:
//
//   - SimpleString, BulkString, ErrorReply, BulkError: Str holds the bytes.
//   - Verbatim: Str holds the text without its format prefix; Format holds
//     the three-byte format, such as "txt" or "mkd".
//   - BigNumber: Str holds the decimal text, with an optional leading '-'.
//   - Integer: Int. Boolean: Bool. Double: Float (±Inf and NaN included).
//   - Array, Set, Push: Elems holds the elements in order.
//   - Map, Attribute: Elems holds key, value, key, value… in the order the
//     server sent them.
//   - Null: Bool is true when a RESP2 server sent the null array (*-1)
//     rather than the null bulk string ($-1), so that a RESP2 reply can be
//     relayed exactly (see [Writer.WriteRESP2]); RESP3 has one null.
//
// Attrs holds the key/value pairs of a RESP3 attribute that preceded the
// value on the wire, flattened like a Map; it is nil almost always.
//
// A Value read by a [Reader] owns its memory: it shares no buffer with the
// reader and stays valid after further reads.
type Value struct {
	Kind   Kind
	Str    []byte
	Int    int64
	Float  float64
	Bool   bool
	Format [3]byte
	Elems  []Value
	Attrs  []Value
}

// IsNull reports whether v is a null reply (RESP3 null, RESP2 null bulk
// string or null array).
func (v Value) IsNull() bool { return v.Kind == Null }

// IsError reports whether v is an error reply (simple or bulk).
func (v Value) IsError() bool { return v.Kind == ErrorReply || v.Kind == BulkError }

// Err returns v as an [*Error] when v is an error reply, and nil otherwise.
func (v Value) Err() error {
	if !v.IsError() {
		return nil
	}
	return ParseError(string(v.Str))
}

// IsAggregate reports whether v holds elements (array, set, push, map or
// attribute).
func (v Value) IsAggregate() bool {
	switch v.Kind {
	case Array, Set, Push, Map, Attribute:
		return true
	}
	return false
}

// IsText reports whether v carries bytes in Str that a caller would treat
// as a string (simple, bulk or verbatim string).
func (v Value) IsText() bool {
	switch v.Kind {
	case SimpleString, BulkString, Verbatim:
		return true
	}
	return false
}

// String returns a short human-readable form of v for debugging and test
// failure messages. It is not a wire format.
func (v Value) String() string {
	var b strings.Builder
	v.debug(&b)
	return b.String()
}

func (v Value) debug(b *strings.Builder) {
	switch v.Kind {
	case SimpleString, BulkString, Verbatim, BigNumber:
		b.WriteString(strconv.Quote(string(v.Str)))
	case ErrorReply, BulkError:
		b.WriteString("(error) ")
		b.WriteString(string(v.Str))
	case Integer:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case Double:
		b.WriteString(strconv.FormatFloat(v.Float, 'g', -1, 64))
	case Boolean:
		b.WriteString(strconv.FormatBool(v.Bool))
	case Null:
		b.WriteString("(nil)")
	case Array, Set, Push, Map, Attribute:
		b.WriteString(v.Kind.String())
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.debug(b)
		}
		b.WriteByte(']')
	default:
		b.WriteString(v.Kind.String())
	}
}

// Convenience constructors, used mostly by tests and by servers written
// with this package.

// StringValue returns a bulk string holding s.
func StringValue(s string) Value { return Value{Kind: BulkString, Str: []byte(s)} }

// BytesValue returns a bulk string holding b (not copied).
func BytesValue(b []byte) Value { return Value{Kind: BulkString, Str: b} }

// SimpleValue returns a simple string holding s.
func SimpleValue(s string) Value { return Value{Kind: SimpleString, Str: []byte(s)} }

// IntValue returns an integer reply.
func IntValue(n int64) Value { return Value{Kind: Integer, Int: n} }

// ArrayValue returns an array of the given elements.
func ArrayValue(elems ...Value) Value { return Value{Kind: Array, Elems: elems} }

// NullValue returns a null reply.
func NullValue() Value { return Value{Kind: Null} }

// ErrorValue returns a simple error reply with the given text.
func ErrorValue(msg string) Value { return Value{Kind: ErrorReply, Str: []byte(msg)} }

// ToRESP2 returns v as a RESP2 client would have received it: maps and
// attributes become flat arrays, sets and pushes become arrays, booleans
// become integers 1/0, doubles and big numbers become bulk strings, verbatim
// strings become bulk strings without their format, and bulk errors become
// simple errors. Attributes attached to values are dropped.
func ToRESP2(v Value) Value {
	switch v.Kind {
	case Map, Attribute, Set, Push, Array:
		out := make([]Value, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = ToRESP2(e)
		}
		return Value{Kind: Array, Elems: out}
	case Boolean:
		if v.Bool {
			return IntValue(1)
		}
		return IntValue(0)
	case Double:
		return Value{Kind: BulkString, Str: AppendDouble(nil, v.Float)}
	case BigNumber, Verbatim:
		return Value{Kind: BulkString, Str: v.Str}
	case BulkError:
		return Value{Kind: ErrorReply, Str: v.Str}
	}
	v.Attrs = nil
	return v
}
