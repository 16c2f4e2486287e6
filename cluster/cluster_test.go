package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// newClient returns a cluster client over rc with its slot map loaded.
func newClient(tb testing.TB, rc *redistest.Cluster, cfg cluster.Config) *cluster.Client {
	tb.Helper()
	cfg.Addrs = rc.Addrs()
	c, err := cluster.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Refresh(ctx); err != nil {
		tb.Fatal(err)
	}
	return c
}

// ownerOf returns the node of rc holding key, asking every primary with
// EXISTS on its own connection (no redirection involved).
func ownerOf(tb testing.TB, rc *redistest.Cluster, key string) []int {
	tb.Helper()
	var out []int
	for i, s := range rc.Nodes {
		v := s.Do(tb, "EXISTS", key)
		if !v.IsError() && v.Int == 1 {
			out = append(out, i)
		}
	}
	return out
}

// TestCluster runs the routing behaviours on one shared 3-primary cluster.
func TestCluster(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{})
	c := newClient(t, rc, cluster.Config{})
	ctx := t.Context()

	t.Run("SlotMatchesRedis", func(t *testing.T) {
		for _, k := range []string{"a", "foo", "{user1000}.following", "123456789", "x{}y", "é"} {
			v := rc.Nodes[0].Do(t, "CLUSTER", "KEYSLOT", k)
			if got := cluster.Slot(k); int64(got) != v.Int {
				t.Errorf("Slot(%q): got %d, want %d (CLUSTER KEYSLOT)", k, got, v.Int)
			}
		}
	})

	t.Run("Routing", func(t *testing.T) {
		const n = 300
		perNode := map[int]int{}
		for i := range n {
			k := fmt.Sprintf("route:%d", i)
			if _, err := c.Do(ctx, "SET", k, strconv.Itoa(i)); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
		}
		for i := range n {
			k := fmt.Sprintf("route:%d", i)
			got, err := c.Do(ctx, "GET", k)
			if err != nil || text(got) != strconv.Itoa(i) {
				t.Fatalf("GET %s: got %v, %v, want %d", k, got, err, i)
			}
			owners := ownerOf(t, rc, k)
			want := rc.Primary(t, cluster.Slot(k))
			if len(owners) != 1 || rc.Nodes[owners[0]] != want {
				t.Fatalf("%s (slot %d): held by nodes %v, want only %s", k, cluster.Slot(k), owners, want.Addr())
			}
			perNode[owners[0]]++
		}
		if len(perNode) != 3 {
			t.Errorf("keys spread over %d nodes, want 3: %v", len(perNode), perNode)
		}
		// The node's own count for one slot agrees.
		slot := cluster.Slot("route:0")
		v := rc.Primary(t, slot).Do(t, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(slot))
		if v.Int < 1 {
			t.Errorf("CLUSTER COUNTKEYSINSLOT %d on its owner: got %d, want ≥ 1", slot, v.Int)
		}
	})

	t.Run("HashTags", func(t *testing.T) {
		if _, err := c.Do(ctx, "MSET", "{user1000}.following", "1", "{user1000}.followers", "2"); err != nil {
			t.Fatalf("MSET with one hash tag: %v", err)
		}
		got, err := c.Do(ctx, "MGET", "{user1000}.following", "{user1000}.followers")
		if err != nil || fmt.Sprint(texts(got)) != "[1 2]" {
			t.Fatalf("MGET: got %v, %v, want [1 2]", got, err)
		}
		got, err = c.Do(ctx, "SUNIONSTORE", "{t}dst", "{t}a", "{t}b")
		if err != nil || got != int64(0) {
			t.Fatalf("SUNIONSTORE in one tag: got %v, %v", got, err)
		}
	})

	t.Run("CrossSlot", func(t *testing.T) {
		cases := []struct {
			name string
			run  func() error
		}{
			{"MSET", func() error { _, err := c.Do(ctx, "MSET", "a", "1", "b", "2"); return err }},
			{"DEL", func() error { _, err := c.Do(ctx, "DEL", "a", "b"); return err }},
			{"EVAL", func() error { _, err := c.Do(ctx, "EVAL", "return 1", "2", "a", "b"); return err }},
			{"Transaction", func() error {
				_, err := c.Transaction(ctx, []string{"a"}, [][]string{{"SET", "b", "1"}})
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var re *client.Error
				if err := tc.run(); !errors.As(err, &re) || re.Code != "CROSSSLOT" {
					t.Fatalf("got %v, want a CROSSSLOT error", err)
				}
			})
		}
	})

	t.Run("Pipeline", func(t *testing.T) {
		var cmds [][]string
		for i := range 60 {
			cmds = append(cmds, []string{"SET", fmt.Sprintf("pipe:%d", i), strconv.Itoa(i)})
		}
		for i := range 60 {
			cmds = append(cmds, []string{"GET", fmt.Sprintf("pipe:%d", i)})
		}
		cmds = append(cmds, []string{"MSET", "a", "1", "b", "2"}, []string{"INCR", "pipe:0"}, []string{"PING"})
		res, err := c.Pipe(ctx, cmds)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(cmds) {
			t.Fatalf("got %d results, want %d", len(res), len(cmds))
		}
		for i := range 60 {
			if res[i].Err != nil || res[i].Value != true {
				t.Errorf("result %d (%v): got %v, %v, want true", i, cmds[i], res[i].Value, res[i].Err)
			}
			if r := res[60+i]; r.Err != nil || text(r.Value) != strconv.Itoa(i) {
				t.Errorf("result %d (%v): got %v, %v, want %d", 60+i, cmds[60+i], r.Value, r.Err, i)
			}
		}
		var re *client.Error
		if !errors.As(res[120].Err, &re) || re.Code != "CROSSSLOT" {
			t.Errorf("cross-slot MSET in a pipeline: got %v, want CROSSSLOT", res[120].Err)
		}
		if res[121].Value != int64(1) || text(res[122].Value) != "PONG" {
			t.Errorf("INCR, PING after it: got %v, %v", res[121].Value, res[122].Value)
		}
	})

	t.Run("Transaction", func(t *testing.T) {
		res, err := c.Transaction(ctx, []string{"{acct}:a"}, [][]string{
			{"SET", "{acct}:a", "10"}, {"INCRBY", "{acct}:a", "5"}, {"GET", "{acct}:a"},
		})
		if err != nil || len(res) != 3 || text(res[2].Value) != "15" {
			t.Fatalf("got %v, %v, want GET 15", res, err)
		}
		// A watched key changed by someone else aborts it.
		_, err = c.Transaction(ctx, nil, [][]string{{"PING"}})
		if err != nil {
			t.Fatalf("keyless transaction: %v", err)
		}
	})

	t.Run("KeySpecs", func(t *testing.T) {
		// Commands whose keys are found in different ways: a subcommand
		// (XINFO STREAM), movable keys (ZUNIONSTORE via COMMAND GETKEYS,
		// EVAL parsed), XREAD with STREAMS.
		for i := range 20 {
			k := "stream:" + strconv.Itoa(i)
			if _, err := c.Do(ctx, "XADD", k, "*", "f", "v"); err != nil {
				t.Fatalf("XADD %s: %v", k, err)
			}
			if _, err := c.Do(ctx, "XINFO", "STREAM", k); err != nil {
				t.Fatalf("XINFO STREAM %s: %v", k, err)
			}
			if _, err := c.Do(ctx, "XREAD", "COUNT", "1", "STREAMS", k, "0"); err != nil {
				t.Fatalf("XREAD %s: %v", k, err)
			}
			if _, err := c.Do(ctx, "OBJECT", "ENCODING", k); err != nil {
				t.Fatalf("OBJECT ENCODING %s: %v", k, err)
			}
			z := "{z" + strconv.Itoa(i) + "}"
			if _, err := c.Do(ctx, "ZUNIONSTORE", z+"d", "2", z+"a", z+"b"); err != nil {
				t.Fatalf("ZUNIONSTORE: %v", err)
			}
			if got, err := c.Do(ctx, "EVAL", "return redis.call('GET', KEYS[1])", "1", "route:"+strconv.Itoa(i)); err != nil || text(got) != strconv.Itoa(i) {
				t.Fatalf("EVAL GET route:%d: got %v, %v", i, got, err)
			}
		}
	})

	t.Run("PubSub", func(t *testing.T) {
		ps := c.PubSub(client.PubSubConfig{})
		defer ps.Close()
		if err := ps.Subscribe(ctx, "news"); err != nil {
			t.Fatal(err)
		}
		if err := ps.WaitSubscribed(ctx, false, "news"); err != nil {
			t.Fatal(err)
		}
		// Publish on every node directly: the cluster bus delivers to the
		// subscriber's node.
		for i, s := range rc.Nodes {
			s.Do(t, "PUBLISH", "news", strconv.Itoa(i))
		}
		got := map[string]bool{}
		timeout := time.After(5 * time.Second)
		for len(got) < len(rc.Nodes) {
			select {
			case m := <-ps.Messages():
				if m.Kind == client.KindMessage {
					got[string(m.Payload)] = true
				}
			case <-timeout:
				t.Fatalf("received %v, want a message from each of %d nodes", got, len(rc.Nodes))
			}
		}
	})

	t.Run("PingStats", func(t *testing.T) {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if len(c.Nodes()) != 3 {
			t.Errorf("Nodes: got %v, want 3 primaries", c.Nodes())
		}
		if s := c.Stats(); s.TotalConns == 0 {
			t.Errorf("Stats: no connection counted: %+v", s)
		}
	})

	t.Run("HTTP", func(t *testing.T) { testHTTP(t, rc) })

	t.Run("SeedOnly", func(t *testing.T) {
		// A client that has not read the map yet follows MOVED from its
		// seed.
		c2, err := cluster.New(cluster.Config{Addrs: []string{rc.Nodes[2].Addr()}, RefreshInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		for i := range 20 {
			k := fmt.Sprintf("route:%d", i)
			if got, err := c2.Do(ctx, "GET", k); err != nil || text(got) != strconv.Itoa(i) {
				t.Fatalf("GET %s: got %v, %v", k, got, err)
			}
		}
	})

	t.Run("ReadFromReplicasWithoutReplicas", func(t *testing.T) {
		// No shard has a replica: reads fall back to the primaries.
		rf := newClient(t, rc, cluster.Config{ReadFromReplicas: true})
		for _, a := range rf.Nodes() {
			if got := rf.Replicas(a); len(got) != 0 {
				t.Errorf("Replicas(%s): got %v, want none", a, got)
			}
		}
		for i := range 20 {
			k := fmt.Sprintf("route:%d", i)
			if got, err := rf.Do(ctx, "GET", k); err != nil || text(got) != strconv.Itoa(i) {
				t.Fatalf("GET %s: got %v, %v, want %d", k, got, err, i)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  cluster.Config
	}{
		{"NoSeed", cluster.Config{}},
		{"BadSeed", cluster.Config{Addrs: []string{"nohost"}}},
		{"Database", cluster.Config{Addrs: []string{"127.0.0.1:7000"}, Pool: client.PoolConfig{DB: 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cluster.New(tc.cfg); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

// text returns a reply value as a string: bulk strings are shaped as
// []byte.
func text(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// texts applies text to each element of an array reply.
func texts(v any) []string {
	a, _ := v.([]any)
	out := make([]string, len(a))
	for i, e := range a {
		out[i] = text(e)
	}
	return out
}
