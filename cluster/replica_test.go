package cluster_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// calls sums the calls of cmd that INFO commandstats reports on servers.
func calls(tb testing.TB, servers []*redistest.Server, cmd string) int64 {
	tb.Helper()
	re := regexp.MustCompile(`cmdstat_` + cmd + `:calls=(\d+)`)
	var n int64
	for _, s := range servers {
		m := re.FindStringSubmatch(string(s.Do(tb, "INFO", "commandstats").Str))
		if m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			n += v
		}
	}
	return n
}

// testReadFromReplicas runs on a 3+3 cluster before anything fails: with
// ReadFromReplicas, GETs are counted by the replicas' commandstats and
// not the primaries', writes and pipelines still go to primaries, and a
// read after WAIT on the primary sees the write; without it, replicas
// serve nothing.
func testReadFromReplicas(t *testing.T, rc *redistest.Cluster) {
	ctx := t.Context()
	primaries := rc.Nodes[:3]
	var replicas []*redistest.Server
	for _, p := range primaries {
		r := replicaOf(t, rc, p)
		waitRole(t, r, "slave", 10*time.Second)
		replicas = append(replicas, r)
	}
	// Every node must see every replica online before the client reads
	// the map: right after the cluster forms, gossip may still show a
	// replica as loading on some node, and a refresh that asks that node
	// would drop it (seen once in CI-like runs).
	waitReplicasOnline(t, rc, len(replicas), 15*time.Second)
	c := newClient(t, rc, cluster.Config{ReadFromReplicas: true, Pool: pool.Config{ClientName: "rfr-test"}})
	plain := newClient(t, rc, cluster.Config{})
	// CLUSTER SHARDS reports a replica "online" once its sync is done.
	deadline := time.Now().Add(10 * time.Second)
	for i, p := range primaries {
		for len(c.Replicas(p.Addr())) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no replica of %s in the slot map after 10s", p.Addr())
			}
			time.Sleep(20 * time.Millisecond)
			if err := c.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.Replicas(p.Addr()); len(got) != 1 || got[0] != replicas[i].Addr() {
			t.Fatalf("Replicas(%s): got %v, want [%s]", p.Addr(), got, replicas[i].Addr())
		}
		if got := plain.Replicas(p.Addr()); len(got) != 0 {
			t.Fatalf("Replicas(%s) without ReadFromReplicas: got %v, want none", p.Addr(), got)
		}
	}

	const n = 30
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("rfr:%d", i)
	}
	// Writes land on primaries.
	for i, k := range keys {
		if _, err := c.Do(ctx, "SET", k, strconv.Itoa(i)); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if v := rc.Primary(t, cluster.Slot(k)).Do(t, "GET", k); string(v.Str) != strconv.Itoa(i) {
			t.Fatalf("GET %s on its primary after SET through the client: got %q, want %d", k, v.Str, i)
		}
	}

	// With the flag, every GET is served by a replica.
	p0, r0 := calls(t, primaries, "get"), calls(t, replicas, "get")
	for _, k := range keys {
		if _, err := c.Do(ctx, "GET", k); err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
	}
	p1, r1 := calls(t, primaries, "get"), calls(t, replicas, "get")
	if p1-p0 != 0 || r1-r0 != n {
		t.Errorf("%d GETs with ReadFromReplicas: primaries ran %d, replicas %d; want 0 and %d", n, p1-p0, r1-r0, n)
	}
	// Under a read-your-writes token (client.WithReplicas, no replica
	// known to have reached it) the primaries answer.
	synced := client.WithReplicas(ctx, nil)
	for _, k := range keys {
		if _, err := c.Do(synced, "GET", k); err != nil {
			t.Fatalf("GET %s with a sync token: %v", k, err)
		}
	}
	ps, rs := calls(t, primaries, "get"), calls(t, replicas, "get")
	if ps-p1 != n || rs-r1 != 0 {
		t.Errorf("%d GETs under WithReplicas(nil): primaries ran %d, replicas %d; want %d and 0", n, ps-p1, rs-r1, n)
	}
	p1, r1 = ps, rs
	named := 0
	for _, r := range replicas {
		for _, line := range strings.Split(string(r.Do(t, "CLIENT", "LIST").Str), "\n") {
			if strings.Contains(line, " name=rfr-test ") {
				named++
				if !strings.Contains(line, " flags=r ") {
					t.Errorf("CLIENT LIST on replica %s: got %q, want flags=r (READONLY)", r.Addr(), line)
				}
			}
		}
	}
	if named == 0 {
		t.Error("CLIENT LIST on the replicas: no connection named rfr-test")
	}

	// Pipelines and blocking commands stay on primaries, as do reads
	// without the flag.
	cmds := make([][]string, n)
	for i, k := range keys {
		cmds[i] = []string{"GET", k}
	}
	if _, err := c.Pipe(ctx, cmds); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "BLPOP", "rfr:list", "0.01"); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := plain.Do(ctx, "GET", k); err != nil {
			t.Fatalf("GET %s without the flag: %v", k, err)
		}
	}
	p2, r2 := calls(t, primaries, "get"), calls(t, replicas, "get")
	if p2-p1 != 2*n || r2-r1 != 0 {
		t.Errorf("%d pipelined GETs and %d GETs without the flag: primaries ran %d, replicas %d; want %d and 0", n, n, p2-p1, r2-r1, 2*n)
	}
	if got := calls(t, replicas, "blpop"); got != 0 {
		t.Errorf("BLPOP calls on replicas: got %d, want 0", got)
	}

	// Read your own write: WAIT for the replica on the writing
	// connection, then the replica has it.
	const k = "rfr:ryw"
	p := rc.Primary(t, cluster.Slot(k))
	pc, err := client.New(client.Config{Pool: pool.Config{Addr: p.Addr(), PoolSize: 1}, MaxBlocking: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range 20 {
		v := strconv.Itoa(i)
		// One pipeline: WAIT must run on the connection that wrote
		// (the client would send a lone WAIT on its blocking pool).
		res, err := pc.Pipe(wctx, [][]string{{"SET", k, v}, {"WAIT", "1", "0"}})
		if err != nil || res[1].Value != int64(1) {
			t.Fatalf("SET and WAIT 1 0 on %s: got %v, %v, want WAIT to answer 1", p.Addr(), res, err)
		}
		got, err := c.Do(ctx, "GET", k)
		if err != nil || text(got) != v {
			t.Fatalf("GET %s from a replica after WAIT: got %v, %v, want %s", k, got, err, v)
		}
	}
	if r3 := calls(t, replicas, "get"); r3-r2 != 20 {
		t.Errorf("read-your-own-write GETs run by replicas: got %d, want 20", r3-r2)
	}
}

// waitReplicasOnline waits until CLUSTER SHARDS on every node reports want
// replicas with health online.
func waitReplicasOnline(t *testing.T, rc *redistest.Cluster, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, n := range rc.Nodes {
		for {
			got := onlineReplicas(n.Do(t, "CLUSTER", "SHARDS"))
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s sees %d online replicas, want %d", n.Addr(), got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// onlineReplicas counts, in a CLUSTER SHARDS reply (RESP2: nested flat
// key/value arrays), the node entries with role replica and health online.
func onlineReplicas(v resp.Value) int {
	n := 0
	var walk func(v resp.Value)
	walk = func(v resp.Value) {
		if v.Kind != resp.Array && v.Kind != resp.Map {
			return
		}
		role, health := "", ""
		for i := 0; i+1 < len(v.Elems); i += 2 {
			switch string(v.Elems[i].Str) {
			case "role":
				role = string(v.Elems[i+1].Str)
			case "health":
				health = string(v.Elems[i+1].Str)
			}
		}
		if role == "replica" && health == "online" {
			n++
			return
		}
		for _, e := range v.Elems {
			walk(e)
		}
	}
	walk(v)
	return n
}
