package client_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// fenced returns ctx fenced by a new Fence on key with attempt value.
func fenced(ctx context.Context, key, value string) (context.Context, *client.Fence) {
	f := &client.Fence{Key: key, Value: value, TTL: time.Minute}
	return client.WithFence(ctx, f), f
}

// oneConn is a client whose pool holds one connection, so that every call
// reuses the connection the previous one left.
func oneConn(tb testing.TB, s *redistest.Server, tweak func(*client.Config)) *client.Client {
	return newClient(tb, s, 0, func(c *client.Config) {
		c.Pool.PoolSize = 1
		if tweak != nil {
			tweak(c)
		}
	})
}

// assertClean checks that c's one connection carries no WATCH and no MULTI
// state: an unfenced transaction runs even though K changes first (a
// WATCH left on K would abort it), and CLIENT INFO shows no MULTI.
func assertClean(t *testing.T, s *redistest.Server, c *client.Client, k string) {
	t.Helper()
	ctx := t.Context()
	v, err := c.DoRaw(ctx, "CLIENT", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	if info := string(v.Str); !strings.Contains(info, "multi=-1") {
		t.Errorf("connection left inside MULTI: %s", info)
	}
	tx, err := c.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	s.Do(t, "SET", k, "changed by another client")
	tx.Queue("SET", "clean-check", "1")
	if _, err := tx.Exec(ctx); err != nil {
		t.Errorf("a transaction on the connection after the fenced call: %v (a WATCH on %s was left behind)", err, k)
	}
	s.Do(t, "DEL", k)
}

func TestFenceFreshRun(t *testing.T) {
	s := redistest.Start(t)
	for _, ap := range []bool{false, true} {
		c := oneConn(t, s, func(c *client.Config) { c.AutoPipeline = ap })
		s.Do(t, "FLUSHDB")
		ctx, f := fenced(t.Context(), "K", "a1")
		v, err := c.DoRaw(ctx, "INCR", "n")
		if err != nil || v.Int != 1 {
			t.Fatalf("auto-pipeline %v: fenced INCR = %v, %v; want 1", ap, v, err)
		}
		if !f.Sent() {
			t.Error("Sent is false after the fenced MULTI/EXEC ran")
		}
		if got := string(s.Do(t, "GET", "K").Str); got != "a1" {
			t.Errorf("K = %q, want the attempt id a1", got)
		}
		if ttl := s.Do(t, "PTTL", "K").Int; ttl <= 0 || ttl > 60000 {
			t.Errorf("PTTL K = %d, want within the fence's minute", ttl)
		}
		// replies keep their shapes: Do shapes, DoWithin too
		got, err := c.DoWithin(ctx2(t, "K2", "b"), time.Second, "SET", "s", "x")
		if err != nil || got != true {
			t.Errorf("fenced DoWithin SET = %v, %v; want true", got, err)
		}
		assertClean(t, s, c, "K")
	}
}

func ctx2(t *testing.T, key, value string) context.Context {
	ctx, _ := fenced(t.Context(), key, value)
	return ctx
}

func TestFenceAlreadyRan(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	if _, err := c.DoRaw(ctx2(t, "K", "first"), "INCR", "n"); err != nil {
		t.Fatal(err)
	}
	ctx, f := fenced(t.Context(), "K", "second")
	_, err := c.DoRaw(ctx, "INCR", "n")
	var fe *client.FencedError
	if !errors.As(err, &fe) || !errors.Is(err, client.ErrFenced) || fe.Holder != "first" {
		t.Fatalf("second attempt: %v; want a FencedError naming the first attempt", err)
	}
	if f.Sent() {
		t.Error("Sent is true, but the second attempt wrote no MULTI")
	}
	if n := s.Do(t, "GET", "n").Str; string(n) != "1" {
		t.Errorf("n = %s after two attempts; want 1", n)
	}
	// DoVisit, Pipe and Transaction see it too
	if err := c.DoVisit(ctx, &countVisitor{}, "INCR", "n"); !errors.Is(err, client.ErrFenced) {
		t.Errorf("DoVisit: %v; want ErrFenced", err)
	}
	if _, err := c.Pipe(ctx, [][]string{{"INCR", "n"}}); !errors.Is(err, client.ErrFenced) {
		t.Errorf("Pipe: %v; want ErrFenced", err)
	}
	if _, err := c.Transaction(ctx, []string{"n"}, [][]string{{"INCR", "n"}}); !errors.Is(err, client.ErrFenced) {
		t.Errorf("Transaction: %v; want ErrFenced", err)
	}
	if n := s.Do(t, "GET", "n").Str; string(n) != "1" {
		t.Errorf("n = %s; want 1", n)
	}
	assertClean(t, s, c, "K")
}

// countVisitor counts the scalars it is handed.
type countVisitor struct{ n int }

func (v *countVisitor) Scalar(resp.Value) error    { v.n++; return nil }
func (v *countVisitor) Begin(resp.Kind, int) error { return nil }
func (v *countVisitor) End() error                 { return nil }

// TestFenceExecAbortedByEarlierAttempt: between this attempt's check (K
// absent) and its EXEC, another attempt of the same request runs whole
// (as one that Redis had buffered would): this attempt's EXEC aborts and
// it reports ErrFenced; the counter moved once.
func TestFenceExecAbortedByEarlierAttempt(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	other := oneConn(t, s, nil)
	ctx, f := fenced(t.Context(), "K", "late")
	client.SetAfterCheck(f, func() {
		if _, err := other.DoRaw(ctx2(t, "K", "early"), "INCR", "n"); err != nil {
			t.Errorf("the other attempt: %v", err)
		}
	})
	_, err := c.DoRaw(ctx, "INCR", "n")
	if !errors.Is(err, client.ErrFenced) {
		t.Fatalf("attempt whose EXEC was overtaken: %v; want ErrFenced", err)
	}
	if !f.Sent() {
		t.Error("Sent is false, but MULTI/EXEC was written")
	}
	if n := string(s.Do(t, "GET", "n").Str); n != "1" {
		t.Errorf("n = %s; want 1 (only the early attempt ran)", n)
	}
	if k := string(s.Do(t, "GET", "K").Str); k != "early" {
		t.Errorf("K = %q; want early", k)
	}
	assertClean(t, s, c, "K")
}

// TestFenceBufferedExecRunsFirst: Redis is paused after an attempt's
// check, so its MULTI…EXEC waits in Redis's socket buffer while the
// attempt times out (outcome unknown). Once Redis resumes the buffered
// EXEC runs; the retry then finds K and runs nothing.
func TestFenceBufferedExecRunsFirst(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	fctx, f := fenced(ctx, "K", "paused")
	client.SetAfterCheck(f, s.Pause)
	_, err := c.DoRaw(fctx, "INCR", "n")
	s.Resume()
	if err == nil || errors.Is(err, client.ErrNotSent) || !f.Sent() {
		t.Fatalf("attempt against a paused Redis: %v (sent %v); want a timeout with an unknown outcome", err, f.Sent())
	}
	_, err = c.DoRaw(ctx2(t, "K", "retry"), "INCR", "n")
	var fe *client.FencedError
	if !errors.As(err, &fe) || fe.Holder != "paused" {
		t.Fatalf("retry: %v; want ErrFenced naming the paused attempt", err)
	}
	if n := string(s.Do(t, "GET", "n").Str); n != "1" {
		t.Errorf("n = %s; want 1", n)
	}
}

func TestFencePipeline(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	s.Do(t, "SET", "str", "x")
	ctx, _ := fenced(t.Context(), "K", "p1")
	res, err := c.Pipe(ctx, [][]string{{"INCR", "n"}, {"LPUSH", "str", "v"}, {"INCR", "n"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Value != int64(1) || res[2].Value != int64(2) {
		t.Fatalf("results %+v; want 1, WRONGTYPE, 2", res)
	}
	var re *client.Error
	if !errors.As(res[1].Err, &re) || re.Code != "WRONGTYPE" {
		t.Errorf("LPUSH on a string: %v; want a WRONGTYPE result", res[1].Err)
	}
	// PipeVisit: the same, streamed; a second attempt runs nothing
	err = c.PipeVisit(ctx2(t, "K", "p2"), [][]string{{"INCR", "n"}}, &nopPipe{})
	if !errors.Is(err, client.ErrFenced) {
		t.Errorf("PipeVisit retry: %v; want ErrFenced", err)
	}
	pv := &nopPipe{}
	if err := c.PipeVisit(ctx2(t, "K3", "p3"), [][]string{{"INCR", "n"}, {"GET", "str"}}, pv); err != nil || pv.done != 2 {
		t.Errorf("fenced PipeVisit: %v, %d replies; want 2", err, pv.done)
	}
	if n := string(s.Do(t, "GET", "n").Str); n != "3" {
		t.Errorf("n = %s; want 3", n)
	}
	assertClean(t, s, c, "K")
}

// TestPipeVisitObservesErrorReplies: Config.Observe gets each command of
// a PipeVisit once, with its error reply, fenced or not (the fenced path
// used to record every command as succeeded).
func TestPipeVisitObservesErrorReplies(t *testing.T) {
	s := redistest.Start(t)
	var mu sync.Mutex
	seen := map[string][]error{}
	c := oneConn(t, s, func(cfg *client.Config) {
		cfg.Observe = func(cmd string, _ time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			seen[cmd] = append(seen[cmd], err)
		}
	})
	s.Do(t, "SET", "str", "x")
	cmds := [][]string{{"INCR", "n"}, {"LPUSH", "str", "v"}, {"GET", "str"}}
	for name, ctx := range map[string]context.Context{"unfenced": t.Context(), "fenced": ctx2(t, "K", "obs")} {
		clear(seen)
		pv := &nopPipe{}
		if err := c.PipeVisit(ctx, cmds, pv); err != nil || pv.done != 3 {
			t.Fatalf("%s PipeVisit: %v, %d replies; want 3", name, err, pv.done)
		}
		mu.Lock()
		for _, cmd := range []string{"INCR", "LPUSH", "GET"} {
			errs := seen[cmd]
			if len(errs) != 1 {
				t.Errorf("%s: %s observed %d times; want once", name, cmd, len(errs))
				continue
			}
			var re *client.Error
			if wrong := errors.As(errs[0], &re) && re.Code == "WRONGTYPE"; wrong != (cmd == "LPUSH") {
				t.Errorf("%s: %s observed with %v", name, cmd, errs[0])
			}
		}
		mu.Unlock()
	}
	if n := string(s.Do(t, "GET", "n").Str); n != "2" {
		t.Errorf("n = %s; want 2 (each PipeVisit ran once)", n)
	}
}

// nopPipe counts the replies of a PipeVisit.
type nopPipe struct{ done int }

func (p *nopPipe) Reply(int) client.Visitor      { return &countVisitor{} }
func (p *nopPipe) Done(int, client.Result) error { p.done++; return nil }

// TestFenceTransactionAborts tells a user's WATCH abort (ErrTxAborted,
// nothing ran, K unset) from the fence's (ErrFenced).
func TestFenceTransactionAborts(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	other := oneConn(t, s, nil)

	ctx, f := fenced(t.Context(), "K", "t1")
	client.SetAfterCheck(f, func() { s.Do(t, "SET", "w", "changed") })
	_, err := c.Transaction(ctx, []string{"w"}, [][]string{{"INCR", "n"}})
	if !errors.Is(err, client.ErrTxAborted) || errors.Is(err, client.ErrFenced) {
		t.Fatalf("user's watched key changed: %v; want ErrTxAborted", err)
	}
	if s.Do(t, "EXISTS", "K").Int != 0 || s.Do(t, "EXISTS", "n").Int != 0 {
		t.Error("the aborted transaction left K or n set")
	}
	assertClean(t, s, c, "K")

	ctx, f = fenced(t.Context(), "K", "t2")
	client.SetAfterCheck(f, func() {
		if _, err := other.DoRaw(ctx2(t, "K", "t0"), "INCR", "n"); err != nil {
			t.Errorf("the other attempt: %v", err)
		}
	})
	_, err = c.Transaction(ctx, []string{"w"}, [][]string{{"INCR", "n"}})
	var fe *client.FencedError
	if !errors.As(err, &fe) || fe.Holder != "t0" {
		t.Fatalf("fence changed: %v; want ErrFenced naming t0", err)
	}
	// both changed: the request ran earlier, which is what the caller must hear
	ctx, f = fenced(t.Context(), "K", "t3")
	client.SetAfterCheck(f, func() {
		s.Do(t, "SET", "w", "again")
		s.Do(t, "SET", "K", "t-other")
	})
	if _, err := c.Transaction(ctx, []string{"w"}, [][]string{{"INCR", "n"}}); !errors.Is(err, client.ErrFenced) {
		t.Errorf("both changed: %v; want ErrFenced", err)
	}
	// a fresh fenced transaction runs, and its WATCH still guards
	res, err := c.Transaction(ctx2(t, "K4", "t4"), []string{"w"}, [][]string{{"INCR", "n"}, {"GET", "w"}})
	if err != nil || len(res) != 2 || res[0].Value != int64(2) {
		t.Errorf("fenced transaction: %+v, %v; want n = 2", res, err)
	}
	if n := string(s.Do(t, "GET", "n").Str); n != "2" {
		t.Errorf("n = %s; want 2", n)
	}
	assertClean(t, s, c, "K4")
}

// TestFenceQueueTimeError: a command Redis refuses when queued (wrong
// arity) is answered with its own error reply, as unfenced, and nothing
// ran: K stays unset.
func TestFenceQueueTimeError(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	ctx, _ := fenced(t.Context(), "K", "q1")
	v, err := c.DoRaw(ctx, "INCR")
	var re *client.Error
	if !errors.As(err, &re) || re.Code != "ERR" || !strings.Contains(re.Msg, "wrong number of arguments") || !v.IsError() {
		t.Fatalf("fenced INCR without a key: %v, %v; want Redis's arity error", v, err)
	}
	_, err = c.Pipe(ctx, [][]string{{"INCR", "n"}, {"INCR"}})
	var te *client.TxError
	if !errors.As(err, &te) || te.Err.Code != "EXECABORT" || te.Results[1].Err == nil || te.Results[0].Err != nil {
		t.Fatalf("fenced pipeline with a refused command: %v; want a TxError naming command 1", err)
	}
	if s.Do(t, "EXISTS", "K").Int != 0 || s.Do(t, "EXISTS", "n").Int != 0 {
		t.Error("a discarded transaction set K or n")
	}
	assertClean(t, s, c, "K")
}

// TestFenceBlockingUnfenced: a blocking command runs unfenced, after the
// Unfenced hook; a failing hook keeps it from being sent.
func TestFenceBlockingUnfenced(t *testing.T) {
	s := redistest.Start(t)
	c := oneConn(t, s, nil)
	s.Do(t, "RPUSH", "l", "a", "b")
	calls := 0
	f := &client.Fence{Key: "K", Value: "b1", TTL: time.Minute, Unfenced: func(context.Context) error { calls++; return nil }}
	v, err := c.DoRaw(client.WithFence(t.Context(), f), "BLPOP", "l", "1")
	if err != nil || len(v.Elems) != 2 || calls != 1 || f.Sent() {
		t.Fatalf("fenced BLPOP: %v, %v, hook calls %d, sent %v; want it run unfenced after one hook call", v, err, calls, f.Sent())
	}
	if s.Do(t, "EXISTS", "K").Int != 0 {
		t.Error("an unfenced command set K")
	}
	f.Unfenced = func(context.Context) error { return errors.New("store down") }
	_, err = c.DoRaw(client.WithFence(t.Context(), f), "BLPOP", "l", "1")
	if !errors.Is(err, client.ErrNotSent) {
		t.Fatalf("BLPOP whose hook failed: %v; want not sent", err)
	}
	if n := s.Do(t, "LLEN", "l").Int; n != 1 {
		t.Errorf("LLEN l = %d; want 1 (the second BLPOP did not run)", n)
	}
}
