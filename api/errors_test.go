package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// gatewayFor starts a gateway with one database "0" on its own server,
// with pool settings adjusted by tweak.
func gatewayFor(t *testing.T, rs *redistest.Server, cfg Config, tweak func(*client.Config)) *gateway {
	t.Helper()
	pc, err := client.ParseURL(rs.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	ccfg := client.Config{Pool: pc}
	if tweak != nil {
		tweak(&ccfg)
	}
	c, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	srv := NewServer(nil, cfg, []*Database{{Name: "0", Client: c, Addr: rs.URL(0)}}, nil)
	hs := newHTTPServer(t, srv)
	return &gateway{URL: hs, Redis: rs}
}

// TestErrorTable provokes every row of DESIGN's error table against real
// Redis servers and checks status, code, content type, request ID and
// Retry-After.
func TestErrorTable(t *testing.T) {
	g := newGateway(t, gatewayOpts{cfg: Config{BodyLimit: 1024}})
	shared.Do(t, "SET", t.Name()+":bin", "\xff\xfe")
	shared.Do(t, "RPUSH", t.Name()+":list", "x")

	cases := []struct {
		name   string
		g      func(t *testing.T) *gateway
		method string
		path   string
		body   any
		status int
		code   string
		// outcome is the problem's outcome field: "" when Redis answered
		// or no command was involved.
		outcome string
	}{
		{"bad JSON", nil, "POST", "/db/0/command", `{"command":`, 400, "VALIDATION", ""},
		{"failed validation", nil, "POST", "/db/0/command", map[string]any{"command": []string{}}, 400, "VALIDATION", ""},
		{"unknown field", nil, "POST", "/db/0/command", map[string]any{"cmd": []string{"PING"}}, 400, "VALIDATION", ""},
		{"Redis ERR", nil, "POST", "/db/0/command", map[string]any{"command": []string{"SET", "onlykey"}}, 400, "ERR", ""},
		{"forbidden command", nil, "POST", "/db/0/command", map[string]any{"command": []string{"SELECT", "1"}}, 403, "FORBIDDEN_COMMAND", OutcomeNotSent},
		{"unknown database", nil, "GET", "/db/nope/dbsize", nil, 404, "UNKNOWN_DATABASE", ""},
		{"absent key", nil, "GET", "/db/0/strings/absent-key", nil, 404, "NOT_FOUND", ""},
		{"unknown route", nil, "GET", "/nowhere", nil, 404, "NOT_FOUND", ""},
		{"method not allowed", nil, "PATCH", "/db/0/strings/k", nil, 405, "METHOD_NOT_ALLOWED", ""},
		{"WRONGTYPE", nil, "POST", "/db/0/command", map[string]any{"command": []string{"GET", t.Name() + ":list"}}, 409, "WRONGTYPE", ""},
		{"body too large", nil, "POST", "/db/0/command", map[string]any{"command": []string{"SET", "k", strings.Repeat("x", 2000)}}, 413, "BODY_TOO_LARGE", ""},
		{"not UTF-8", nil, "POST", "/db/0/command", map[string]any{"command": []string{"GET", t.Name() + ":bin"}}, 422, "NOT_UTF8", ""},
		{"Redis down", func(t *testing.T) *gateway {
			rs := redistest.Start(t)
			g := gatewayFor(t, rs, Config{}, nil)
			rs.Stop()
			return g
		}, "POST", "/db/0/command", map[string]any{"command": []string{"PING"}}, 503, "UPSTREAM_UNAVAILABLE", OutcomeNotSent},
		{"BUSY script", func(t *testing.T) *gateway {
			rs := redistest.Start(t, "--busy-reply-threshold", "50")
			g := gatewayFor(t, rs, Config{}, nil)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				pc, _ := client.ParseURL(rs.URL(0))
				c, _ := client.New(client.Config{Pool: pc})
				defer c.Close()
				_, _ = c.Do(ctx, "EVAL", "local i = 0 while true do i = i + 1 end", "0")
			}()
			waitFor(t, func() bool {
				rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"PING"}})
				return rep.Status == 503
			})
			t.Cleanup(func() { rs.Do(t, "SCRIPT", "KILL") })
			return g
		}, "POST", "/db/0/command", map[string]any{"command": []string{"PING"}}, 503, "BUSY", ""},
		{"MASTERDOWN", func(t *testing.T) *gateway {
			rs := redistest.Start(t, "--replica-serve-stale-data", "no")
			rs.Do(t, "REPLICAOF", "127.0.0.1", fmt.Sprint(redistest.FreePort(t)))
			return gatewayFor(t, rs, Config{}, nil)
		}, "POST", "/db/0/command", map[string]any{"command": []string{"GET", "k"}}, 503, "MASTERDOWN", ""},
		{"pool timeout", func(t *testing.T) *gateway {
			rs := redistest.Start(t)
			g := gatewayFor(t, rs, Config{}, func(c *client.Config) {
				c.MaxBlocking = 1
				c.Pool.PoolTimeout = 100 * time.Millisecond
			})
			go func() {
				resp, err := http.Post(g.URL+"/db/0/command", "application/json", strings.NewReader(`{"command":["BLPOP","q","2"]}`))
				if err == nil {
					resp.Body.Close()
				}
			}()
			waitFor(t, func() bool {
				return strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:1")
			})
			return g
		}, "POST", "/db/0/command", map[string]any{"command": []string{"BLPOP", "q2", "1"}}, 503, "POOL_TIMEOUT", OutcomeNotSent},
		{"command timeout", func(t *testing.T) *gateway {
			rs := redistest.Start(t)
			return gatewayFor(t, rs, Config{CommandTimeout: 200 * time.Millisecond}, nil)
		}, "POST", "/db/0/command", map[string]any{"command": []string{"DEBUG", "SLEEP", "1"}}, 504, "TIMEOUT", OutcomeUnknown},
		{"OOM", func(t *testing.T) *gateway {
			rs := redistest.Start(t, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
			g := gatewayFor(t, rs, Config{}, nil)
			for i := 0; ; i++ {
				v := rs.Do(t, "SET", fmt.Sprint("fill", i), strings.Repeat("x", 10000))
				if v.IsError() {
					break
				}
			}
			return g
		}, "POST", "/db/0/command", map[string]any{"command": []string{"SET", "more", strings.Repeat("y", 10000)}}, 507, "OOM", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := g
			if tc.g != nil {
				gw = tc.g(t)
			}
			rep := gw.do(t, tc.method, tc.path, tc.body, "X-Request-ID: req-"+strings.ReplaceAll(tc.name, " ", "-"))
			if rep.Status != tc.status {
				t.Fatalf("got status %d (%s), want %d", rep.Status, rep.Body, tc.status)
			}
			p := rep.Problem(t)
			if p.Code != tc.code || p.Status != tc.status || p.Title == "" || p.Type == "" {
				t.Fatalf("got problem %+v, want code %s", p, tc.code)
			}
			if p.RequestID != rep.Header.Get("X-Request-ID") || !strings.HasPrefix(p.RequestID, "req-") {
				t.Fatalf("request_id %q, header %q: want the caller's X-Request-ID in both", p.RequestID, rep.Header.Get("X-Request-ID"))
			}
			if tc.status == 503 && rep.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After")
			}
			if p.Outcome != tc.outcome {
				t.Fatalf("outcome %q, want %q", p.Outcome, tc.outcome)
			}
			if tc.outcome == OutcomeUnknown && rep.Header.Get("Retry-After") != "" {
				t.Fatalf("outcome unknown with Retry-After %q: a retry is not safe", rep.Header.Get("Retry-After"))
			}
			if tc.status >= 500 && strings.Contains(p.Detail, "127.0.0.1") {
				t.Fatalf("5xx detail leaks internals: %q", p.Detail)
			}
		})
	}
}

