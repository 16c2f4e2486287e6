package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// load runs writers until stop is closed: each goroutine INCRs its own
// counter (tagged into one slot), reads it back, and runs a small
// pipeline and an MGET on the same tag. It counts successes and failures
// and remembers the first failures.
type load struct {
	ok, failed atomic.Int64
	lastOK     atomic.Int64 // UnixNano of the latest success
	mu         sync.Mutex
	errs       []string
	counts     []int64 // successful INCRs per worker
}

func runLoad(ctx context.Context, c *cluster.Client, tag string, workers int, stop <-chan struct{}) (*load, *sync.WaitGroup) {
	l := &load{counts: make([]int64, workers)}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("{%s}:counter:%d", tag, w)
			other := fmt.Sprintf("{%s}:other:%d", tag, w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch i % 4 {
				case 0, 1:
					if _, err = c.Do(ctx, "INCR", key); err == nil {
						l.counts[w]++
					}
				case 2:
					var res []client.Result
					res, err = c.Pipe(ctx, [][]string{{"SET", other, strconv.Itoa(i)}, {"GET", other}})
					for _, r := range res {
						if err == nil && r.Err != nil {
							err = r.Err
						}
					}
				case 3:
					_, err = c.Do(ctx, "MGET", key, other)
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
					l.lastOK.Store(time.Now().UnixNano())
				}
			}
		}()
	}
	return l, &wg
}

// TestMigration moves a slot between primaries by hand (IMPORTING,
// MIGRATING, MIGRATE key by key, SETSLOT NODE) under concurrent load: every
// request must succeed, through ASK, TRYAGAIN and MOVED.
func TestMigration(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{})
	var redirects redirectCounter
	c := newClient(t, rc, cluster.Config{Observe: redirects.observe})
	ctx := t.Context()
	const tag = "mig"
	slot := cluster.Slot(tag)
	src := rc.Primary(t, slot)
	var dst *redistest.Server
	for _, s := range rc.Nodes {
		if s != src {
			dst = s
			break
		}
	}
	// Data to carry over, beyond what the load writes.
	for i := range 200 {
		if _, err := c.Do(ctx, "SET", fmt.Sprintf("{%s}:data:%d", tag, i), strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	l, wg := runLoad(ctx, c, tag, 4, stop)
	time.Sleep(100 * time.Millisecond) // some load before the move

	start := time.Now()
	srcID, dstID := src.NodeID(t), dst.NodeID(t)
	sl := strconv.Itoa(slot)
	mustOK(t, dst.Do(t, "CLUSTER", "SETSLOT", sl, "IMPORTING", srcID))
	mustOK(t, src.Do(t, "CLUSTER", "SETSLOT", sl, "MIGRATING", dstID))
	host, port, _ := strings.Cut(dst.Addr(), ":")
	moved := 0
	for {
		keys := src.Do(t, "CLUSTER", "GETKEYSINSLOT", sl, "10")
		if len(keys.Elems) == 0 {
			break
		}
		args := []string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}
		for _, k := range keys.Elems {
			args = append(args, string(k.Str))
		}
		mustOK(t, src.Do(t, args...))
		moved += len(keys.Elems)
		time.Sleep(5 * time.Millisecond) // leave the slot half-moved a while
	}
	for _, s := range rc.Nodes {
		mustOK(t, s.Do(t, "CLUSTER", "SETSLOT", sl, "NODE", dstID))
	}
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond) // load against the new owner
	close(stop)
	wg.Wait()
	t.Logf("migrated slot %d (%d keys) in %v under load: %d requests ok, %d failed; node replies: %s", slot, moved, took, l.ok.Load(), l.failed.Load(), &redirects)
	if n := l.failed.Load(); n != 0 {
		t.Fatalf("%d requests failed during the migration, want 0; first: %v", n, l.errs)
	}
	if l.ok.Load() == 0 {
		t.Fatal("no request ran")
	}
	// Every INCR that succeeded is in the counter, now on the new owner.
	for w, n := range l.counts {
		key := fmt.Sprintf("{%s}:counter:%d", tag, w)
		v := dst.Do(t, "GET", key)
		if n > 0 && string(v.Str) != strconv.FormatInt(n, 10) {
			t.Errorf("%s on the new owner: got %q, want %d", key, v.Str, n)
		}
	}
	if got := dst.Do(t, "CLUSTER", "COUNTKEYSINSLOT", sl).Int; got < 200 {
		t.Errorf("keys in slot %d on the new owner: got %d, want ≥ 200", slot, got)
	}
}

// redirectCounter counts the redirection and retry replies nodes sent.
type redirectCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *redirectCounter) observe(cmd string, d time.Duration, err error) {
	var re *client.Error
	if errors.As(err, &re) {
		r.mu.Lock()
		if r.n == nil {
			r.n = map[string]int{}
		}
		r.n[re.Code]++
		r.mu.Unlock()
	}
}

func (r *redirectCounter) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.n)
}

func mustOK(tb testing.TB, v client.Value) {
	tb.Helper()
	if v.IsError() {
		tb.Fatalf("got error %s, want OK", v.Str)
	}
}

