package redistest

import (
	"strings"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Trace is a resp.Visitor that records what it is handed as text, for
// tests of streamed replies: "[ " and "] " around aggregates, a string's
// bytes and "nil" for a null, each followed by a space. An MGET of one
// present key and one absent one traces as "[ v nil ] ".
type Trace struct{ b strings.Builder }

// Scalar records v.
func (t *Trace) Scalar(v resp.Value) error {
	if v.IsNull() {
		t.b.WriteString("nil ")
	} else {
		t.b.Write(v.Str)
		t.b.WriteByte(' ')
	}
	return nil
}

// Begin records the start of an aggregate.
func (t *Trace) Begin(resp.Kind, int) error {
	t.b.WriteString("[ ")
	return nil
}

// End records the end of an aggregate.
func (t *Trace) End() error {
	t.b.WriteString("] ")
	return nil
}

// String returns what was recorded.
func (t *Trace) String() string { return t.b.String() }