// TestRecoversWhenRedisReturns: after Redis comes back the same gateway
// serves again, with nothing recreated.
func TestRecoversWhenRedisReturns(t *testing.T) {
	rs := redistest.Start(t)
	g := gatewayFor(t, rs, Config{}, nil)
	ping := map[string]any{"command": []string{"PING"}}
	if rep := g.do(t, "POST", "/db/0/command", ping); rep.Status != 200 {
		t.Fatalf("before: %d", rep.Status)
	}
	rs.Stop()
	if rep := g.do(t, "GET", "/readyz", nil); rep.Status != 503 {
		t.Fatalf("readyz with Redis down: %d", rep.Status)
	}
	rs.Restart()
	waitFor(t, func() bool { return g.do(t, "POST", "/db/0/command", ping).Status == 200 })
	if rep := g.do(t, "GET", "/readyz", nil); rep.Status != 200 {
		t.Fatalf("readyz after restart: %d %s", rep.Status, rep.Body)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFailuresAreSummarised: during an outage the log gets one ERROR line
// per code per interval plus one summary with the count, not one line per
// request; at debug level every request's line is still there.
func TestFailuresAreSummarised(t *testing.T) {
	const requests = 40
	cases := []struct {
		name       string
		level      slog.Level
		wantFailed int // "request failed" lines
	}{
		{name: "Warn", level: slog.LevelWarn, wantFailed: 1},
		{name: "Debug", level: slog.LevelDebug, wantFailed: requests},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			pc, err := client.ParseURL(rs.URL(0))
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.New(client.Config{Pool: pc})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			var buf syncBuffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))
			srv := NewServer(logger, Config{}, []*Database{{Name: "0", Client: c, Addr: rs.URL(0)}}, nil)
			g := &gateway{URL: newHTTPServer(t, srv), Redis: rs}
			rs.Stop()
			for i := range requests {
				if rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"PING"}}); rep.Status != 503 {
					t.Fatalf("request %d: %d %s, want 503", i, rep.Status, rep.Body)
				}
			}
			srv.Close() // flushes the pending summary
			out := buf.String()
			if n := strings.Count(out, `msg="request failed"`); n != tc.wantFailed {
				t.Errorf("%d request failed lines, want %d:\n%s", n, tc.wantFailed, out)
			}
			want := fmt.Sprintf(`level=ERROR msg="request failures summarised" code=UPSTREAM_UNAVAILABLE count=%d`, requests-1)
			if strings.Count(out, want) != 1 {
				t.Errorf("want one summary %q in:\n%s", want, out)
			}
		})
	}
}

