package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestCommandInfoLookupIsBounded: a token's request for a command whose
// COMMAND INFO is not cached yet asks Redis first (to check the token's
// level). With Redis paused, that lookup ends at the command timeout, and
// the answer says what is true: 503 not_sent with Retry-After, since the
// request's own command was never sent. Before, the lookup ran under the
// request's context alone and waited until the client gave up, and its
// deadline, had it had one, would have read as a 504 "may have run".
func TestCommandInfoLookupIsBounded(t *testing.T) {
	rs := redistest.Start(t)
	db := newTestDBWith(t, "0", rs.URL(0), func(cfg *client.Config) { cfg.Pool.PoolSize = 1 })
	const timeout = 300 * time.Millisecond
	cfg := Config{CommandTimeout: timeout, Tokens: []Token{{Name: "w", Secret: "w", Databases: []string{"*"}, Level: LevelWrite}}}
	url := newHTTPServer(t, NewServer(nil, cfg, []*Database{db}, nil))
	hc := &http.Client{Timeout: 10 * time.Second}
	send := func(method, path string, body any) (*http.Response, Problem) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, url+path, rd)
		req.Header.Set("Authorization", "Bearer w")
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var p Problem
		_ = json.NewDecoder(res.Body).Decode(&p)
		return res, p
	}
	// GET's command info is cached now, and the one pooled connection is
	// open: what the paused Redis holds up next is the lookup's command.
	if res, _ := send("GET", "/db/0/strings/warm", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("warm-up GET: %d", res.StatusCode)
	}
	rs.Pause()
	t.Cleanup(rs.Resume)
	for _, c := range []struct{ method, path string }{
		{"POST", "/db/0/command"},   // STRLEN: a cold lookup
		{"GET", "/upstash/0/ttl/k"}, // the Upstash path form checks that TTL only reads
	} {
		start := time.Now()
		var body any
		if c.method == "POST" {
			body = map[string]any{"command": []string{"STRLEN", "k"}}
		}
		res, p := send(c.method, c.path, body)
		took := time.Since(start)
		if took > timeout+2*time.Second {
			t.Errorf("%s %s: answered after %v; want about the command timeout %v", c.method, c.path, took, timeout)
		}
		if c.method == "POST" && (res.StatusCode != http.StatusServiceUnavailable || p.Outcome != OutcomeNotSent || res.Header.Get("Retry-After") == "") {
			t.Errorf("%s %s with the lookup timed out: %d %+v; want 503, outcome not_sent, Retry-After", c.method, c.path, res.StatusCode, p)
		}
		if c.method == "GET" && res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the lookup timed out: %d; want 503", c.method, c.path, res.StatusCode)
		}
	}
}
