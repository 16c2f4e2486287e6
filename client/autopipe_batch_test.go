package client

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/faultproxy"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/pool"
)

// batchCounter is an ObserveBatch hook that keeps the flushes and the
// commands written.
type batchCounter struct{ flushes, commands atomic.Int64 }

func (b *batchCounter) observe(n int) { b.flushes.Add(1); b.commands.Add(int64(n)) }

// TestAutoPipelineBatches runs many concurrent Do calls on one shared
// connection and checks that the writer gathers them: more than one
// command per flush on average, as ObserveBatch reports.
func TestAutoPipelineBatches(t *testing.T) {
	s := redistest.Start(t)
	pc, err := ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	var bc batchCounter
	c, err := New(Config{Pool: pc, AutoPipeline: true, AutoPipelineConns: 1, ObserveBatch: bc.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	const goroutines, each = 64, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := c.Do(t.Context(), "INCR", "ap:batch"); err != nil {
					errs <- err
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
	flushes, commands := bc.flushes.Load(), bc.commands.Load()
	if commands != goroutines*each {
		t.Fatalf("ObserveBatch saw %d commands, want %d", commands, goroutines*each)
	}
	if mean := float64(commands) / float64(flushes); mean <= 1.5 {
		t.Fatalf("%d commands in %d flushes: got mean batch %.2f, want > 1.5", commands, flushes, mean)
	}
	t.Logf("%d commands in %d flushes (mean %.1f)", commands, flushes, float64(commands)/float64(flushes))
}

// TestAutoPipelineDropsGoneCallers queues a SET whose caller has already
// given up (and returned not_sent) ahead of a live command, and checks
// that the SET never reaches Redis, while the live one runs.
func TestAutoPipelineDropsGoneCallers(t *testing.T) {
	s := redistest.Start(t)
	p := testPool(t, s)
	var bc batchCounter
	ap := newAutoPipe(p, 1, 2*time.Second, func(string, error) {})
	ap.observeBatch(bc.observe)
	t.Cleanup(ap.close)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	gone := &apRequest{args: []string{"SET", "ap:gone", "x"}, done: make(chan apResult, 1)}
	gone.state.Store(apAbandoned) // what a caller whose ctx ended does
	ap.conns[0].queue <- gone
	if _, err := ap.do(t.Context(), []string{"SET", "ap:live", "y"}); err != nil {
		t.Fatalf("SET ap:live: %v", err)
	}
	if len(gone.done) != 0 {
		t.Fatal("the abandoned SET got a result: it was handled as written")
	}
	v, err := ap.do(t.Context(), []string{"EXISTS", "ap:gone", "ap:live"})
	if err != nil || v.Int != 1 {
		t.Fatalf("EXISTS ap:gone ap:live: got %d, %v, want 1 (only the live SET ran)", v.Int, err)
	}
	if got := bc.commands.Load(); got != 2 {
		t.Fatalf("ObserveBatch saw %d commands written, want 2 (live SET, EXISTS)", got)
	}
	// A caller whose ctx is already done never queues at all.
	if _, err := ap.do(ctx, []string{"SET", "ap:gone", "x"}); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNotSent) {
		t.Fatalf("do with a cancelled ctx: got %v, want context.Canceled", err)
	}
}

// TestAutoPipelineOneBatchInFlight: while the replies to a write are
// outstanding, commands that arrive one by one wait for them and are then
// written together, in one flush (before, each was written as the writer
// woke for it: ten flushes of one behind a slow reply). Every caller gets
// its own reply.
func TestAutoPipelineOneBatchInFlight(t *testing.T) {
	s := redistest.Start(t)
	p := testPool(t, s)
	var mu sync.Mutex
	var batches []int
	ap := newAutoPipe(p, 1, 5*time.Second, func(string, error) {})
	ap.observeBatch(func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() })
	t.Cleanup(ap.close)
	if _, err := ap.do(t.Context(), []string{"PING"}); err != nil { // dials
		t.Fatal(err)
	}
	mu.Lock()
	batches = nil
	mu.Unlock()

	s.Pause() // the first command's reply is outstanding until Resume
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v, err := ap.do(context.Background(), []string{"ECHO", "first"})
		if err == nil && string(v.Str) != "first" {
			err = errors.New("ECHO first got " + string(v.Str))
		}
		errs <- err
	}()
	time.Sleep(30 * time.Millisecond)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ap.do(context.Background(), []string{"INCR", "ap:waited"})
			errs <- err
		}()
		time.Sleep(5 * time.Millisecond)
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
	if v := s.Do(t, "GET", "ap:waited"); string(v.Str) != "10" {
		t.Fatalf("ap:waited = %q, want 10", v.Str)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || batches[0] != 1 || batches[1] != 10 {
		t.Fatalf("flushes of %v commands, want [1 10]: the ten that arrived behind an outstanding reply must travel together", batches)
	}
}

