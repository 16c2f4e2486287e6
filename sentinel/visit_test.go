package sentinel_test

import (
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// trace is a resp.Visitor that writes what it is handed as text:
// "[" n … "]" for aggregates, the bytes of strings, "nil" for nulls.
type trace struct{ b strings.Builder }

func (t *trace) Scalar(v resp.Value) error {
	if v.IsNull() {
		t.b.WriteString("nil ")
	} else {
		t.b.Write(v.Str)
		t.b.WriteByte(' ')
	}
	return nil
}

func (t *trace) Begin(kind resp.Kind, n int) error {
	t.b.WriteString("[ ")
	return nil
}

func (t *trace) End() error {
	t.b.WriteString("] ")
	return nil
}

// testDoVisit: the sentinel client streams replies to a visitor
// (client.Visiting), on the primary, and on the replica for a read with
// ReadFromReplicas (counted by the replica's own commandstats); a
// top-level error reply comes back as the error, never visited.
func testDoVisit(t *testing.T, c, rr *sentinel.Client, replica *redistest.Server) {
	ctx := t.Context()
	var tr trace
	if err := c.DoVisit(ctx, &tr, "MGET", "k", "visit:missing"); err != nil {
		t.Fatal(err)
	}
	if got := tr.b.String(); got != "[ v nil ] " {
		t.Errorf("DoVisit MGET: visited %q, want %q", got, "[ v nil ] ")
	}
	before := getCalls(t, replica)
	var rt trace
	if err := rr.DoVisit(ctx, &rt, "GET", "k"); err != nil || rt.b.String() != "v " {
		t.Errorf("DoVisit GET with ReadFromReplicas: %v, visited %q; want v", err, rt.b.String())
	}
	if after := getCalls(t, replica); after != before+1 {
		t.Errorf("replica GET calls %d → %d: the read did not run on the replica", before, after)
	}
	var et trace
	err := c.DoVisit(ctx, &et, "INCR", "k")
	if err == nil || et.b.Len() != 0 {
		t.Errorf("DoVisit INCR of a string: %v, visited %q; want the error reply as the error, nothing visited", err, et.b.String())
	}
}
