package client_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// TestAdaptiveAutoPipeline: with AutoPipelineMinBusy, commands one at a
// time never go through the shared connections (no batch is written),
// while many at once are batched; every caller gets its own reply either
// way.
func TestAdaptiveAutoPipeline(t *testing.T) {
	s := redistest.Start(t)
	var batches, batched atomic.Int64
	c := newClient(t, s, 0, func(cfg *client.Config) {
		autoPipelined(cfg)
		cfg.AutoPipelineMinBusy = 2
		cfg.ObserveBatch = func(n int) {
			batches.Add(1)
			batched.Add(int64(n))
		}
	})
	ctx := t.Context()
	for i := range 200 {
		k := fmt.Sprint("seq:", i)
		if _, err := c.DoWithin(ctx, time.Second, "SET", k, k); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Do(ctx, "GET", k); err != nil || string(v.([]byte)) != k {
			t.Fatalf("GET %s: %v %v", k, v, err)
		}
	}
	if n := batches.Load(); n != 0 {
		t.Fatalf("%d batches written for commands sent one at a time", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for batches.Load() == 0 && time.Now().Before(deadline) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					k := fmt.Sprint("par:", g, ":", i)
					if _, err := c.Do(ctx, "SET", k, k); err != nil {
						errs <- err
						return
					}
					v, err := c.DoWithin(context.Background(), time.Second, "GET", k)
					if err != nil || string(v.([]byte)) != k {
						errs <- fmt.Errorf("GET %s: %v %v", k, v, err)
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
	if batches.Load() == 0 {
		t.Fatal("64 goroutines at once never took the shared connections")
	}
	t.Logf("%d batches, %.1f commands each", batches.Load(), float64(batched.Load())/float64(batches.Load()))
}

// TestAdaptiveAutoPipelineVisits: replies visited (DoVisit, the /command
// path) count toward the adaptive bound too, so that traffic of visited
// commands alone is batched under load.
func TestAdaptiveAutoPipelineVisits(t *testing.T) {
	s := redistest.Start(t)
	var batches atomic.Int64
	c := newClient(t, s, 0, func(cfg *client.Config) {
		autoPipelined(cfg)
		cfg.AutoPipelineMinBusy = 2
		cfg.ObserveBatch = func(int) { batches.Add(1) }
	})
	if _, err := c.Do(t.Context(), "SET", "visited", "v"); err != nil {
		t.Fatal(err)
	}
	batches.Store(0)
	deadline := time.Now().Add(10 * time.Second)
	for batches.Load() == 0 && time.Now().Before(deadline) {
		var wg sync.WaitGroup
		var failed atomic.Value
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					var rec countingVisitor
					if err := c.DoVisit(t.Context(), &rec, "GET", "visited"); err != nil || rec.scalars != 1 {
						failed.Store(fmt.Sprint(err, rec.scalars))
						return
					}
				}
			}()
		}
		wg.Wait()
		if f := failed.Load(); f != nil {
			t.Fatalf("DoVisit GET: %v", f)
		}
	}
	if batches.Load() == 0 {
		t.Fatal("64 goroutines visiting replies at once never took the shared connections")
	}
}

// countingVisitor counts the scalars of a reply.
type countingVisitor struct{ scalars int }

func (v *countingVisitor) Scalar(client.Value) error  { v.scalars++; return nil }
func (v *countingVisitor) Begin(resp.Kind, int) error { return nil }
func (v *countingVisitor) End() error                 { return nil }
