package sentinel_test

import (
	"testing"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// testDoVisit: the sentinel client streams replies to a visitor
// (client.Visiting), on the primary, and on the replica for a read with
// ReadFromReplicas (counted by the replica's own commandstats); a
// top-level error reply comes back as the error, never visited.
func testDoVisit(t *testing.T, c, rr *sentinel.Client, replica *redistest.Server) {
	ctx := t.Context()
	var tr redistest.Trace
	if err := c.DoVisit(ctx, &tr, "MGET", "k", "visit:missing"); err != nil {
		t.Fatal(err)
	}
	if got := tr.String(); got != "[ v nil ] " {
		t.Errorf("DoVisit MGET: visited %q, want %q", got, "[ v nil ] ")
	}
	before := getCalls(t, replica)
	var rt redistest.Trace
	if err := rr.DoVisit(ctx, &rt, "GET", "k"); err != nil || rt.String() != "v " {
		t.Errorf("DoVisit GET with ReadFromReplicas: %v, visited %q; want v", err, rt.String())
	}
	if after := getCalls(t, replica); after != before+1 {
		t.Errorf("replica GET calls %d → %d: the read did not run on the replica", before, after)
	}
	var et redistest.Trace
	err := c.DoVisit(ctx, &et, "INCR", "k")
	if err == nil || et.String() != "" {
		t.Errorf("DoVisit INCR of a string: %v, visited %q; want the error reply as the error, nothing visited", err, et.String())
	}
}