// TestAutoPipelineWaitingCommandSurvivesDeadConnection: a command waiting
// for the batch in flight when the connection is declared dead (no reply
// within the health timeout) was never written, so it runs on the next
// connection and gets its own reply; the written one fails.
func TestAutoPipelineWaitingCommandSurvivesDeadConnection(t *testing.T) {
	s, ap := pausedAutoPipe(t)
	first := make(chan error, 1)
	go func() {
		_, err := ap.do(context.Background(), []string{"ECHO", "written"})
		first <- err
	}()
	time.Sleep(30 * time.Millisecond)
	second := make(chan error, 1)
	go func() {
		v, err := ap.do(context.Background(), []string{"INCR", "ap:carried"})
		if err == nil && v.Int != 1 {
			err = errors.New("INCR ap:carried: not its own reply")
		}
		second <- err
	}()
	if err := <-first; err == nil {
		t.Fatal("the command written on the connection declared dead succeeded")
	}
	time.Sleep(50 * time.Millisecond) // the writer dials again; Redis still paused
	s.Resume()
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("the command that waited, never written: %v; want it run on the next connection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command that waited never got a reply")
	}
	if v := s.Do(t, "GET", "ap:carried"); string(v.Str) != "1" {
		t.Fatalf("ap:carried = %q, want 1 (run once)", v.Str)
	}
}

// pausedAutoPipe starts Redis and one shared connection with a health
// timeout of 300 ms, dials it (PING), and pauses Redis, which resumes
// when the test ends if the test has not resumed it.
func pausedAutoPipe(t *testing.T) (*redistest.Server, *autoPipe) {
	t.Helper()
	s := redistest.Start(t)
	ap := newAutoPipe(testPool(t, s), 1, 300*time.Millisecond, func(string, error) {})
	t.Cleanup(ap.close)
	if _, err := ap.do(t.Context(), []string{"PING"}); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	t.Cleanup(s.Resume)
	return s, ap
}

