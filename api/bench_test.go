package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/jsonlog"
)

// benchServer is a Server over the shared redis-server, called in process
// (no sockets between client and handler, a real connection to Redis).
func benchServer(tb testing.TB) *Server { return benchServerWith(tb, false) }

// benchServerWith is benchServer with auto-pipelining on or off.
func benchServerWith(b testing.TB, autoPipeline bool) *Server {
	// Production logs JSON at info level, one access line per request,
	// through jsonlog (cmd/gateway's newLogger).
	return benchServerLogging(b, autoPipeline, jsonlog.New(io.Discard, nil))
}

// benchServerLogging is benchServerWith logging through h.
func benchServerLogging(b testing.TB, autoPipeline bool, h slog.Handler) *Server {
	b.Helper()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg, reg)
	var dbs []*Database
	for _, n := range []int{0, 7} {
		name := strconv.Itoa(n)
		dbs = append(dbs, newTestDBWith(b, name, shared.URL(n), func(cfg *client.Config) {
			cfg.Observe = metrics.Observer(name)
			cfg.ObserveBatch = metrics.BatchObserver(name)
			cfg.AutoPipeline = autoPipeline
		}))
	}
	logger := slog.New(h)
	// httptest requests carry Host example.com, which open mode refuses
	// unless it is configured (DNS-rebinding protection).
	srv := NewServer(logger, Config{AllowedHosts: []string{"example.com"}}, dbs, metrics)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkHandlerMiddleware measures what every request pays before and
// after its handler, with no Redis in the way: GET /healthz through the
// whole middleware stack (request ID, metrics, access log, containment,
// routing), with the access line written by jsonlog (production) and by
// slog.JSONHandler, in one run.
func BenchmarkHandlerMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    slog.Handler
	}{
		{"log=jsonlog", jsonlog.New(io.Discard, nil)},
		{"log=slog", slog.NewJSONHandler(io.Discard, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := benchServerLogging(b, false, tc.h)
			req := httptest.NewRequest("GET", "/healthz", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				if code := w.serve(srv, req); code != http.StatusOK {
					b.Fatalf("GET /healthz: %d", code)
				}
			}
		})
	}
}

