package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// stuckValue is larger than what a loopback connection buffers (a send
// buffer of at most 4 MiB here, and a paused reader's window far less),
// so a command carrying it cannot be written whole while Redis is paused.
var stuckValue = strings.Repeat("v", 24<<20)

// pausedClient starts Redis and a client with one pooled connection,
// opens that connection (so that what fails later is a write, not the
// dial), pauses Redis and returns both. Redis resumes when the test ends.
func pausedClient(t *testing.T) (*redistest.Server, *client.Client) {
	t.Helper()
	s := redistest.Start(t)
	c := newClient(t, s, 0, func(cfg *client.Config) { cfg.Pool.PoolSize = 1 })
	if _, err := c.DoRaw(t.Context(), "PING"); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	t.Cleanup(s.Resume)
	return s, c
}

// resumeAndSettle closes c, resumes Redis and waits until Redis has
// dropped every connection but the admin one it answers on: by then it
// has read and run whatever reached it, and nothing more can arrive.
func resumeAndSettle(t *testing.T, s *redistest.Server, c *client.Client) {
	t.Helper()
	c.Close()
	s.Resume()
	settle(t, s)
}

// settle waits until Redis holds no connection but the admin one it
// answers on: it has then run whatever reached it on the others.
func settle(t *testing.T, s *redistest.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		info := string(s.Do(t, "INFO", "clients").Str)
		if strings.Contains(info, "connected_clients:1\r\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis still holds the client's connection:\n%s", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// absent fails the test when any of keys exists in Redis.
func absent(t *testing.T, s *redistest.Server, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if s.Do(t, "EXISTS", k).Int != 0 {
			t.Errorf("%s exists: a command reported not sent ran", k)
		}
	}
}

// TestStuckWriteIsNotSent: a command whose write cannot finish (Redis is
// paused and the socket buffers are full) when its deadline passes never
// reached Redis whole, so it cannot have run: the error matches
// ErrNotSent (503 with Retry-After over HTTP, safe to retry), and after
// Redis resumes, an admin connection shows it did not run. In a pipeline,
// the commands before the stuck one reached Redis and may have run (here
// they did); only the stuck one and those after it are reported not sent.
func TestStuckWriteIsNotSent(t *testing.T) {
	timeout := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	t.Run("Do", func(t *testing.T) {
		s, c := pausedClient(t)
		_, err := c.Do(timeout(t), "SET", "stuck:do", stuckValue)
		if !errors.Is(err, client.ErrNotSent) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SET whose write was stuck at its deadline: %v; want not sent, deadline exceeded", err)
		}
		resumeAndSettle(t, s, c)
		absent(t, s, "stuck:do")
	})
	t.Run("Pipe", func(t *testing.T) {
		s, c := pausedClient(t)
		_, err := c.Pipe(timeout(t), [][]string{{"SET", "stuck:a", "1"}, {"SET", "stuck:b", stuckValue}, {"SET", "stuck:c", "1"}})
		var pe *client.PipelineError
		if !errors.As(err, &pe) || errors.Is(err, client.ErrNotSent) {
			t.Fatalf("pipeline stuck at its second command: %v; want a *PipelineError without ErrNotSent (the first reached Redis)", err)
		}
		if pe.NotSent != 2 || len(pe.Results) != 0 {
			t.Fatalf("NotSent %d, %d results; want the last 2 commands not sent, no reply read", pe.NotSent, len(pe.Results))
		}
		resumeAndSettle(t, s, c)
		if v := s.Do(t, "GET", "stuck:a"); string(v.Str) != "1" {
			t.Errorf("stuck:a = %q; the command that reached Redis whole ran, want 1", v.Str)
		}
		absent(t, s, "stuck:b", "stuck:c")
	})
	t.Run("PipeFirstStuck", func(t *testing.T) {
		s, c := pausedClient(t)
		_, err := c.Pipe(timeout(t), [][]string{{"SET", "stuck:p", stuckValue}, {"SET", "stuck:q", "1"}})
		if !errors.Is(err, client.ErrNotSent) || errors.As(err, new(*client.PipelineError)) {
			t.Fatalf("pipeline stuck at its first command: %v; want not sent, not a *PipelineError", err)
		}
		resumeAndSettle(t, s, c)
		absent(t, s, "stuck:p", "stuck:q")
	})
	t.Run("Transaction", func(t *testing.T) {
		s, c := pausedClient(t)
		_, err := c.Transaction(timeout(t), nil, [][]string{{"SET", "stuck:x", "1"}, {"SET", "stuck:y", stuckValue}})
		if !errors.Is(err, client.ErrNotSent) {
			t.Fatalf("transaction whose EXEC never left: %v; want not sent", err)
		}
		resumeAndSettle(t, s, c)
		absent(t, s, "stuck:x", "stuck:y")
	})
}
