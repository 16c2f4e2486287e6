//go:build !race

package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTypedGetAllocations keeps the allocations of a typed GET through
// the whole handler (routing, middleware, metrics, JSON access log, the
// command to a real redis-server, the reply) from creeping back: 13 when
// this was written, 38 before the lean-path work (docs/benchmarks.md).
// Not run under the race detector, which allocates on its own.
func TestTypedGetAllocations(t *testing.T) {
	srv := benchServer(t) // the benchmark's server: same metrics and logger
	put := httptest.NewRequest("PUT", "/db/0/strings/allocs:k", strings.NewReader(`{"value":"xxx"}`))
	put.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(httptest.NewRecorder(), put)
	req := httptest.NewRequest("GET", "/db/0/strings/allocs:k", nil)
	w := &discardWriter{h: http.Header{}}
	serve := func() { w.serve(srv, req) }
	serve() // first use resolves metric series, opens the connection
	if w.code != http.StatusOK {
		t.Fatalf("GET: %d", w.code)
	}
	const most = 15
	if n := testing.AllocsPerRun(200, serve); n > most {
		t.Errorf("a typed GET allocates %.1f times, want at most %d", n, most)
	}
}

// TestUpstashGetAllocations does for the Upstash path form
// (GET /upstash/0/get/k) what TestTypedGetAllocations does for the typed
// route: 18 when this was written, 38 before the command ran under the
// client's own deadline, the read-only check stopped taking a timeout
// context for a cached COMMAND INFO, command names sent in lower case
// were interned, the routes stopped being a mounted subrouter and the
// dangerous-list check stopped joining every command's first two words
// (docs/benchmarks.md).
func TestUpstashGetAllocations(t *testing.T) {
	srv := benchServer(t)
	put := httptest.NewRequest("PUT", "/db/0/strings/allocs:u", strings.NewReader(`{"value":"xxx"}`))
	put.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(httptest.NewRecorder(), put)
	req := httptest.NewRequest("GET", "/upstash/0/get/allocs:u", nil)
	w := &discardWriter{h: http.Header{}}
	serve := func() { w.serve(srv, req) }
	serve()
	if w.code != http.StatusOK {
		t.Fatalf("GET: %d", w.code)
	}
	const most = 20
	if n := testing.AllocsPerRun(200, serve); n > most {
		t.Errorf("an Upstash path-form GET allocates %.1f times, want at most %d", n, most)
	}
}
