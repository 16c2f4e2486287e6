package sentinel_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

func text(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// TestFailover discovers the primary through real sentinels, runs
// commands, then kills the primary with SIGKILL and measures how long
// writes fail until the sentinels have promoted the replica and the
// client has switched (down-after-milliseconds is 1s here). The figure is
// logged, and only bounded generously.
func TestFailover(t *testing.T) {
	ss := redistest.StartSentinel(t)
	c, err := sentinel.New(sentinel.Config{Sentinels: ss.SentinelAddrs(), MasterName: ss.MasterName})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()

	if _, err := c.Do(ctx, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Do(ctx, "GET", "k"); err != nil || text(got) != "v" {
		t.Fatalf("GET k: got %v, %v, want v", got, err)
	}
	if c.Addr() != ss.Primary.Addr() {
		t.Fatalf("primary: got %s, want %s", c.Addr(), ss.Primary.Addr())
	}
	res, err := c.Pipe(ctx, [][]string{{"INCR", "n"}, {"INCR", "n"}})
	if err != nil || res[1].Value != int64(2) {
		t.Fatalf("pipeline: got %v, %v", res, err)
	}
	if _, err := c.Transaction(ctx, []string{"n"}, [][]string{{"INCR", "n"}}); err != nil {
		t.Fatalf("transaction: %v", err)
	}
	// The replica has the data before the primary dies.
	ss.Primary.Do(t, "WAIT", "1", "2000")
	// Reuses this setup while it is healthy.
	rr := newReplicaReader(t, ss)
	t.Run("ReadFromReplicas", func(t *testing.T) { testReadFromReplicas(t, ss, rr, c) })
	t.Run("DoVisit", func(t *testing.T) { testDoVisit(t, c, rr, ss.Replica) })

	// Background load, to count failed requests around the failover.
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Do(ctx, "SET", fmt.Sprintf("load:%d", w), fmt.Sprint(i)); err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)

	killed := time.Now()
	ss.Primary.Kill()
	probes := 0
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Do(pctx, "SET", "probe", "x")
		cancel()
		if err == nil {
			break
		}
		probes++
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("writes still failing 30s after the primary was killed: %v", err)
		}
	}
	rec := time.Since(killed)
	close(stop)
	wg.Wait()
	t.Logf("SIGKILL of the primary: writes succeed again %v after the kill; %d probe writes and %d of %d load requests failed meanwhile", rec, probes, failed.Load(), failed.Load()+ok.Load())
	if c.Addr() != ss.Replica.Addr() {
		t.Errorf("primary after failover: got %s, want the replica %s", c.Addr(), ss.Replica.Addr())
	}
	if got, err := c.Do(ctx, "GET", "k"); err != nil || text(got) != "v" {
		t.Errorf("GET k on the new primary: got %v, %v, want v", got, err)
	}
	var tr redistest.Trace
	if err := c.DoVisit(ctx, &tr, "GET", "k"); err != nil || tr.String() != "v " {
		t.Errorf("DoVisit GET k on the new primary: %v, visited %q; want v", err, tr.String())
	}
	// The killed primary, now listed as a replica, is flagged down and
	// skipped: reads with ReadFromReplicas fall back to the new primary.
	deadline := time.Now().Add(10 * time.Second)
	for rr.Addr() != ss.Replica.Addr() || len(rr.Replicas()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ReadFromReplicas after failover: primary %s, replicas %v; want %s and none", rr.Addr(), rr.Replicas(), ss.Replica.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, err := rr.Do(ctx, "GET", "k"); err != nil || text(got) != "v" {
		t.Errorf("GET k with ReadFromReplicas after failover: got %v, %v, want v", got, err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  sentinel.Config
	}{
		{"NoSentinel", sentinel.Config{MasterName: "m"}},
		{"NoName", sentinel.Config{Sentinels: []string{"127.0.0.1:26379"}}},
		{"BadAddr", sentinel.Config{Sentinels: []string{"x"}, MasterName: "m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sentinel.New(tc.cfg); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}