// BenchmarkHandlerGetString measures the whole handler path of
// GET /db/{db}/strings/{key}: routing, middleware (request ID, metrics,
// access log, CORS), the command through the pool to Redis, JSON encoding.
func BenchmarkHandlerGetString(b *testing.B) {
	srv := benchServer(b)
	for _, db := range []string{"0", "7"} {
		b.Run("db"+db, func(b *testing.B) {
			put := httptest.NewRequest("PUT", "/db/"+db+"/strings/bench:k", strings.NewReader(`{"value":"`+strings.Repeat("v", 100)+`"}`))
			put.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, put)
			if rec.Code != 200 {
				b.Fatalf("PUT: %d %s", rec.Code, rec.Body)
			}
			// One request and one writer for every iteration, as net/http's
			// own per-connection objects would be: what is counted is the
			// gateway's work.
			req := httptest.NewRequest("GET", "/db/"+db+"/strings/bench:k", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU(b)
			for b.Loop() {
				if code := w.serve(srv, req); code != http.StatusOK {
					b.Fatalf("GET: %d", code)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkHandlerCommand measures POST /db/0/command with INCR.
func BenchmarkHandlerCommand(b *testing.B) {
	srv := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/db/0/command", strings.NewReader(`{"command":["INCR","bench:n"]}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("INCR: %d %s", rec.Code, rec.Body)
		}
	}
}

// processCPU returns the CPU time (user + system, every thread) this
// process has used. redis-server is another process: not counted.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the shared redis-server has spent (10 ms
// ticks: run enough iterations, -benchtime 100000x or more).
func redisCPU(b *testing.B) time.Duration {
	d, err := shared.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// reportCPU adds cpu-ns/op: the process's CPU time since cpu0 per
// iteration. On a shared machine it moves less than ns/op, which counts
// the wait for Redis and for the cores too.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkHandlerCommandKeyed measures POST /db/0/command with INCR
// without and with an Idempotency-Key (a new key per request: the record's
// SET NX, lease and run key, the fenced INCR, the stored response), in the
// order unkeyed, keyed, keyed, unkeyed so that a drift of the shared
// machine hits both alike.
func BenchmarkHandlerCommandKeyed(b *testing.B) {
	srv := benchServer(b)
	var n int
	for _, keyed := range []bool{false, true, true, false} {
		name := "unkeyed"
		if keyed {
			name = "keyed"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/db/0/command", strings.NewReader(`{"command":["INCR","bench:n"]}`))
				req.Header.Set("Content-Type", "application/json")
				if keyed {
					n++
					req.Header.Set("Idempotency-Key", "bench-"+strconv.Itoa(n)+"-"+benchRun)
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get("Idempotent-Replayed") != "" {
					b.Fatalf("INCR: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchRun makes the benchmark's keys unique across runs on the shared
// server, whose records outlive a run.
var benchRun = strconv.FormatInt(time.Now().UnixNano(), 36)

// discardWriter is a ResponseWriter that keeps the status and drops the
// body.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }

// serve runs req through h on w, reset as a fresh response, and returns
// the status.
func (w *discardWriter) serve(h http.Handler, req *http.Request) int {
	clear(w.h)
	w.code = 0
	h.ServeHTTP(w, req)
	return w.code
}

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}

// BenchmarkHandlerGetStringParallel runs the GET path from 64 goroutines,
// with the pool (one connection per command) and with auto-pipelining
// (commands share the shared connections, many per write). It reports the
// gateway's CPU (cpu-ns/op) and Redis's (redis-cpu-ns/op) per GET.
func BenchmarkHandlerGetStringParallel(b *testing.B) {
	for _, ap := range []bool{false, true} {
		srv := benchServerWith(b, ap)
		put := httptest.NewRequest("PUT", "/db/0/strings/bench:p", strings.NewReader(`{"value":"`+strings.Repeat("v", 100)+`"}`))
		put.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(httptest.NewRecorder(), put)
		for _, par := range []int{8, 32} { // × GOMAXPROCS goroutines
			name := "autopipeline=" + strconv.FormatBool(ap) + "/goroutines=" + strconv.Itoa(par*runtime.GOMAXPROCS(0))
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(par)
				b.ResetTimer()
				cpu0, rcpu0 := processCPU(b), redisCPU(b)
				b.RunParallel(func(pb *testing.PB) {
					req := httptest.NewRequest("GET", "/db/0/strings/bench:p", nil)
					w := &discardWriter{h: http.Header{}}
					for pb.Next() {
						if code := w.serve(srv, req); code != http.StatusOK {
							b.Errorf("GET: %d", code)
							return
						}
					}
				})
				reportCPU(b, cpu0)
				b.ReportMetric(float64(redisCPU(b)-rcpu0)/float64(b.N), "redis-cpu-ns/op")
			})
		}
	}
}

// BenchmarkHandlerUpstash measures the Upstash surface's GET in its two
// forms, the command in the path (GET /upstash/0/get/k) and in the body
// (POST /upstash/0 ["GET","k"]), next to BenchmarkHandlerGetString's
// typed route.
func BenchmarkHandlerUpstash(b *testing.B) {
	srv := benchServer(b)
	put := httptest.NewRequest("PUT", "/db/0/strings/bench:u", strings.NewReader(`{"value":"`+strings.Repeat("v", 100)+`"}`))
	put.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(httptest.NewRecorder(), put)
	b.Run("path", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/upstash/0/get/bench:u", nil)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		cpu0 := processCPU(b)
		for b.Loop() {
			if code := w.serve(srv, req); code != http.StatusOK {
				b.Fatalf("GET: %d", code)
			}
		}
		reportCPU(b, cpu0)
	})
	b.Run("body", func(b *testing.B) {
		const body = `["GET","bench:u"]`
		rd := strings.NewReader(body)
		req := httptest.NewRequest("POST", "/upstash/0", rd)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		cpu0 := processCPU(b)
		for b.Loop() {
			rd.Reset(body)
			if code := w.serve(srv, req); code != http.StatusOK {
				b.Fatalf("POST: %d", code)
			}
		}
		reportCPU(b, cpu0)
	})
}
