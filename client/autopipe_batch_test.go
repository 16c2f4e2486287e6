package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	pc, err := pool.ParseURL(s.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
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
