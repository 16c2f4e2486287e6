package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestDoWithinTimesOutOnAPausedRedis: a quick command under DoWithin runs
// with a socket deadline and no context timer; a paused Redis still ends
// it at the timeout with context.DeadlineExceeded (outcome unknown: the
// bytes were written), the connection is dropped, and once Redis is back
// the next command answers.
func TestDoWithinTimesOutOnAPausedRedis(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	if _, err := c.DoWithin(t.Context(), time.Second, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	start := time.Now()
	_, err := c.DoWithin(t.Context(), 200*time.Millisecond, "INCR", "n")
	took := time.Since(start)
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrNotSent) {
		t.Fatalf("INCR on a paused Redis: %v; want DeadlineExceeded, not ErrNotSent", err)
	}
	if took < 150*time.Millisecond || took > 3*time.Second {
		t.Fatalf("timed out after %v, want about 200ms", took)
	}
	got, err := c.DoWithin(t.Context(), time.Second, "GET", "k")
	if err != nil || string(got.([]byte)) != "v" {
		t.Fatalf("GET after the pause: %v, %v", got, err)
	}
}

// TestDoWithinBoundsThePoolWait: with every connection taken, a quick
// command waits for one only until its own deadline (not the longer pool
// timeout), and reports it as not sent.
func TestDoWithinBoundsThePoolWait(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, func(cfg *client.Config) {
		cfg.Pool.PoolSize = 1
		cfg.Pool.PoolTimeout = 10 * time.Second
	})
	tx, err := c.Tx(t.Context()) // holds the one connection
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.DoWithin(t.Context(), 150*time.Millisecond, "INCR", "n")
	took := time.Since(start)
	tx.Close()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, client.ErrNotSent) {
		t.Fatalf("INCR with the pool exhausted: %v; want DeadlineExceeded and ErrNotSent", err)
	}
	if took > 5*time.Second {
		t.Fatalf("waited %v: the pool timeout, not the command's deadline, ended the wait", took)
	}
	if v := s.Do(t, "EXISTS", "n"); v.Int != 0 {
		t.Fatal("the INCR reported not sent ran")
	}
}

// TestDoWithinCallerGone: a caller that has already left gets its
// context's error, and nothing is sent.
func TestDoWithinCallerGone(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.DoWithin(ctx, time.Second, "INCR", "gone"); !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrNotSent) {
		t.Fatalf("DoWithin with a cancelled context: %v", err)
	}
	if v := s.Do(t, "EXISTS", "gone"); v.Int != 0 {
		t.Fatal("a command of a caller who had left ran")
	}
}

// TestDoVisitWithinTimesOutOnAPausedRedis: the visiting path (/command)
// under the client's own deadline ends at the timeout too, and the next
// command after the pause gets its own reply.
func TestDoVisitWithinTimesOutOnAPausedRedis(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	if err := c.DoVisitWithin(t.Context(), time.Second, &countingVisitor{}, "PING"); err != nil {
		t.Fatal(err) // a connection, handshaken, before the pause
	}
	s.Pause()
	start := time.Now()
	err := c.DoVisitWithin(t.Context(), 200*time.Millisecond, &countingVisitor{}, "INCR", "n")
	took := time.Since(start)
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrNotSent) {
		t.Fatalf("INCR on a paused Redis: %v; want DeadlineExceeded, not ErrNotSent", err)
	}
	if took < 150*time.Millisecond || took > 3*time.Second {
		t.Fatalf("timed out after %v, want about 200ms", took)
	}
	var rec countingVisitor
	if err := c.DoVisitWithin(t.Context(), time.Second, &rec, "ECHO", "after"); err != nil || rec.scalars != 1 {
		t.Fatalf("ECHO after the pause: %v (%d scalars)", err, rec.scalars)
	}
}
