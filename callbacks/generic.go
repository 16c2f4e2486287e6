package callbacks

import (
	"fmt"
	"math"
	"strconv"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Generic converts any reply without command knowledge: simple strings
// become string, bulk and verbatim strings []byte, integers int64, doubles
// float64, booleans bool, big numbers Number, null nil, arrays/sets/pushes
// []any, maps Map, and error elements *resp.Error. RESP3 attributes are
// dropped.
func Generic(v resp.Value) any {
	switch v.Kind {
	case resp.SimpleString:
		return string(v.Str)
	case resp.BulkString, resp.Verbatim:
		return v.Str
	case resp.Integer:
		return v.Int
	case resp.Double:
		return v.Float
	case resp.Boolean:
		return v.Bool
	case resp.BigNumber:
		return Number(v.Str)
	case resp.Null:
		return nil
	case resp.ErrorReply, resp.BulkError:
		return resp.ParseError(string(v.Str))
	case resp.Array, resp.Set, resp.Push:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = Generic(e)
		}
		return out
	case resp.Map, resp.Attribute:
		out := make(Map, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			out = append(out, Entry{Key: Generic(v.Elems[i+0]), Value: Generic(v.Elems[i+1])})
		}
		return out
	}
	return nil
}

// ShapeError is a callback's failure: Redis answered (the command ran)
// with a reply of a shape the callback cannot read, for example because
// a module or a renamed command answers differently.
type ShapeError struct {
	Callback string    // the callback's name
	Kind     resp.Kind // what the reply was
	Want     string    // what the callback reads
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("callbacks: %s: reply is %s, want %s", e.Callback, e.Kind, e.Want)
}

// shapeError describes a reply that does not fit a callback.
func shapeError(name string, v resp.Value, want string) error {
	return &ShapeError{Callback: name, Kind: v.Kind, Want: want}
}

// toFloat reads a double from a RESP3 double, a RESP2 bulk string ("1.5",
// "inf", "-inf", "nan"), or an integer.
func toFloat(v resp.Value) (float64, bool) {
	switch v.Kind {
	case resp.Double:
		return v.Float, true
	case resp.Integer:
		return float64(v.Int), true
	case resp.BulkString, resp.SimpleString, resp.Verbatim:
		switch string(v.Str) {
		case "inf", "+inf":
			return math.Inf(1), true
		case "-inf":
			return math.Inf(-1), true
		case "nan", "-nan":
			return math.NaN(), true
		}
		f, err := strconv.ParseFloat(string(v.Str), 64)
		return f, err == nil
	}
	return 0, false
}

// pairs returns the key/value elements of a RESP3 map or a RESP2 flat
// array, flattened: k0, v0, k1, v1…
func pairs(v resp.Value) ([]resp.Value, bool) {
	switch v.Kind {
	case resp.Map, resp.Attribute:
		return v.Elems, true
	case resp.Array, resp.Set:
		// RESP3 may send an array of 2-element arrays.
		if isNested(v) {
			flat := make([]resp.Value, 0, 2*len(v.Elems))
			for _, p := range v.Elems {
				if len(p.Elems) != 2 {
					return nil, false
				}
				flat = append(flat, p.Elems...)
			}
			return flat, true
		}
		if len(v.Elems)%2 != 0 {
			return nil, false
		}
		return v.Elems, true
	}
	return nil, false
}

// isNested reports an array of 2-element arrays (RESP3 pair lists).
func isNested(v resp.Value) bool {
	return len(v.Elems) > 0 && (v.Elems[0].Kind == resp.Array) && len(v.Elems[0].Elems) == 2
}