// testPool returns a pool over s's database 0, closed with the test.
func testPool(t *testing.T, s *redistest.Server) *pool.Pool {
	t.Helper()
	pc, err := pool.ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestAutoPipelineStuckWriteFailsAsNotSent: a write that a paused Redis
// leaves unfinished fails within the health timeout (the connection is
// declared dead, as when a reply does not come), and its command, whose
// last byte never left, is reported not sent. Without a write deadline
// the writer stayed blocked until Redis came back.
func TestAutoPipelineStuckWriteFailsAsNotSent(t *testing.T) {
	s, ap := pausedAutoPipe(t)
	big := strings.Repeat("v", 24<<20) // more than the socket buffers hold
	res := make(chan error, 1)
	go func() {
		_, err := ap.do(context.Background(), []string{"SET", "ap:stuck", big})
		res <- err
	}()
	select {
	case err := <-res:
		if !errors.Is(err, ErrNotSent) {
			t.Fatalf("SET whose write was stuck: %v; want not sent", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck write never failed: the shared connection is held until Redis resumes")
	}
	s.Resume()
	if v, err := ap.do(t.Context(), []string{"EXISTS", "ap:stuck"}); err != nil || v.Int != 0 {
		t.Fatalf("EXISTS ap:stuck after Redis resumed: %v %v; want 0 on a new connection", v.Int, err)
	}
}

// TestAutoPipelineWriteCutMidwayReportsNotSent: concurrent SETs of 8 MiB
// share one auto-pipelined connection, whose write the proxy cuts after
// 1 MiB (client side reset). Every SET reported not sent is absent from
// Redis, every acknowledged one is there, and at least one (the command
// being written at the cut, whose last byte never left) is reported not
// sent rather than "may have run".
func TestAutoPipelineWriteCutMidwayReportsNotSent(t *testing.T) {
	s := redistest.Start(t)
	p, err := faultproxy.Start(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pc, err := pool.ParseURL("redis://" + p.Addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pool.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	// newAutoPipe itself: the client sends commands this big to the pool
	ap := newAutoPipe(pl, 1, 5*time.Second, func(string, error) {})
	t.Cleanup(ap.close)
	ctx := t.Context()
	if _, err := ap.do(ctx, []string{"PING"}); err != nil {
		t.Fatal(err)
	}
	val := strings.Repeat("v", 8<<20)
	p.CutRequestAfter(1 << 20)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ap.do(ctx, []string{"SET", "apcut:" + strconv.Itoa(i), val})
		}()
	}
	wg.Wait()
	unsent := 0
	for i, err := range errs {
		k := "apcut:" + strconv.Itoa(i)
		exists := s.Do(t, "EXISTS", k).Int == 1
		switch {
		case err == nil && !exists:
			t.Errorf("SET %s acknowledged but absent", k)
		case errors.Is(err, ErrNotSent):
			unsent++
			if exists {
				t.Errorf("SET %s reported not sent, but it ran", k)
			}
		}
	}
	if unsent == 0 {
		t.Fatalf("no SET reported not sent: %v; want the one cut midway (its last byte never left)", errs)
	}
	if _, _, cuts := p.Stats(); cuts != 1 {
		t.Fatalf("proxy cuts = %d; want 1", cuts)
	}
}

// TestAutoPipelinePicksTheFirstConnectionFirst: commands go to the first
// shared connection until apSpill wait in its queue, then to the one with
// the shortest queue, so that batches grow as big as the load allows and
// what waits behind a slow reply stays bounded.
func TestAutoPipelinePicksTheFirstConnectionFirst(t *testing.T) {
	ap := &autoPipe{}
	for range 3 {
		ap.conns = append(ap.conns, &apConn{queue: make(chan *apRequest, 4*apSpill)})
	}
	fill := func(c *apConn, n int) {
		for range n {
			c.queue <- &apRequest{}
		}
	}
	steps := []struct {
		conn, add int // add commands to the queue of conns[conn]
		want      int // the connection picked next
	}{
		{0, apSpill - 1, 0}, // below the bound: the first
		{0, 1, 1},           // at it: the shortest other queue (1 and 2 tie: the first of them)
		{1, apSpill + 1, 2}, // 1 holds more than 0: 2 (empty)
		{2, 2 * apSpill, 0}, // every other queue longer than the first's: the first
	}
	for i, s := range steps {
		fill(ap.conns[s.conn], s.add)
		if got := ap.pick(); got != ap.conns[s.want] {
			for j, c := range ap.conns {
				if c == got {
					t.Errorf("step %d: picked connection %d, want %d", i, j, s.want)
				}
			}
		}
	}
}

// TestAutoPipelineGoneCallerNeverQueues: a caller whose context has ended
// before it calls gets ErrNotSent and its command never reaches Redis
// (checked over the test's own connection: the counter never moved),
// while the shared connections keep serving the next caller.
func TestAutoPipelineGoneCallerNeverQueues(t *testing.T) {
	s := redistest.Start(t)
	c := alwaysShared(t, s)
	incr := []string{"INCR", "gone:n"}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 200 {
		if _, err := c.doRaw(ctx, incr, true, time.Time{}); !errors.Is(err, ErrNotSent) {
			t.Fatalf("INCR with an ended context: %v, want an error matching ErrNotSent", err)
		}
	}
	if v := s.Do(t, "EXISTS", "gone:n"); v.Int != 0 {
		t.Fatalf("the counter exists (%v): a command whose caller had gone was sent", v)
	}
	v, err := c.doRaw(t.Context(), incr, true, time.Time{})
	if err != nil || v.Int != 1 {
		t.Fatalf("INCR after them: %v, %v; want 1", v, err)
	}
}
