package cluster_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestDoVisitFollowsRedirects: the cluster client streams a reply to a
// visitor (client.Visiting) and follows redirects as DoRaw does, without
// handing the visitor anything twice: while a slot migrates, a key still
// on the source is served there and an absent one is followed by ASK to
// the target; once the slot has moved, MOVED leads to the new owner. The
// redirect replies counted by Observe show each path was taken.
func TestDoVisitFollowsRedirects(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{})
	var redirects redirectCounter
	c := newClient(t, rc, cluster.Config{Observe: redirects.observe})
	ctx := t.Context()
	visit := func(args ...string) string {
		t.Helper()
		var tr redistest.Trace
		if err := c.DoVisit(ctx, &tr, args...); err != nil {
			t.Fatalf("DoVisit %v: %v", args, err)
		}
		return tr.String()
	}
	const tag = "vis"
	here, there := "{"+tag+"}:here", "{"+tag+"}:there"
	if _, err := c.Do(ctx, "SET", here, "h"); err != nil {
		t.Fatal(err)
	}
	if got := visit("MGET", here, there); got != "[ h nil ] " {
		t.Fatalf("MGET: visited %q, want %q", got, "[ h nil ] ")
	}

	slot := cluster.Slot(tag)
	src := rc.Primary(t, slot)
	var dst *redistest.Server
	for _, s := range rc.Nodes {
		if s != src && string(s.Do(t, "ROLE").Elems[0].Str) == "master" {
			dst = s
			break
		}
	}
	sl := strconv.Itoa(slot)
	mustOK(t, dst.Do(t, "CLUSTER", "SETSLOT", sl, "IMPORTING", src.NodeID(t)))
	mustOK(t, src.Do(t, "CLUSTER", "SETSLOT", sl, "MIGRATING", dst.NodeID(t)))
	if got := visit("GET", here); got != "h " {
		t.Errorf("GET of a key still on the source: visited %q, want %q", got, "h ")
	}
	if got := visit("GET", there); got != "nil " {
		t.Errorf("GET of a key not on the source (ASK): visited %q, want %q", got, "nil ")
	}
	host, port, _ := strings.Cut(dst.Addr(), ":")
	mustOK(t, src.Do(t, "MIGRATE", host, port, "", "0", "5000", "KEYS", here))
	for _, s := range rc.Nodes {
		if v := s.Do(t, "ROLE"); string(v.Elems[0].Str) == "master" {
			mustOK(t, s.Do(t, "CLUSTER", "SETSLOT", sl, "NODE", dst.NodeID(t)))
		}
	}
	if got := visit("GET", here); got != "h " {
		t.Errorf("GET after the slot moved (MOVED): visited %q, want %q", got, "h ")
	}
	got := redirects.String()
	if !strings.Contains(got, "ASK:") || !strings.Contains(got, "MOVED:") {
		t.Errorf("redirect replies seen: %s; want an ASK and a MOVED", got)
	}
}
