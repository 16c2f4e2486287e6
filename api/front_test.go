package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// lockedLog is a log destination safe for concurrent handlers.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFrontAnswersAPanicAndRecordsIt: a handler panic is answered with a
// 500 problem carrying the request ID, and, since recovery and
// observation are one layer, the request is counted and logged with the
// status it got (the separate recoverer answered outside the observing
// middleware, so such a request was neither counted nor logged).
// http.ErrAbortHandler still reaches net/http.
func TestFrontAnswersAPanicAndRecordsIt(t *testing.T) {
	t.Parallel()
	var logs lockedLog
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, reg)
	r := chi.NewRouter()
	r.Use(front(logger, m))
	r.Get("/boom/{x}", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	r.Get("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	r.Get("/seg/{x}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chi.URLParam(r, "x"))) })
	h := withRequestContext(r)

	req := httptest.NewRequest("GET", "/boom/1", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" || rec.Header().Get("X-Request-Id") != "trace-42" {
		t.Fatalf("panic answered %d %q %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("X-Request-Id"), rec.Body)
	}
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["code"] != CodeInternal {
		t.Errorf("problem %s (%v), want code %s", rec.Body, err, CodeInternal)
	}
	if got, ok := seriesValue(t, reg, "gateway_http_requests_total", map[string]string{"route": "/boom/{x}", "method": "GET", "status": "500"}); !ok || got != 1 {
		t.Errorf("the panicked request counted %v times (present %v), want 1", got, ok)
	}
	var access map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			_ = json.Unmarshal([]byte(l), &access)
		}
	}
	if access["status"] != float64(500) || access["req_id"] != "trace-42" || access["route"] != "/boom/{x}" {
		t.Errorf("access-log line %v, want status 500, req_id trace-42, route /boom/{x}\n%s", access, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"handler panicked"`) {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}

	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("ErrAbortHandler: recovered %v, want it re-panicked", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	}()

	// escaped routing: %2F stays inside its segment
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/seg/a%2Fb", nil))
	if rec.Code != 200 || rec.Body.String() != "a%2Fb" {
		t.Errorf("GET /seg/a%%2Fb: %d %q, want 200 with the escaped segment", rec.Code, rec.Body)
	}
	if id := rec.Header().Get("X-Request-Id"); len(id) != 16 {
		t.Errorf("made request ID %q, want 16 hex digits", id)
	}
}
