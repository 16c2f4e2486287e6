package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestAdaptiveCountsSharedCommands: commands waiting on the shared
// connections count toward AutoPipelineMinBusy, so that while they are in
// flight the next quick command joins them instead of taking a pooled
// connection of its own. (Counting pooled commands alone sent every
// command that arrived while the pooled connections were empty back to
// the pool, and under HTTP load at c=50 a fifth of the GETs went pooled.)
func TestAdaptiveCountsSharedCommands(t *testing.T) {
	s := redistest.Start(t)
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Pool: pc, AutoPipeline: true, AutoPipelineMinBusy: 2, AutoPipelineHealthTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	get := []string{"GET", "k"}
	// Dial both shared connections before Redis stops answering.
	for range 2 {
		if _, err := c.doRaw(t.Context(), get, true, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if c.shared(get) {
		t.Fatal("an idle client sends GET over the shared connections")
	}

	s.Pause()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.doRaw(context.Background(), get, true, time.Now().Add(5*time.Second))
			errs <- err
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for !c.shared(get) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	joined := c.shared(get)
	s.Resume()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("GET on the shared connections: %v", err)
		}
	}
	if !joined {
		t.Fatal("with 3 commands waiting on the shared connections (bound 2), a GET would take a pooled connection")
	}
	if n := c.busy.Load(); n != 0 {
		t.Fatalf("%d commands counted in flight after every one returned", n)
	}
}

