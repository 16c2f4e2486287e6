package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// statusWriter records the status and size written, for logs and metrics.
// It passes Flush and Unwrap through so SSE and WebSocket keep working.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routePattern returns the matched chi pattern ("/db/{db}/strings/{key}"),
// never the raw path, so logs and metrics carry no keys.
func routePattern(r *http.Request) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return "unmatched"
	}
	// chi joins the patterns of the nested routers at every call (four
	// allocations); their list is a fixed-size array key here, so a route
	// is joined once for the life of the process.
	var key [4]string
	if n := len(rctx.RoutePatterns); n > 0 && n <= len(key) {
		copy(key[:], rctx.RoutePatterns)
		if p, ok := patternCache.Load(key); ok {
			return p.(string)
		}
		p := rctx.RoutePattern()
		if p == "" {
			p = "unmatched"
		}
		patternCache.Store(key, p)
		return p
	}
	if p := rctx.RoutePattern(); p != "" {
		return p
	}
	return "unmatched"
}

// patternCache maps chi's nested route patterns to their joined form.
// Its keys are the routes' own patterns, never request text, so it holds
// at most one entry per route.
var patternCache sync.Map

// observeRequest records a finished request (its status and size in sw)
// in the metrics and the access log; see front.
func observeRequest(logger *slog.Logger, m *Metrics, r *http.Request, sw *statusWriter, start time.Time) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	logging := logger.Enabled(r.Context(), slog.LevelInfo)
	if m == nil && !logging {
		return // nobody would read the route pattern
	}
	end := time.Now()
	dur := end.Sub(start)
	route := routePattern(r)
	m.observeHTTP(route, r.Method, sw.status, dur)
	if !logging {
		return
	}
	// The record goes to the handler directly: Logger.LogAttrs would also
	// walk the stack for the caller's PC (runtime.Callers), which no
	// handler here reads (AddSource is off).
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(
		slog.String("req_id", RequestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.bytes),
		slog.String("dur", dur.String()), // with its unit ("1.2ms"); slog writes a Duration as bare nanoseconds in JSON
	)
	_ = logger.Handler().Handle(r.Context(), rec)
}

// cors answers preflight requests and adds CORS headers for allowed
// origins. With no origins configured it adds nothing, so browsers refuse
// cross-origin calls.
func cors(origins []string) func(http.Handler) http.Handler {
	allowAll := false
	allowed := map[string]bool{}
	for _, o := range origins {
		if o == "*" {
			allowAll = true
		}
		allowed[strings.TrimRight(o, "/")] = true
	}
	return func(next http.Handler) http.Handler {
		if len(origins) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			h := w.Header()
			h.Add("Vary", "Origin")
			if origin == "" || !(allowAll || allowed[origin]) {
				next.ServeHTTP(w, r)
				return
			}
			if allowAll {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			h.Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After, X-Request-ID, Upstash-Sync-Token, Redis-Sync-Token")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, OPTIONS")
				if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
					h.Set("Access-Control-Allow-Headers", reqHeaders)
				}
				h.Set("Access-Control-Max-Age", strconv.Itoa(600))
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
