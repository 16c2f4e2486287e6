package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestIdempotencyAcrossProcesses: gateway processes on one Redis share
// Idempotency-Key records. A retry on another process, or on a process
// started after the first one was killed, gets the first response without
// running again; a retry while the first request's process has just been
// killed mid-request is refused as in flight, and does not run either.
func TestIdempotencyAcrossProcesses(t *testing.T) {
	rs := redistest.Start(t)
	env := []string{"REDIS_URL=" + rs.URL(0)}
	a := startBinary(t, env)
	b := startBinary(t, env)
	post := func(base, path, body, key string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data), res.Header.Get("Idempotent-Replayed")
	}
	code, first, _ := post(a.URL, "/db/0/strings/n/incr", `{"by":5}`, `"x"`)
	if code != 200 || !strings.Contains(first, `"value":5`) {
		t.Fatalf("first on A: %d %s", code, first)
	}
	if code, body, replayed := post(b.URL, "/db/0/strings/n/incr", `{"by":5}`, `"x"`); code != 200 || body != first || replayed != "true" {
		t.Fatalf("retry on B: %d %s replayed %q, want A's %s replayed", code, body, replayed, first)
	}

	// A is killed while its BLPOP waits in Redis
	go func() {
		req, _ := http.NewRequest("POST", a.URL+"/db/0/command", strings.NewReader(`{"command":["BLPOP","q","10"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", `"q"`)
		if res, err := http.DefaultClient.Do(req); err == nil { // A dies first: an error
			res.Body.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:1") {
		if time.Now().After(deadline) {
			t.Fatal("the BLPOP never reached Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := post(b.URL, "/db/0/command", `{"command":["BLPOP","q","10"]}`, `"q"`); code != http.StatusConflict || !strings.Contains(body, "IDEMPOTENCY_IN_FLIGHT") {
		t.Fatalf("retry on B after A was killed: %d %s, want 409 IDEMPOTENCY_IN_FLIGHT", code, body)
	}
	// Redis drops the dead process's BLPOP once it sees the connection
	// closed; a push before that would feed the ghost
	for !strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:0") {
		if time.Now().After(deadline) {
			t.Fatal("the killed process's BLPOP still blocks")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs.Do(t, "RPUSH", "q", "v")
	if v := rs.Do(t, "LLEN", "q"); v.Int != 1 {
		t.Fatalf("LLEN q = %d, want 1: nothing popped", v.Int)
	}

	// a process started afresh replays what A stored
	c := startBinary(t, env)
	if code, body, replayed := post(c.URL, "/db/0/strings/n/incr", `{"by":5}`, `"x"`); code != 200 || body != first || replayed != "true" {
		t.Fatalf("retry on a new process: %d %s replayed %q", code, body, replayed)
	}
	if v := rs.Do(t, "GET", "n"); string(v.Str) != "5" {
		t.Fatalf("n = %s, want 5", v.Str)
	}
}