// TestAutoPipelineDeadlineOnAPausedRedis: a shared command's own deadline
// (DoWithin, with the recycled timer rather than a context) ends its wait
// on a Redis that does not answer: context.DeadlineExceeded, not
// ErrNotSent (it was written); its late reply is dropped, so the next
// command after the pause gets its own.
func TestAutoPipelineDeadlineOnAPausedRedis(t *testing.T) {
	s := redistest.Start(t)
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Pool: pc, AutoPipeline: true, AutoPipelineConns: 1, AutoPipelineHealthTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.DoWithin(t.Context(), time.Second, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	start := time.Now()
	_, err = c.DoWithin(t.Context(), 200*time.Millisecond, "INCR", "n")
	took := time.Since(start)
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotSent) {
		t.Fatalf("INCR on a paused Redis: %v; want DeadlineExceeded, not ErrNotSent", err)
	}
	if took < 150*time.Millisecond || took > 3*time.Second {
		t.Fatalf("timed out after %v, want about 200ms", took)
	}
	got, err := c.DoWithin(t.Context(), time.Second, "GET", "k")
	if err != nil || string(got.([]byte)) != "v" {
		t.Fatalf("GET after the pause: %q, %v; want the GET's own reply", got, err)
	}
	// An expired deadline never queues the command.
	if _, err := c.ap.doUntil(t.Context(), []string{"SET", "late", "x"}, time.Now().Add(-time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNotSent) {
		t.Fatalf("doUntil past its deadline: %v; want DeadlineExceeded and ErrNotSent", err)
	}
	if v := s.Do(t, "EXISTS", "late"); v.Int != 0 {
		t.Fatal("a command whose deadline had passed ran")
	}
}

// TestAutoPipelineRecycledTimersDoNotFire: deadlines that expire and
// deadlines that do not, on recycled timers and requests from many
// goroutines: a command that is answered in time is never reported timed
// out by a timer left over from another, and every reply is the caller's.
func TestAutoPipelineRecycledTimersDoNotFire(t *testing.T) {
	s := redistest.Start(t)
	c := alwaysShared(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if g%4 == 0 {
					// a deadline that passes before the reply can come
					_, _ = c.DoWithin(t.Context(), time.Nanosecond, "PING")
					continue
				}
				want := string(rune('a'+g)) + string(rune('a'+i%26))
				got, err := c.DoWithin(t.Context(), 2*time.Second, "ECHO", want)
				if err != nil {
					errs <- err
					return
				}
				if string(got.([]byte)) != want {
					errs <- errors.New("ECHO " + want + " got " + string(got.([]byte)) + ": a reply crossed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestAdaptiveJoinsWhileBatching: after a batch of at least
// AutoPipelineMinBusy commands, a command joins the shared connections
// even when none is in flight at that moment (the lull just after a
// batch's replies came back, when counting alone sent commands back to
// the pool); apSticky small batches in a row end it, one does not.
func TestAdaptiveJoinsWhileBatching(t *testing.T) {
	s := redistest.Start(t)
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var batches []int
	c, err := New(Config{Pool: pc, AutoPipeline: true, AutoPipelineConns: 1, AutoPipelineMinBusy: 3,
		AutoPipelineHealthTimeout: 5 * time.Second,
		ObserveBatch:              func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	get := []string{"GET", "k"}
	if _, err := c.doRaw(t.Context(), get, true, time.Time{}); err != nil { // dials
		t.Fatal(err)
	}
	if c.shared(get) {
		t.Fatal("after a batch of one, an idle client sends GET over the shared connections")
	}

	// One command in flight on a paused Redis, four behind it: they are
	// written together once its reply comes.
	s.Pause()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.doRaw(context.Background(), get, true, time.Time{})
			errs <- err
		}()
		if i == 0 {
			time.Sleep(30 * time.Millisecond)
		}
	}
	time.Sleep(30 * time.Millisecond)
	s.Resume()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	last := batches[len(batches)-1]
	mu.Unlock()
	if last != 4 {
		t.Fatalf("batches %v: want the four that waited written together", batches)
	}
	if n := c.busy.Load(); n != 0 {
		t.Fatalf("%d commands counted in flight", n)
	}
	if !c.shared(get) {
		t.Fatal("right after a batch of 4 (bound 3), a GET would take a pooled connection")
	}
	// A steady load writes a small batch now and then: fewer than
	// apSticky of them in a row keep the client batching.
	for i := range apSticky {
		if _, err := c.doRaw(t.Context(), get, true, time.Time{}); err != nil { // a batch of one
			t.Fatal(err)
		}
		if i < apSticky-1 && !c.shared(get) {
			t.Fatalf("after %d batches of one following a batch of 4, a GET would take a pooled connection", i+1)
		}
	}
	if c.shared(get) {
		t.Fatalf("after %d batches of one, an idle client still sends GET over the shared connections", apSticky)
	}
}

// TestStickyLast: the size batching compares rises with any bigger batch
// and falls to the current size only after apSticky smaller batches in a
// row; a batch at least as big in between starts the count again.
func TestStickyLast(t *testing.T) {
	var last atomic.Int32
	small := 0
	record := func(n int32) int32 { stickyLast(&last, &small, n); return last.Load() }
	if got := record(14); got != 14 {
		t.Fatalf("after a batch of 14: %d", got)
	}
	for i := range apSticky - 1 {
		if got := record(2); got != 14 {
			t.Fatalf("after %d batches of 2: %d, want 14 still", i+1, got)
		}
	}
	if got := record(14); got != 14 { // as big: the count starts again
		t.Fatalf("after a second batch of 14: %d", got)
	}
	for range apSticky - 1 {
		record(1)
	}
	if got := record(3); got != 3 {
		t.Fatalf("after %d smaller batches in a row: %d, want 3 (the last one's size)", apSticky, got)
	}
	if got := record(20); got != 20 {
		t.Fatalf("after a batch of 20: %d", got)
	}
}

// TestFencedSharedCommandKeepsItsTimeout: a fenced command (WithFence)
// runs on a pooled connection even when it would have taken the shared
// ones; the deadline DoWithin gave the shared wait bounds it there too,
// so on a paused Redis it ends at its timeout, not when Redis comes back.
func TestFencedSharedCommandKeepsItsTimeout(t *testing.T) {
	s := redistest.Start(t)
	c := alwaysShared(t, s)
	ctx := WithFence(t.Context(), &Fence{Key: "fence:k", Value: "a1", TTL: time.Minute})
	if !c.shared([]string{"INCR", "n"}) {
		t.Fatal("the always-shared client would not send INCR over the shared connections")
	}
	if _, err := c.DoWithin(t.Context(), time.Second, "PING"); err != nil {
		t.Fatal(err)
	}
	// a fenced command of another request leaves a pooled connection
	// idle, so the one under test is written rather than stuck dialling
	// (a handshake with a paused Redis times out with its own error)
	warm := WithFence(t.Context(), &Fence{Key: "fence:warm", Value: "w1", TTL: time.Minute})
	if _, err := c.DoWithin(warm, time.Second, "INCR", "warm"); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	resumed := time.AfterFunc(4*time.Second, s.Resume)
	defer resumed.Stop()
	start := time.Now()
	_, err := c.DoWithin(ctx, 200*time.Millisecond, "INCR", "n")
	took := time.Since(start)
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fenced INCR on a paused Redis: %v; want DeadlineExceeded", err)
	}
	if took > 2*time.Second {
		t.Fatalf("fenced INCR ended after %v, want about 200ms: it ran without its timeout", took)
	}
}

// alwaysShared returns a client of s's database 0 whose single commands
// always take the auto-pipelined connections (no adaptive bound).
func alwaysShared(t *testing.T, s *redistest.Server) *Client {
	t.Helper()
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Pool: pc, AutoPipeline: true, AutoPipelineHealthTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBigCommandsTakeThePool: a command with more argument bytes than one
// batch may carry (apBytes) takes a pooled connection even when every
// command shares (minimum busy 0): its write alone would hold up the
// commands queued behind it. One byte less still shares.
func TestBigCommandsTakeThePool(t *testing.T) {
	s := redistest.Start(t)
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	var batches atomic.Int64
	c, err := New(Config{Pool: pc, AutoPipeline: true, ObserveBatch: func(int) { batches.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key := "big"
	fits := strings.Repeat("v", apBytes-len("SET")-len(key))
	for _, tc := range []struct {
		val    string
		shared bool
	}{{fits, true}, {fits + "v", false}} {
		before := batches.Load()
		if _, err := c.Do(t.Context(), "SET", key, tc.val); err != nil {
			t.Fatal(err)
		}
		if shared := batches.Load() > before; shared != tc.shared {
			t.Errorf("SET of %d argument bytes: shared %v, want %v", argBytes([]string{"SET", key, tc.val}), shared, tc.shared)
		}
		if n := s.Do(t, "STRLEN", key).Int; n != int64(len(tc.val)) {
			t.Errorf("STRLEN %d, want %d", n, len(tc.val))
		}
	}
}
