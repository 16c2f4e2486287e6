package sentinel_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// getCalls returns the GET calls INFO commandstats reports on s.
func getCalls(tb testing.TB, s *redistest.Server) int64 {
	tb.Helper()
	m := regexp.MustCompile(`cmdstat_get:calls=(\d+)`).FindStringSubmatch(string(s.Do(tb, "INFO", "commandstats").Str))
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// newReplicaReader returns a client with ReadFromReplicas over ss, once
// it knows the replica.
func newReplicaReader(tb testing.TB, ss *redistest.SentinelSetup) *sentinel.Client {
	tb.Helper()
	c, err := sentinel.New(sentinel.Config{Sentinels: ss.SentinelAddrs(), MasterName: ss.MasterName,
		ReadFromReplicas: true, Pool: pool.Config{ClientName: "rfr-test"}, CheckInterval: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for len(c.Replicas()) == 0 {
		if time.Now().After(deadline) {
			tb.Fatal("ReadFromReplicas: the replica is not known after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// testReadFromReplicas checks, on a healthy setup, that with
// ReadFromReplicas GETs run on the replica and writes on the primary, a
// read after WAIT on the primary sees the write, and that plain (without
// the flag) reads only from the primary.
func testReadFromReplicas(t *testing.T, ss *redistest.SentinelSetup, rc, plain *sentinel.Client) {
	ctx := t.Context()
	if got := rc.Replicas(); len(got) != 1 || got[0] != ss.Replica.Addr() {
		t.Fatalf("Replicas: got %v, want [%s]", got, ss.Replica.Addr())
	}
	if got := plain.Replicas(); len(got) != 0 {
		t.Fatalf("Replicas without ReadFromReplicas: got %v, want none", got)
	}
	const n = 20
	pc, err := client.New(client.Config{Pool: pool.Config{Addr: ss.Primary.Addr(), PoolSize: 1}, MaxBlocking: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	p0, r0 := getCalls(t, ss.Primary), getCalls(t, ss.Replica)
	for i := range n {
		v := strconv.Itoa(i)
		// The write goes to the primary.
		if _, err := rc.Do(ctx, "SET", "rfr", v); err != nil {
			t.Fatalf("SET rfr %s: %v", v, err)
		}
		if got := ss.Primary.Do(t, "GET", "rfr"); string(got.Str) != v {
			t.Fatalf("GET rfr on the primary after SET %s: got %q", v, got.Str)
		}
		// WAIT on the connection that wrote, then read from the replica.
		// One pipeline: WAIT must run on the connection that wrote
		// (the client would send a lone WAIT on its blocking pool).
		res, err := pc.Pipe(wctx, [][]string{{"SET", "rfr:ryw", v}, {"WAIT", "1", "0"}})
		if err != nil || res[1].Value != int64(1) {
			t.Fatalf("SET and WAIT 1 0: got %v, %v, want WAIT to answer 1", res, err)
		}
		if got, err := rc.Do(ctx, "GET", "rfr:ryw"); err != nil || text(got) != v {
			t.Fatalf("GET rfr:ryw after WAIT: got %v, %v, want %s", got, err, v)
		}
	}
	// ss.Primary.Do's own GETs above count on the primary.
	p1, r1 := getCalls(t, ss.Primary), getCalls(t, ss.Replica)
	if p1-p0 != n || r1-r0 != n {
		t.Errorf("%d GETs with ReadFromReplicas: primary ran %d (the test's own checks), replica %d; want %d and %d", n, p1-p0, r1-r0, n, n)
	}
	named := false
	for _, line := range strings.Split(string(ss.Replica.Do(t, "CLIENT", "LIST").Str), "\n") {
		named = named || strings.Contains(line, " name=rfr-test ")
	}
	if !named {
		t.Error("CLIENT LIST on the replica: no connection named rfr-test")
	}

	// Without the flag, and for pipelines and transactions, the primary.
	for range n {
		if _, err := plain.Do(ctx, "GET", "rfr"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rc.Pipe(ctx, [][]string{{"GET", "rfr"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Transaction(ctx, nil, [][]string{{"GET", "rfr"}}); err != nil {
		t.Fatal(err)
	}
	p2, r2 := getCalls(t, ss.Primary), getCalls(t, ss.Replica)
	if p2-p1 != n+2 || r2-r1 != 0 {
		t.Errorf("%d GETs without the flag, 1 pipelined, 1 in a transaction: primary ran %d, replica %d; want %d and 0", n, p2-p1, r2-r1, n+2)
	}
}
