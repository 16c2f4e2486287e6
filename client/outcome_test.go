package client_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/faultproxy"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestNotSentCommandsNeverRun sends INCRs whose contexts are cancelled
// before or around the exchange, in both modes, and checks the outcome the
// client reports: no INCR reported as not sent (errors.Is ErrNotSent) ran,
// so the counter lies between the acknowledged INCRs and those plus the
// ones whose outcome is unknown.
func TestNotSentCommandsNeverRun(t *testing.T) {
	s := redistest.Start(t)
	cases := []struct {
		name  string
		tweak func(*client.Config)
	}{
		{name: "Pooled"},
		{name: "AutoPipelined", tweak: autoPipelined},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, s, 0, tc.tweak)
			key := "outcome:" + strconv.Itoa(i)
			var mu sync.Mutex
			var acked, unsent, unknown int
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range 100 {
						ctx, cancel := context.WithCancel(t.Context())
						if (g+n)%2 == 0 {
							cancel() // gone before the command is sent
						}
						_, err := c.Do(ctx, "INCR", key)
						cancel()
						mu.Lock()
						switch {
						case err == nil:
							acked++
						case errors.Is(err, client.ErrNotSent):
							unsent++
						default:
							unknown++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			got, err := c.Do(t.Context(), "GET", key)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if got != nil {
				n, _ = strconv.Atoi(string(got.([]byte)))
			}
			if n < acked || n > acked+unknown {
				t.Fatalf("counter %d, want between %d acknowledged and %d (+%d unknown); %d not sent", n, acked, acked+unknown, unknown, unsent)
			}
			if unsent == 0 {
				t.Fatalf("no command with a cancelled context was reported not sent (%d acked, %d unknown)", acked, unknown)
			}
		})
	}
}

// TestUnreachableRedisIsNotSent checks that a command against a Redis that
// is down fails with ErrNotSent in both modes (a dial failure sends
// nothing), which the HTTP layer turns into a retryable 503.
func TestUnreachableRedisIsNotSent(t *testing.T) {
	cases := []struct {
		name  string
		tweak func(*client.Config)
	}{
		{name: "Pooled"},
		{name: "AutoPipelined", tweak: autoPipelined},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := redistest.Start(t)
			c := newClient(t, s, 0, tc.tweak)
			s.Stop()
			_, err := c.Do(t.Context(), "INCR", "k")
			if !errors.Is(err, client.ErrNotSent) {
				t.Fatalf("INCR with Redis down: %v, want ErrNotSent", err)
			}
			if _, err := c.Pipe(t.Context(), [][]string{{"INCR", "k"}}); !errors.Is(err, client.ErrNotSent) {
				t.Fatalf("pipeline with Redis down: %v, want ErrNotSent", err)
			}
			if _, err := c.Transaction(t.Context(), nil, [][]string{{"INCR", "k"}}); !errors.Is(err, client.ErrNotSent) {
				t.Fatalf("transaction with Redis down: %v, want ErrNotSent", err)
			}
		})
	}
}

// TestPipelineCutMidwayReportsWhatRan: when the connection dies after some
// replies of a pipeline were read, the error is a *PipelineError holding
// those replies (those commands ran) and does not match ErrNotSent.
func TestPipelineCutMidwayReportsWhatRan(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	// CLIENT KILL … SKIPME no closes this connection after its reply: the
	// third command never runs.
	_, err := c.Pipe(t.Context(), [][]string{{"INCR", "cut"}, {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"}, {"INCR", "cut"}})
	var pe *client.PipelineError
	if !errors.As(err, &pe) || errors.Is(err, client.ErrNotSent) {
		t.Fatalf("pipeline cut midway: %v, want a *PipelineError without ErrNotSent", err)
	}
	if len(pe.Results) != 2 || pe.Results[0].Value != int64(1) {
		t.Fatalf("results %+v, want the 2 replies read before the cut, INCR → 1", pe.Results)
	}
	if v := s.Do(t, "GET", "cut"); string(v.Str) != "1" {
		t.Fatalf("counter %q, want 1: only the commands reported ran", v.Str)
	}
}

// TestPipelineWriteCutMidwayMayHaveRun: when the connection breaks while a
// pipeline is still being written, the commands that reached Redis ran and
// the rest did not. The error is a *PipelineError that does not match
// ErrNotSent (some ran: a caller must not resend blindly), which the keys
// seen over an admin connection confirm, and the client serves the next
// command on a new connection.
func TestPipelineWriteCutMidwayMayHaveRun(t *testing.T) {
	s := redistest.Start(t)
	p, err := faultproxy.Start(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := newClient(t, s, 0, func(cfg *client.Config) {
		cfg.Pool.Addr = p.Addr()
		cfg.Pool.PoolSize = 1
	})
	ctx := t.Context()
	if _, err := c.DoRaw(ctx, "PING"); err != nil { // handshake done before the cut is armed
		t.Fatal(err)
	}
	// 32 SETs of 512 KiB: 16 MiB, more than the socket buffers hold, so
	// the client is still writing when the proxy resets the connection
	// after the first 1 MiB and a bit (two SETs whole, the third in part).
	const n, size = 32, 512 << 10
	val := strings.Repeat("v", size)
	cmds := make([][]string, n)
	for i := range cmds {
		cmds[i] = []string{"SET", "wcut:" + strconv.Itoa(i), val}
	}
	p.CutRequestAfter(2*size + 4096)
	_, err = c.Pipe(ctx, cmds)
	var pe *client.PipelineError
	if !errors.As(err, &pe) || errors.Is(err, client.ErrNotSent) {
		t.Fatalf("pipeline whose write was cut: %v; want a *PipelineError without ErrNotSent", err)
	}
	// Redis runs what the proxy passed on after this test saw the error:
	// look once the cut connection is gone.
	settle(t, s)
	ran := 0
	for i := range n {
		if s.Do(t, "EXISTS", "wcut:"+strconv.Itoa(i)).Int == 1 {
			if ran != i {
				t.Fatalf("wcut:%d exists but wcut:%d does not: Redis runs a connection's commands in order", i, ran)
			}
			ran++
		}
	}
	if ran != 2 {
		t.Fatalf("%d SETs ran; want the 2 that reached Redis whole before the cut", ran)
	}
	if _, _, cuts := p.Stats(); cuts != 1 {
		t.Fatalf("proxy cuts = %d; want 1", cuts)
	}
	if v, err := c.DoRaw(ctx, "SET", "after", "1"); err != nil || v.Err() != nil {
		t.Fatalf("command after the cut: %v %v; want OK on a new connection", v, err)
	}
}
