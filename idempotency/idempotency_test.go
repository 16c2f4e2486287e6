package idempotency

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{`plain-key`, "plain-key", true},
		{` "a b" `, "a b", true},
		{`""`, "", false},
		{``, "", false},
		{`"` + strings.Repeat("k", 256) + `"`, "", false},
		{"\"caf\u00e9\"", "", false},
		{"tab\there", "", false},
	} {
		got, err := ParseKey(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseKey(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRecorderPassesLargeBodiesThrough(t *testing.T) {
	w := httptest.NewRecorder()
	rec := NewRecorder(w, 4)
	rec.Header().Set("Content-Type", "text/plain")
	rec.WriteHeader(http.StatusCreated)
	rec.Write([]byte("abc"))
	if w.Body.Len() != 0 {
		t.Fatalf("sent %q before Send", w.Body)
	}
	rec.Write([]byte("defg"))
	if rec.Response() != nil || w.Code != http.StatusCreated || w.Body.String() != "abcdefg" {
		t.Fatalf("over the limit: response %v, sent %d %q; want nil, 201 abcdefg", rec.Response(), w.Code, w.Body)
	}
	rec.Send()
	if w.Body.String() != "abcdefg" {
		t.Fatalf("Send after pass-through sent again: %q", w.Body)
	}
}

func TestRecorderFlushStreams(t *testing.T) {
	w := httptest.NewRecorder()
	rec := NewRecorder(w, 1<<20)
	rec.Write([]byte("event: a\n\n"))
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != "event: a\n\n" || !w.Flushed {
		t.Fatalf("after Flush sent %q (flushed %v), want the event", w.Body, w.Flushed)
	}
	rec.Write([]byte("event: b\n\n"))
	if rec.Response() != nil || w.Body.String() != "event: a\n\nevent: b\n\n" {
		t.Fatalf("a streamed response: kept %v, sent %q", rec.Response(), w.Body)
	}
}

func newStore(tb testing.TB, secret string) (*Store, *redistest.Server) {
	tb.Helper()
	rs := redistest.Start(tb)
	pc, err := client.ParseURL(rs.URL(0))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := client.New(client.Config{Pool: pc})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return New(Config{Backend: c, Secret: secret}), rs
}

func TestStoreStates(t *testing.T) {
	s, rs := newStore(t, "s1")
	ctx := t.Context()
	a, _, st, err := s.Begin(ctx, "id", "k", "fp1")
	if err != nil || st != Started {
		t.Fatalf("Begin: %v %v", st, err)
	}
	if _, _, st, _ := s.Begin(ctx, "id", "k", "fp1"); st != InFlight {
		t.Fatalf("duplicate while held: %v, want InFlight", st)
	}
	if _, _, st, _ := s.Begin(ctx, "id", "k", "fp2"); st != Mismatch {
		t.Fatalf("other request while held: %v, want Mismatch", st)
	}
	want := &Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"ok":true}`)}
	if err := a.Complete(ctx, want); err != nil {
		t.Fatal(err)
	}
	_, got, st, err := s.Begin(ctx, "id", "k", "fp1")
	if err != nil || st != Replay || got.Status != 201 || string(got.Body) != `{"ok":true}` || got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("after Complete: %v %v %+v", st, err, got)
	}
	if _, _, st, _ := s.Begin(ctx, "other id", "k", "fp1"); st != Started {
		t.Fatalf("another identity: %v, want Started", st)
	}
	if v := rs.Do(t, "PTTL", s.recKey("id", "k")); v.Int <= 0 || v.Int > 24*3600*1000 {
		t.Fatalf("record PTTL = %d, want up to 24h", v.Int)
	}

	// Release frees the key
	a, _, _, _ = s.Begin(ctx, "id", "free", "fp")
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _, st, _ = s.Begin(ctx, "id", "free", "fp"); st != Started {
		t.Fatalf("after Release: %v, want Started", st)
	}
	// a response too large to keep: the retry learns it ran
	if err := a.Complete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, st, _ := s.Begin(ctx, "id", "free", "fp"); st != Interrupted {
		t.Fatalf("after a response not kept: %v, want Interrupted", st)
	}

	// a gateway with another secret cannot open the records
	other := New(Config{Backend: s.cfg.Backend, Secret: "s2"})
	if _, _, st, _ := other.Begin(ctx, "id", "k", "fp1"); st != Interrupted {
		t.Fatalf("other secret: %v, want Interrupted", st)
	}
}

// TestStoreTakeover: a marker whose owner gave up before taking the run
// key (its SET reached Redis after the owner's timeout) is taken over by a
// later attempt once the lease has passed; one whose owner took the run
// key is interrupted for good.
func TestStoreTakeover(t *testing.T) {
	s, rs := newStore(t, "")
	s.cfg.Lease = 200 * time.Millisecond
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		ranKey bool
		want   State
	}{{"gave up before running", false, Started}, {"may have run", true, Interrupted}} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, st, err := s.Begin(ctx, "id", tc.name, "fp")
			if err != nil || st != Started {
				t.Fatalf("Begin: %v %v", st, err)
			}
			a.Abandon()
			k := s.keys("id", tc.name)
			rs.Do(t, "DEL", k.lease)
			if !tc.ranKey {
				rs.Do(t, "DEL", k.run)
			}
			if _, _, st, _ = s.Begin(ctx, "id", tc.name, "fp"); st != InFlight {
				t.Fatalf("within the lease: %v, want InFlight", st)
			}
			// poll until the marker is older than the lease
			var b *Attempt
			for deadline := time.Now().Add(5 * time.Second); st == InFlight && time.Now().Before(deadline); {
				b, _, st, err = s.Begin(ctx, "id", tc.name, "fp")
			}
			if err != nil || st != tc.want {
				t.Fatalf("after the lease: %v %v, want %v", st, err, tc.want)
			}
			if b != nil {
				if _, _, st, _ := s.Begin(ctx, "id", tc.name, "fp"); st != InFlight {
					t.Fatalf("after the takeover: %v, want InFlight", st)
				}
				b.Abandon()
			}
		})
	}
}

// recKey is the record's Redis key, for tests.
func (s *Store) recKey(identity, key string) string { return s.keys(identity, key).rec }

// TestStoreUncertainRetry: an attempt whose fenced INCR may have run
// (its reply never came) is left uncertain, not stored; the retry takes
// the key over and reads the run key: set, the request ran earlier;
// unset, the retry runs it under a new attempt id.
func TestStoreUncertainRetry(t *testing.T) {
	s, rs := newStore(t, "")
	ctx := t.Context()
	c := s.cfg.Backend.(*client.Client)
	for _, ran := range []bool{true, false} {
		key := fmt.Sprintf("ran %v", ran)
		a, _, st, err := s.BeginFenced(ctx, "id", key, "fp", "gw")
		if err != nil || st != Started || a.Fence() == nil {
			t.Fatalf("BeginFenced: %v %v, fence %v", st, err, a.Fence())
		}
		f := a.Fence()
		if !strings.HasPrefix(f.Key, s.FencePrefix()+"gw:") {
			t.Fatalf("run key %q is not under %sgw:", f.Key, s.FencePrefix())
		}
		if ran {
			if _, err := c.DoRaw(client.WithFence(ctx, f), "INCR", key); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Uncertain(ctx); err != nil {
			t.Fatal(err)
		}
		b, _, st, err := s.BeginFenced(ctx, "id", key, "fp", "gw")
		switch {
		case err != nil:
			t.Fatal(err)
		case ran && st != RanEarlier:
			t.Fatalf("retry after an attempt that ran: %v, want RanEarlier", st)
		case !ran && st != Started:
			t.Fatalf("retry after an attempt that did not run: %v, want Started", st)
		}
		if b.Fence().Key != f.Key || b.Fence().Value == f.Value {
			t.Errorf("retry's fence %v: want the same run key with a new attempt id (was %v)", b.Fence(), f)
		}
		if _, _, st, _ := s.BeginFenced(ctx, "id", key, "fp", "gw"); st != InFlight {
			t.Errorf("a second retry while the first holds the key: %v, want InFlight", st)
		}
		if !ran {
			if _, err := c.DoRaw(client.WithFence(ctx, b.Fence()), "INCR", key); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Complete(ctx, &Response{Status: 200}); err != nil {
			t.Fatal(err)
		}
		if n := string(rs.Do(t, "GET", key).Str); n != "1" {
			t.Errorf("%s = %s; want 1", key, n)
		}
		if _, got, st, _ := s.BeginFenced(ctx, "id", key, "fp", "gw"); st != Replay || got.Status != 200 {
			t.Errorf("after the retry completed: %v, want its response replayed", st)
		}
	}
}

// TestStoreInterruptedRetry: a gateway that stopped in the middle of a
// fenced attempt leaves its marker and run key without a lease; once the
// lease has lapsed a retry takes over and the run key tells whether the
// attempt ran. An unfenced attempt (marked by the Unfenced hook) stays
// Interrupted.
func TestStoreInterruptedRetry(t *testing.T) {
	s, _ := newStore(t, "")
	s.cfg.Lease = 150 * time.Millisecond
	ctx := t.Context()
	c := s.cfg.Backend.(*client.Client)
	for _, tc := range []struct {
		name string
		run  func(f *client.Fence) error
		want State
	}{
		{"ran fenced", func(f *client.Fence) error { _, err := c.DoRaw(client.WithFence(ctx, f), "INCR", "n1"); return err }, RanEarlier},
		{"stopped before running", func(*client.Fence) error { return nil }, Started},
		{"ran unfenced", func(f *client.Fence) error {
			_, err := c.DoRaw(client.WithFence(ctx, f), "BLPOP", "nolist", "0.01")
			return err
		}, Interrupted},
	} {
		a, _, _, err := s.BeginFenced(ctx, "id", tc.name, "fp", "gw")
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.run(a.Fence()); err != nil {
			t.Fatal(err)
		}
		a.Abandon()
		st := InFlight
		for deadline := time.Now().Add(5 * time.Second); st == InFlight && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, _, st, err = s.BeginFenced(ctx, "id", tc.name, "fp", "gw")
		}
		if err != nil || st != tc.want {
			t.Errorf("%s: retry after the lease: %v %v, want %v", tc.name, st, err, tc.want)
		}
	}
}

// TestStoreTwoGateways: two stores (two gateway processes) on one Redis
// share the records: an uncertain attempt of one is taken over by exactly
// one retry among many sent to both at once, and the counter moves once.
func TestStoreTwoGateways(t *testing.T) {
	s1, rs := newStore(t, "shared")
	pc, _ := client.ParseURL(rs.URL(0))
	c2, err := client.New(client.Config{Pool: pc})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s2 := New(Config{Backend: c2, Secret: "shared"})
	ctx := t.Context()
	a, _, _, err := s1.BeginFenced(ctx, "id", "k", "fp", "gw")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Uncertain(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	states := map[State]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			b, _, st, err := s.BeginFenced(ctx, "id", "k", "fp", "gw")
			if err != nil {
				t.Error(err)
				return
			}
			if st == Started {
				v, err := s.cfg.Backend.DoRaw(client.WithFence(ctx, b.Fence()), "INCR", "n")
				if err != nil || v.Int != 1 {
					t.Errorf("the retry that took over: %v %v", v, err)
				}
				_ = b.Complete(ctx, &Response{Status: 200})
			}
			mu.Lock()
			states[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if states[Started] != 1 || states[Started]+states[InFlight]+states[Replay] != 16 {
		t.Errorf("states of 16 concurrent retries: %v; want one Started, the others InFlight or Replay", states)
	}
	if n := string(rs.Do(t, "GET", "n").Str); n != "1" {
		t.Errorf("n = %s; want 1", n)
	}
}