// recovered waits until a request of l succeeds after since and returns
// how long after since that was.
func (l *load) recovered(tb testing.TB, since time.Time, limit time.Duration) time.Duration {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if t := l.lastOK.Load(); t > since.UnixNano() {
			return time.Duration(t - since.UnixNano())
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("no request succeeded within %v", limit)
	return 0
}

// waitRole polls s until ROLE reports role ("master" or "slave") with a
// connected link for a replica.
func waitRole(tb testing.TB, s *redistest.Server, role string, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		v := s.Do(tb, "ROLE")
		if len(v.Elems) > 0 && string(v.Elems[0].Str) == role {
			if role == "master" || len(v.Elems) > 3 && string(v.Elems[3].Str) == "connected" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("%s did not become %s within %v", s.Addr(), role, limit)
}

// replicaOf returns the replica of rc replicating primary.
func replicaOf(tb testing.TB, rc *redistest.Cluster, primary *redistest.Server) *redistest.Server {
	tb.Helper()
	for _, s := range rc.Nodes {
		if s == primary || !s.Running() {
			continue
		}
		v := s.Do(tb, "ROLE")
		if len(v.Elems) > 2 && string(v.Elems[0].Str) == "slave" && int(v.Elems[2].Int) == primary.Port() {
			return s
		}
	}
	tb.Fatalf("no replica of %s", primary.Addr())
	return nil
}

// TestFailover runs a load on one slot of a 3+3 cluster while (1) the
// primary's replica takes over with CLUSTER FAILOVER, a planned switch
// that must cost no failed request, and (2) the new primary is killed
// with SIGKILL and its replica is promoted by the cluster, after which
// requests must succeed again. The recovery times are logged, not
// asserted tightly: they depend on cluster-node-timeout (1 s here).
func TestFailover(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{Replicas: 1})
	c := newClient(t, rc, cluster.Config{})
	ctx := t.Context()
	const tag = "fo"
	p := rc.Primary(t, cluster.Slot(tag))
	r := replicaOf(t, rc, p)
	waitRole(t, r, "slave", 10*time.Second)
	// Reuses this 3+3 cluster before any node fails.
	t.Run("ReadFromReplicas", func(t *testing.T) { testReadFromReplicas(t, rc) })

	stop := make(chan struct{})
	l, wg := runLoad(ctx, c, tag, 4, stop)
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(100 * time.Millisecond)

	// (1) Planned failover.
	okBefore := l.ok.Load()
	start := time.Now()
	mustOK(t, r.Do(t, "CLUSTER", "FAILOVER"))
	waitRole(t, r, "master", 10*time.Second)
	promoted := time.Since(start)
	rec := l.recovered(t, time.Now(), 10*time.Second)
	waitRole(t, p, "slave", 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	t.Logf("CLUSTER FAILOVER: replica promoted after %v; first success %v after that; %d ok, %d failed", promoted, rec, l.ok.Load()-okBefore, l.failed.Load())
	if n := l.failed.Load(); n != 0 {
		t.Errorf("%d requests failed during a planned failover, want 0; first: %v", n, l.errs)
	}

	// (2) The new primary dies.
	failedBefore := l.failed.Load()
	killed := time.Now()
	r.Kill()
	// Probe with requests that start after the kill: the load's
	// in-flight requests may still finish on the dying node.
	probes := 0
	for {
		_, err := c.Do(ctx, "SET", "{"+tag+"}:probe", "x")
		if err == nil {
			break
		}
		probes++
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("writes still failing 20s after the kill: %v", err)
		}
	}
	rec = time.Since(killed)
	waitRole(t, p, "master", 10*time.Second)
	t.Logf("SIGKILL of the primary: writes succeed again %v after the kill (cluster-node-timeout 1s); %d probe writes and %d load requests failed meanwhile (each after its retry budget)", rec, probes, l.failed.Load()-failedBefore)

	// (3) A replica refuses connections: with ReadFromReplicas, its
	// shard's reads fall back to the primary.
	var x *redistest.Server
	for _, n := range rc.Nodes[:3] {
		if n != p {
			x = n
			break
		}
	}
	q := replicaOf(t, rc, x)
	rf := newClient(t, rc, cluster.Config{ReadFromReplicas: true, RefreshInterval: time.Hour})
	for deadline := time.Now().Add(10 * time.Second); len(rf.Replicas(x.Addr())) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no replica of %s in the slot map after 10s", x.Addr())
		}
		time.Sleep(20 * time.Millisecond)
		if err := rf.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	k := "fallback:0"
	for i := 1; rc.Primary(t, cluster.Slot(k)) != x; i++ {
		k = fmt.Sprintf("fallback:%d", i)
	}
	if _, err := c.Do(ctx, "SET", k, "v"); err != nil {
		t.Fatal(err)
	}
	q.Kill()
	before := calls(t, []*redistest.Server{x}, "get")
	if got, err := rf.Do(ctx, "GET", k); err != nil || text(got) != "v" {
		t.Fatalf("GET %s with its replica down: got %v, %v, want v from the primary", k, got, err)
	}
	if n := calls(t, []*redistest.Server{x}, "get") - before; n != 1 {
		t.Errorf("GETs run by the primary while its replica is down: got %d, want 1", n)
	}
}
