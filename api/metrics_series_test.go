package api

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis-gateway/redis-gateway/client"
)

// seriesValue returns the value of the counter, or the sample count of
// the histogram, of family name whose labels are exactly labels; ok is
// false when there is no such series.
func seriesValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (v float64, ok bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsSeriesAreResolvedOnceAndCountRight: the request path's
// series are looked up once and kept; they must count exactly as the
// label lookups did (per status, per outcome, streams out of the duration
// histogram), from many goroutines at once, and keep no request text.
func TestMetricsSeriesAreResolvedOnceAndCountRight(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, reg)
	obs := m.Observer("0")
	const route, stream = "/db/{db}/strings/{key}", "/db/{db}/channels/{channel}/events"
	marker := "userText" + strings.Repeat("x", 100)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				m.observeHTTP(route, "GET", 200, time.Millisecond)
				m.observeHTTP(route, "GET", 400+i%2, time.Millisecond) // 400, 401: codes added while others count
				m.observeHTTP(stream, "GET", 200, time.Minute)
				m.observeHTTP(route, marker, 200, time.Millisecond) // a method is client text
				obs("GET", time.Millisecond, nil)
				obs("get", time.Millisecond, &client.Error{Msg: "WRONGTYPE"})
				obs(marker, time.Millisecond, errors.New("connection reset"))
			}
		}()
	}
	wg.Wait()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gateway_http_requests_total", map[string]string{"route": route, "method": "GET", "status": "200"}, 400},
		{"gateway_http_requests_total", map[string]string{"route": route, "method": "GET", "status": "400"}, 200},
		{"gateway_http_requests_total", map[string]string{"route": route, "method": "GET", "status": "401"}, 200},
		{"gateway_http_requests_total", map[string]string{"route": route, "method": "OTHER", "status": "200"}, 400},
		{"gateway_http_requests_total", map[string]string{"route": stream, "method": "GET", "status": "200"}, 400},
		{"gateway_http_request_duration_seconds", map[string]string{"route": route, "method": "GET"}, 800},
		{"gateway_redis_commands_total", map[string]string{"db": "0", "command": "GET", "outcome": "ok"}, 400},
		{"gateway_redis_commands_total", map[string]string{"db": "0", "command": "GET", "outcome": "redis_error"}, 400},
		{"gateway_redis_commands_total", map[string]string{"db": "0", "command": otherCommand, "outcome": "error"}, 400},
		{"gateway_redis_command_duration_seconds", map[string]string{"db": "0", "command": "GET"}, 800},
		{"gateway_redis_command_duration_seconds", map[string]string{"db": "0", "command": otherCommand}, 400},
	} {
		if got, ok := seriesValue(t, reg, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := seriesValue(t, reg, "gateway_http_request_duration_seconds", map[string]string{"route": stream, "method": "GET"}); ok {
		t.Error("a stream route has a duration series; streams are left out")
	}
	var keys []string
	m.cmdSeries.Range(func(k, _ any) bool { keys = append(keys, k.(cmdKey).db+" "+k.(cmdKey).cmd); return true })
	m.httpSeries.Range(func(k, _ any) bool { keys = append(keys, k.(httpKey).route+" "+k.(httpKey).method); return true })
	sort.Strings(keys)
	want := []string{"/db/{db}/channels/{channel}/events GET", "/db/{db}/strings/{key} GET", "/db/{db}/strings/{key} OTHER", "0 GET", "0 other"}
	if strings.Join(keys, "|") != strings.Join(want, "|") {
		t.Errorf("series cache keys %q, want %q (labels only, never request text)", keys, want)
	}
}
