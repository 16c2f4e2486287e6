package redistest

import (
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Cluster is a Redis Cluster of real redis-server processes owned by a
// test: Primaries primaries (slots spread evenly by redis-cli) and, when
// asked, one replica per primary. Every process is stopped in tb.Cleanup.
type Cluster struct {
	// Nodes holds every node, primaries first in the order redis-cli
	// assigned slots to them (Nodes[0] serves slot 0), then replicas.
	Nodes []*Server
}

// ClusterConfig shapes [StartCluster]. A zero field means its default.
type ClusterConfig struct {
	// Primaries is the number of primaries. Default 3.
	Primaries int
	// Replicas is the number of replicas per primary (0 or 1). Default 0.
	Replicas int
	// NodeTimeout is cluster-node-timeout: how long a node may be
	// unreachable before it is considered failed. Default 1s, short so
	// that failover tests end quickly.
	NodeTimeout time.Duration
}

// StartCluster starts the nodes on free ports, joins them with
// `redis-cli --cluster create`, and waits until every node reports
// cluster_state:ok and agrees on the slot owners. It fails the test when
// that takes more than 20 s.
func StartCluster(tb testing.TB, cfg ClusterConfig) *Cluster {
	tb.Helper()
	if cfg.Primaries <= 0 {
		cfg.Primaries = 3
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = time.Second
	}
	n := cfg.Primaries * (1 + cfg.Replicas)
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, Start(tb,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(cfg.NodeTimeout.Milliseconds(), 10),
			// Replicas may take over quickly in failover tests.
			"--cluster-replica-validity-factor", "0",
		))
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Nodes {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(cfg.Replicas), "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v: %s", err, tail(out))
	}
	c.WaitStable(tb, 20*time.Second)
	// redis-cli assigns slots to the first Primaries addresses it was
	// given, in order, and makes the rest replicas; check rather than
	// trust it, so tests can rely on Nodes[i] being a primary.
	for i, s := range c.Nodes[:cfg.Primaries] {
		if role := s.Do(tb, "ROLE"); len(role.Elems) == 0 || string(role.Elems[0].Str) != "master" {
			tb.Fatalf("redistest: cluster node %d (%s) is not a primary", i, s.Addr())
		}
	}
	return c
}

// Addrs returns every node's address.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr()
	}
	return out
}

// URL returns redis+cluster://h1:p1,h2:p2,… over every node.
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// WaitStable polls every live node until each reports cluster_state:ok
// and they all give the same owner for every slot, failing the test after
// timeout. Stopped nodes are skipped.
func (c *Cluster) WaitStable(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var why string
	for time.Now().Before(deadline) {
		if why = c.unstable(tb); why == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("redistest: cluster not stable within %v: %s", timeout, why)
}

// unstable returns why the cluster is not settled yet, or "".
func (c *Cluster) unstable(tb testing.TB) string {
	tb.Helper()
	var first string
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		info := s.Do(tb, "CLUSTER", "INFO")
		if !strings.Contains(string(info.Str), "cluster_state:ok") {
			return s.Addr() + ": cluster_state not ok"
		}
		slots := s.Do(tb, "CLUSTER", "SLOTS")
		if slots.IsError() {
			return s.Addr() + ": " + string(slots.Str)
		}
		sig := slotsSignature(slots)
		if first == "" {
			first = sig
		} else if sig != first {
			return s.Addr() + ": slot owners differ between nodes"
		}
	}
	return ""
}

// slotsSignature renders a CLUSTER SLOTS reply as "start-end@port …",
// sorted so that nodes listing ranges in different orders compare equal.
func slotsSignature(v resp.Value) string {
	var parts []string
	for _, r := range v.Elems {
		if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%05d-%05d@%d", r.Elems[0].Int, r.Elems[1].Int, r.Elems[2].Elems[1].Int))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Running reports whether the server process is up (not stopped or
// killed by the test).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Primary returns the node that serves slot, according to node 0's view
// (or the first running node's).
func (c *Cluster) Primary(tb testing.TB, slot int) *Server {
	tb.Helper()
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		v := s.Do(tb, "CLUSTER", "SLOTS")
		for _, r := range v.Elems {
			if len(r.Elems) < 3 || int(r.Elems[0].Int) > slot || int(r.Elems[1].Int) < slot {
				continue
			}
			port := int(r.Elems[2].Elems[1].Int)
			for _, n := range c.Nodes {
				if n.Port() == port {
					return n
				}
			}
		}
		tb.Fatalf("redistest: slot %d has no owner", slot)
	}
	tb.Fatal("redistest: no cluster node is running")
	return nil
}

// NodeID returns the node's cluster id (CLUSTER MYID).
func (s *Server) NodeID(tb testing.TB) string {
	tb.Helper()
	v := s.Do(tb, "CLUSTER", "MYID")
	if v.IsError() {
		tb.Fatalf("redistest: CLUSTER MYID on %s: %s", s.Addr(), v.Str)
	}
	return string(v.Str)
}

// String describes the cluster for failure messages.
func (c *Cluster) String() string { return fmt.Sprint(c.Addrs()) }
