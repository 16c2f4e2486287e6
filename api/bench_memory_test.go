package api

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// mgetArgs is the JSON text of an MGET of n arguments in all: "MGET","k",….
func mgetArgs(n int) string {
	var b strings.Builder
	b.WriteString(`"MGET"`)
	for range n - 1 {
		b.WriteString(`,"k"`)
	}
	return b.String()
}

// memorySurfaces are the routes that take commands in the body, each with
// a function that wraps the argument list into that route's body.
var memorySurfaces = []struct {
	name, path string
	body       func(args string) string
}{
	{"command", "/db/0/command", func(a string) string { return `{"command":[` + a + `]}` }},
	{"pipeline", "/db/0/pipeline", func(a string) string { return `{"commands":[[` + a + `]]}` }},
	{"transaction", "/db/0/transaction", func(a string) string { return `{"commands":[[` + a + `]]}` }},
	{"upstash", "/upstash/0", func(a string) string { return `[` + a + `]` }},
	{"upstash-pipeline", "/upstash/0/pipeline", func(a string) string { return `[[` + a + `]]` }},
	{"upstash-multi-exec", "/upstash/0/multi-exec", func(a string) string { return `[[` + a + `]]` }},
}

// BenchmarkRequestMemory sends one big MGET on every surface that takes
// commands in the body: 100,000 arguments (the most one request may
// carry, accepted) and 1.5 M arguments in a 7.5 MB body (refused). It
// reports the bytes allocated per request and their ratio to the body
// size (alloc/body), which the bound in DESIGN ("a small multiple of the
// body size", ≤ 16) is about; peak heap is at most the bytes allocated.
func BenchmarkRequestMemory(b *testing.B) {
	srv := benchServer(b)
	for _, n := range []int{100_000, 1_500_000} {
		args := mgetArgs(n)
		for _, s := range memorySurfaces {
			body := s.body(args)
			b.Run(s.name+"/args="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				ops := 0
				for b.Loop() {
					req := httptest.NewRequest("POST", s.path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					w := &discardWriter{h: http.Header{}}
					srv.ServeHTTP(w, req)
					if want := n <= maxArgs; (w.code == http.StatusOK) != want {
						b.Fatalf("%s with %d args: status %d, want success %v", s.path, n, w.code, want)
					}
					ops++
				}
				runtime.ReadMemStats(&after)
				perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(ops)
				b.ReportMetric(perOp/float64(len(body)), "alloc/body")
			})
		}
	}
}
