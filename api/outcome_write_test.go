package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestStuckWriteOutcomes: requests whose command Redis stops reading
// midway (SIGSTOP, 24 MiB values: more than the socket buffers hold) end
// at the command timeout with the outcome the bytes allow. A SET that
// never left whole is 503 UPSTREAM_UNAVAILABLE, outcome not_sent,
// Retry-After; a pipeline whose first SET left and whose second did not
// says completed 0, not_sent 2. After Redis resumes, an admin connection
// shows exactly that: the SET reported not sent did not run, the
// pipeline's first SET did, its last two did not.
func TestStuckWriteOutcomes(t *testing.T) {
	rs := redistest.Start(t)
	// pooled, one connection: the one each request warms is the one that
	// gets stuck (a new one would hang in its handshake instead)
	db := newTestDBWith(t, "0", rs.URL(0), func(cfg *client.Config) { cfg.Pool.PoolSize = 1 })
	g := &gateway{Redis: rs, URL: newHTTPServer(t, NewServer(nil, Config{CommandTimeout: 300 * time.Millisecond, BodyLimit: 64 << 20}, []*Database{db}, nil))}
	big := strings.Repeat("v", 24<<20)
	stuck := func(t *testing.T, method, path string, body any) reply {
		t.Helper()
		if r := g.do(t, "GET", "/db/0/strings/warm", nil); r.Status != 404 {
			t.Fatalf("warm-up GET: %d %s", r.Status, r.Body)
		}
		rs.Pause()
		r := g.do(t, method, path, body)
		rs.Resume()
		waitClients(t, rs, 1+db.Client.Stats().TotalConns)
		return r
	}

	t.Run("SET", func(t *testing.T) {
		r := stuck(t, "PUT", "/db/0/strings/stuck:one", map[string]string{"value": big})
		p := r.Problem(t)
		if r.Status != 503 || p.Code != CodeUpstreamUnavailable || p.Outcome != OutcomeNotSent || r.Header.Get("Retry-After") == "" {
			t.Fatalf("PUT stuck midway: %d %+v, Retry-After %q; want 503 %s, outcome %s, Retry-After", r.Status, p, r.Header.Get("Retry-After"), CodeUpstreamUnavailable, OutcomeNotSent)
		}
		if rs.Do(t, "EXISTS", "stuck:one").Int != 0 {
			t.Fatal("stuck:one exists: the SET reported not sent ran")
		}
	})
	t.Run("Pipeline", func(t *testing.T) {
		r := stuck(t, "POST", "/db/0/pipeline", map[string]any{"commands": [][]string{
			{"SET", "stuck:a", "1"}, {"SET", "stuck:b", big}, {"SET", "stuck:c", "1"},
		}})
		p := r.Problem(t)
		if r.Status != 504 || p.Outcome != OutcomeUnknown || p.Completed == nil || *p.Completed != 0 || p.NotSent == nil || *p.NotSent != 2 {
			t.Fatalf("pipeline stuck at its second command: %d %s; want 504, outcome unknown, completed 0, not_sent 2", r.Status, r.Body)
		}
		if v := rs.Do(t, "GET", "stuck:a"); string(v.Str) != "1" {
			t.Errorf("stuck:a = %q: the SET that reached Redis whole ran, want 1", v.Str)
		}
		for _, k := range []string{"stuck:b", "stuck:c"} {
			if rs.Do(t, "EXISTS", k).Int != 0 {
				t.Errorf("%s exists: a command reported not sent ran", k)
			}
		}
	})
	t.Run("UpstashPipeline", func(t *testing.T) {
		r := stuck(t, "POST", "/upstash/0/pipeline", [][]string{{"SET", "stuck:u1", "1"}, {"SET", "stuck:u2", big}})
		var body struct {
			Error     string `json:"error"`
			Outcome   string `json:"outcome"`
			Completed *int   `json:"completed"`
			NotSent   *int   `json:"not_sent"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || r.Status != 504 || body.Error == "" || body.Outcome != OutcomeUnknown ||
			body.Completed == nil || *body.Completed != 0 || body.NotSent == nil || *body.NotSent != 1 {
			t.Fatalf("Upstash pipeline stuck at its second command: %d %s; want 504 {error, outcome unknown, completed 0, not_sent 1}", r.Status, r.Body)
		}
		if v := rs.Do(t, "GET", "stuck:u1"); string(v.Str) != "1" {
			t.Errorf("stuck:u1 = %q: the SET that reached Redis whole ran, want 1", v.Str)
		}
		if rs.Do(t, "EXISTS", "stuck:u2").Int != 0 {
			t.Error("stuck:u2 exists: the command reported not sent ran")
		}
	})
}

// waitClients waits until Redis holds at most n connections (the admin
// one it answers on included): a connection the gateway closed is gone,
// and whatever reached Redis on it has run.
func waitClients(t *testing.T, rs *redistest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := rs.Do(t, "CLIENT", "LIST")
		if c := strings.Count(string(got.Str), "\n"); c <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis still holds more than %d connections:\n%s", n, got.Str)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
