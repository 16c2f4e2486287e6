package api

import (
	"slices"
	"strconv"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/resp"
)

// replyVisitor writes a reply as JSON while the client reads it
// (client.DoVisit), byte for byte as valueEncoder.value of the generic
// conversion (callbacks.Generic) of the whole reply would: same strings,
// same encoding rules, same object keys. It exists for memory: a reply is
// never held as Values and then as Go values, only as its JSON text, so a
// request's cost stays a small multiple of its body even when its reply
// has as many elements as the request has arguments (TestVisitMatchesGeneric
// holds the two paths together).
type replyVisitor struct {
	e      *valueEncoder
	frames []visitFrame
}

// roomFor makes room for the next element of a reply being encoded,
// doubling the buffer when less than 64 bytes are left: append grows
// large slices by 1.25×, which for a long reply allocates about five
// times its final size in all.
func roomFor(b []byte) []byte {
	if cap(b)-len(b) < 64 {
		return slices.Grow(b, max(len(b), 64))
	}
	return b
}

// visitFrame is an aggregate being written.
type visitFrame struct {
	isMap    bool
	n        int // elements written so far (keys and values, for maps)
	keyStart int // where the current map key's text starts in e.b
}

// before writes what goes ahead of an element: a comma after a sibling
// and, for a map key, notes where the key starts.
func (rv *replyVisitor) before() {
	if len(rv.frames) == 0 {
		return
	}
	f := &rv.frames[len(rv.frames)-1]
	if f.isMap && f.n%2 == 1 {
		return // a value: the key's epilogue wrote the colon
	}
	if f.n > 0 {
		rv.e.b = append(rv.e.b, ',')
	}
	if f.isMap {
		f.keyStart = len(rv.e.b)
	}
}

// after closes an element: a map key that is not already a JSON string
// becomes the string of its JSON text (as valueEncoder.key does), then a
// colon follows it.
func (rv *replyVisitor) after(stringKey bool) {
	if len(rv.frames) == 0 {
		return
	}
	f := &rv.frames[len(rv.frames)-1]
	if f.isMap && f.n%2 == 0 {
		if !stringKey {
			text := string(rv.e.b[f.keyStart:])
			rv.e.b = appendString(rv.e.b[:f.keyStart], text)
		}
		rv.e.b = append(rv.e.b, ':')
	}
	f.n++
}

// Scalar implements resp.Visitor.
func (rv *replyVisitor) Scalar(v resp.Value) error {
	e := rv.e
	e.b = roomFor(e.b)
	rv.before()
	stringKey := false
	switch v.Kind {
	case resp.BulkString, resp.Verbatim:
		if err := e.bytes(v.Str); err != nil {
			return err
		}
		stringKey = true
	case resp.SimpleString:
		e.b = appendString(e.b, v.Str)
		stringKey = true
	case resp.Null:
		e.b = append(e.b, "null"...)
	case resp.Integer:
		e.b = strconv.AppendInt(e.b, v.Int, 10)
	case resp.Double:
		e.float(v.Float)
	case resp.Boolean:
		e.b = strconv.AppendBool(e.b, v.Bool)
	case resp.BigNumber:
		e.b = append(e.b, v.Str...)
	default: // error replies inside an aggregate, and anything rarer
		if err := e.value(callbacks.Generic(v)); err != nil {
			return err
		}
	}
	rv.after(stringKey)
	return nil
}

// Begin implements resp.Visitor.
func (rv *replyVisitor) Begin(kind resp.Kind, _ int) error {
	rv.before()
	isMap := kind == resp.Map
	if isMap {
		rv.e.b = append(rv.e.b, '{')
	} else {
		rv.e.b = append(rv.e.b, '[')
	}
	rv.frames = append(rv.frames, visitFrame{isMap: isMap})
	return nil
}

// End implements resp.Visitor.
func (rv *replyVisitor) End() error {
	f := rv.frames[len(rv.frames)-1]
	rv.frames = rv.frames[:len(rv.frames)-1]
	if f.isMap {
		rv.e.b = append(rv.e.b, '}')
	} else {
		rv.e.b = append(rv.e.b, ']')
	}
	rv.after(false)
	return nil
}
