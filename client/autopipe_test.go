package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

func autoPipelined(cfg *client.Config) {
	cfg.AutoPipeline = true
	cfg.AutoPipelineHealthTimeout = 2 * time.Second
}

// TestAutoPipelineNeverCrossesReplies runs many goroutines, each with its
// own keys and values, many of them cancelling at random moments, and
// checks every reply that arrives is the caller's own.
func TestAutoPipelineNeverCrossesReplies(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, autoPipelined)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 200 {
				key := fmt.Sprintf("ap:%d:%d", g, i)
				val := fmt.Sprintf("value-%d-%d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				if rng.IntN(4) == 0 {
					// Cancel somewhere around the exchange.
					delay := time.Duration(rng.IntN(200)) * time.Microsecond
					go func() {
						time.Sleep(delay)
						cancel()
					}()
				}
				if _, err := c.Do(ctx, "SET", key, val); err != nil && !errors.Is(err, context.Canceled) {
					errs <- fmt.Errorf("SET %s: %w", key, err)
					cancel()
					return
				}
				got, err := c.Do(ctx, "GET", key)
				cancel()
				if errors.Is(err, context.Canceled) {
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("GET %s: %w", key, err)
					return
				}
				if got != nil && string(got.([]byte)) != val {
					errs <- fmt.Errorf("GET %s = %q, want %q: a reply crossed", key, got, val)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every uncancelled exchange landed: spot-check the last keys.
	for g := range 32 {
		key := fmt.Sprintf("ap:%d:199", g)
		if v := s.Do(t, "GET", key); v.Kind != 0 && !v.IsNull() && string(v.Str) != fmt.Sprintf("value-%d-199", g) {
			t.Errorf("%s holds %q", key, v.Str)
		}
	}
}

// TestAutoPipelineRedisErrorsAndSlowReplies: Redis errors come back typed,
// and a caller that gives up on a slow reply does not receive it later
// while the next caller gets its own.
func TestAutoPipelineRedisErrorsAndSlowReplies(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, func(cfg *client.Config) {
		autoPipelined(cfg)
		cfg.AutoPipelineConns = 1
	})
	ctx := t.Context()
	if _, err := c.Do(ctx, "SET", "str", "v"); err != nil {
		t.Fatal(err)
	}
	var re *client.Error
	if _, err := c.Do(ctx, "HGET", "str", "f"); !errors.As(err, &re) || re.Code != "WRONGTYPE" {
		t.Fatalf("HGET on a string: %v, want WRONGTYPE", err)
	}
	// Pause Redis: a short deadline expires, then Redis resumes and the
	// late reply must be dropped, not handed to the next command.
	s.Pause()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := c.Do(short, "GET", "str")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		s.Resume()
		t.Fatalf("GET with Redis paused: %v, want a deadline error", err)
	}
	s.Resume()
	for i := range 20 {
		v, err := c.Do(ctx, "ECHO", fmt.Sprint("echo-", i))
		if err != nil || string(v.([]byte)) != fmt.Sprint("echo-", i) {
			t.Fatalf("ECHO %d after resume: %v %v: a late reply crossed", i, v, err)
		}
	}
}

// TestAutoPipelineRecoversFromRestart: with Redis down commands fail fast
// with a transport error; once it is back they succeed again.
func TestAutoPipelineRecoversFromRestart(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, autoPipelined)
	ctx := t.Context()
	if _, err := c.Do(ctx, "PING"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	start := time.Now()
	for range 4 { // both connections notice, then dials fail
		_, err := c.Do(ctx, "PING")
		if err == nil || !client.IsTransport(err) {
			t.Fatalf("PING with Redis down: %v, want a transport error", err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("failing took %v: commands must fail fast while Redis is down", d)
	}
	s.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Do(ctx, "PING"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Blocking commands bypass the shared connections.
	v, err := c.Do(ctx, "BLPOP", "empty", "0.1")
	if err != nil || v != nil {
		t.Fatalf("BLPOP: %v %v", v, err)
	}
}

// TestAutoPipelineRecoversQuickly: while callers keep sending, Redis is
// down long enough for the dial backoff to reach its bound, then restarted:
// the auto-pipelined path serves again within about that bound (40 ms) of
// Redis answering PING, not after a backoff grown to a second.
func TestAutoPipelineRecoversQuickly(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, autoPipelined)
	if _, err := c.Do(t.Context(), "PING"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan time.Time, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond) // paces the failing calls
		defer tick.Stop()
		for {
			if _, err := c.Do(ctx, "PING"); err == nil {
				served <- time.Now()
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	<-time.After(2500 * time.Millisecond) // the outage: backoff reaches its bound
	s.Restart()                           // returns once Redis answers PING
	up := time.Now()
	var at time.Time
	select {
	case at = <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the auto-pipeline did not recover")
	}
	recovered := max(at.Sub(up), 0)
	t.Logf("auto-pipeline served again %v after Redis answered PING", recovered)
	if recovered > 100*time.Millisecond {
		t.Fatalf("served again %v after Redis answered PING, want within about 50ms", recovered)
	}
}
