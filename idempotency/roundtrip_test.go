package idempotency

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
)

// tripCounter passes every call to a real client and counts the round
// trips: one per DoRaw, one per Pipe (one write, replies read in order),
// one per Transaction without WATCH (MULTI … EXEC in one write).
type tripCounter struct {
	c     *client.Client
	trips atomic.Int64
}

func (t *tripCounter) DoRaw(ctx context.Context, args ...string) (client.Value, error) {
	t.trips.Add(1)
	return t.c.DoRaw(ctx, args...)
}

func (t *tripCounter) Pipe(ctx context.Context, cmds [][]string) ([]client.Result, error) {
	t.trips.Add(1)
	return t.c.Pipe(ctx, cmds)
}

func (t *tripCounter) Transaction(ctx context.Context, watch []string, cmds [][]string) ([]client.Result, error) {
	t.trips.Add(1)
	return t.c.Transaction(ctx, watch, cmds)
}

// doerOnly hides Pipe: a Backend that runs one command at a time.
type doerOnly struct{ d Doer }

func (d doerOnly) DoRaw(ctx context.Context, args ...string) (client.Value, error) {
	return d.d.DoRaw(ctx, args...)
}

// TestStoreFirstRequestRoundTrips pins the record's own round trips of a
// first keyed request (no contention): Begin's SET NX, then the lease and
// the run key in one write, then Complete's response and freed lease in
// one MULTI/EXEC. It was 5 before.
func TestStoreFirstRequestRoundTrips(t *testing.T) {
	s, rs := newStore(t, "s1")
	ctx := t.Context()
	tc := &tripCounter{c: s.cfg.Backend.(*client.Client)}
	for _, fenced := range []bool{false, true} {
		st := New(Config{Backend: tc, Secret: "s1"})
		tc.trips.Store(0)
		key := map[bool]string{false: "plain", true: "fenced"}[fenced]
		var (
			a   *Attempt
			got State
			err error
		)
		if fenced {
			a, _, got, err = st.BeginFenced(ctx, "id", key, "fp", "scope")
		} else {
			a, _, got, err = st.Begin(ctx, "id", key, "fp")
		}
		if err != nil || got != Started {
			t.Fatalf("fenced %v: Begin: %v %v", fenced, got, err)
		}
		if n := tc.trips.Load(); n != 2 {
			t.Errorf("fenced %v: Begin took %d round trips, want 2", fenced, n)
		}
		k := st.keys("id", key)
		if v := rs.Do(t, "EXISTS", k.lease, k.run); v.Int != 2 {
			t.Fatalf("fenced %v: after Begin %d of lease and run key exist, want 2", fenced, v.Int)
		}
		if err := a.Complete(ctx, &Response{Status: 200}); err != nil {
			t.Fatal(err)
		}
		if n := tc.trips.Load(); n != 3 {
			t.Errorf("fenced %v: Begin+Complete took %d round trips, want 3", fenced, n)
		}
		if v := rs.Do(t, "EXISTS", k.lease, k.run); v.Int != 0 {
			t.Fatalf("fenced %v: after Complete %d of lease and run key exist, want 0", fenced, v.Int)
		}
		if _, r, got, _ := st.Begin(ctx, "id", key, "fp"); got != Replay || r.Status != 200 {
			t.Fatalf("fenced %v: retry: %v, want Replay", fenced, got)
		}
	}

	// a Backend without Pipe takes them one by one, with the same states
	one := New(Config{Backend: doerOnly{s.cfg.Backend}, Secret: "s1"})
	a, _, got, err := one.Begin(ctx, "id", "one", "fp")
	if err != nil || got != Started {
		t.Fatalf("doer only: %v %v", got, err)
	}
	if _, _, got, _ := one.Begin(ctx, "id", "one", "fp"); got != InFlight {
		t.Fatalf("doer only duplicate: %v, want InFlight", got)
	}
	if err := a.Complete(ctx, &Response{Status: 200}); err != nil {
		t.Fatal(err)
	}
	if _, _, got, _ := one.Begin(ctx, "id", "one", "fp"); got != Replay {
		t.Fatalf("doer only retry: %v, want Replay", got)
	}
}

// TestStorePipedRunKeyTaken: when another attempt holds the run key, the
// piped lease-and-run-key write reads as in flight, as the sequential one.
func TestStorePipedRunKeyTaken(t *testing.T) {
	s, rs := newStore(t, "s1")
	ctx := t.Context()
	k := s.keys("id", "k")
	rs.Do(t, "SET", k.run, "someone-else", "PX", "60000")
	if _, _, got, err := s.Begin(ctx, "id", "k", "fp"); err != nil || got != InFlight {
		t.Fatalf("run key held: %v %v, want InFlight", got, err)
	}
}

// TestStoreCompleteAllOrNothing: when Redis refuses to store the response
// (out of memory), Complete fails and frees neither the lease nor the run
// key, so that a retry reads the request as interrupted instead of
// running it again.
func TestStoreCompleteAllOrNothing(t *testing.T) {
	s, rs := newStore(t, "s1")
	ctx := t.Context()
	a, _, got, err := s.Begin(ctx, "id", "k", "fp")
	if err != nil || got != Started {
		t.Fatalf("Begin: %v %v", got, err)
	}
	rs.Do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	rs.Do(t, "CONFIG", "SET", "maxmemory", "1")
	err = a.Complete(ctx, &Response{Status: 200, Body: []byte("ok")})
	rs.Do(t, "CONFIG", "SET", "maxmemory", "0")
	if err == nil {
		t.Fatal("Complete out of memory: nil error")
	}
	k := s.keys("id", "k")
	if v := rs.Do(t, "EXISTS", k.run); v.Int != 1 {
		t.Fatal("Complete out of memory freed the run key")
	}
	// the lease still stands (it lapses on its own): a retry waits
	if _, _, got, _ := s.Begin(ctx, "id", "k", "fp"); got != InFlight {
		t.Fatalf("retry after a failed Complete: %v, want InFlight", got)
	}
}
