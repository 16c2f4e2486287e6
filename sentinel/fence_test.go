package sentinel_test

import (
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestFencedReadGoesToThePrimary: with ReadFromReplicas, a read-only
// command run under a fence still goes to the primary (its MULTI sets
// the run key, which a replica refuses), and a second attempt is fenced.
func TestFencedReadGoesToThePrimary(t *testing.T) {
	ss := redistest.StartSentinel(t)
	rc := newReplicaReader(t, ss)
	ctx := t.Context()
	ss.Primary.Do(t, "SET", "fk", "v")
	f := &client.Fence{Key: "run:fk", Value: "a1", TTL: time.Minute}
	got, err := rc.Do(client.WithFence(ctx, f), "GET", "fk")
	if err != nil || text(got) != "v" {
		t.Fatalf("fenced GET: %v, %v; want v from the primary", got, err)
	}
	if v := ss.Primary.Do(t, "GET", "run:fk"); string(v.Str) != "a1" {
		t.Fatalf("run key on the primary = %q; want a1", v.Str)
	}
	f2 := &client.Fence{Key: "run:fk", Value: "a2", TTL: time.Minute}
	if _, err := rc.Do(client.WithFence(ctx, f2), "GET", "fk"); err == nil {
		t.Fatal("a second attempt under the same run key ran")
	}
	if !rc.Fences() {
		t.Error("Fences() is false")
	}
}