// TestFailureSummaryAtIntervalEnd: the summary is logged when the interval
// ends, without a flush, and the next failure opens a new interval.
func TestFailureSummaryAtIntervalEnd(t *testing.T) {
	var buf syncBuffer
	logger, flush := summarizeFailures(slog.New(slog.NewTextHandler(&buf, nil)), 20*time.Millisecond)
	defer flush()
	for range 5 {
		logger.Error("request failed", "code", "TIMEOUT")
	}
	logger.Error("request failed", "code", "POOL_TIMEOUT")
	logger.Info("unrelated")
	want := `msg="request failures summarised" code=TIMEOUT count=4`
	waitFor(t, func() bool { return strings.Contains(buf.String(), want) })
	logger.Error("request failed", "code", "TIMEOUT")
	out := buf.String()
	if n := strings.Count(out, `msg="request failed" code=TIMEOUT`); n != 2 {
		t.Errorf("%d TIMEOUT lines, want the first of each interval (2):\n%s", n, out)
	}
	if strings.Contains(out, "code=POOL_TIMEOUT count=") || !strings.Contains(out, `msg=unrelated`) {
		t.Errorf("a single failure got a summary, or another record was dropped:\n%s", out)
	}
}

// TestCallbackShapeErrorSaysTheCommandRan: a reply that does not fit its
// callback (here INCR shaped as an object) is a 502 UNEXPECTED_REPLY with
// no outcome and no Retry-After — the command ran, as Redis shows — not a
// transport failure that invites a retry.
func TestCallbackShapeErrorSaysTheCommandRan(t *testing.T) {
	g := newGateway(t, gatewayOpts{callbacks: map[string]map[string]string{"0": {"INCR": "object"}}})
	key := t.Name()
	r := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCR", key}})
	p := r.Problem(t)
	if r.Status != http.StatusBadGateway || p.Code != CodeUnexpectedReply || p.Outcome != "" || r.Header.Get("Retry-After") != "" {
		t.Fatalf("INCR shaped as an object: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	if v := shared.Do(t, "GET", key); string(v.Str) != "1" {
		t.Fatalf("counter %q: the INCR should have run once", v.Str)
	}
	r = g.do(t, "POST", "/db/0/command?raw=true", map[string]any{"command": []string{"INCR", key}})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"result":2}` {
		t.Fatalf("raw INCR: %d %s", r.Status, r.Body)
	}
}
