package api

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redis-gateway/redis-gateway/client"
)

// Metrics holds the gateway's Prometheus collectors, registered on the
// registry given to [NewMetrics] (never the global one). A nil *Metrics
// records nothing and /metrics answers 404. It is safe for concurrent use.
type Metrics struct {
	gatherer prometheus.Gatherer

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	commands     *prometheus.CounterVec
	cmdDuration  *prometheus.HistogramVec
	subscribers  *prometheus.GaugeVec
	dropped      *prometheus.CounterVec
	batch        *prometheus.HistogramVec
	idempotent   *prometheus.CounterVec

	// httpSeries and cmdSeries hold the series of the request path,
	// resolved on first use (no label hashing per request); their keys
	// come from closed sets (route patterns, standard methods, database
	// names, command-table names).
	httpSeries sync.Map // httpKey → *routeSeries
	cmdSeries  sync.Map // cmdKey → *commandSeries

	mu     sync.Mutex
	dbs    []*Database        // pools reported at scrape time
	scopes map[string]scopeFn // per database: its scope users' pools
	resp2  map[string]scopeFn // per database: its Upstash surface's RESP2 pool
}

// scopeFn reports a database's scope backends and their pools' counters.
type scopeFn func() (users int, pools client.PoolStats)

// NewMetrics creates the collectors and registers them, with a collector of
// pool statistics for the databases later passed to [NewServer], on reg.
// gatherer serves /metrics (usually the same registry).
func NewMetrics(reg prometheus.Registerer, gatherer prometheus.Gatherer) *Metrics {
	m := &Metrics{
		gatherer: gatherer,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern and method (streams excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_redis_commands_total",
			Help: "Redis commands by database, command and outcome (ok, redis_error, error).",
		}, []string{"db", "command", "outcome"}),
		cmdDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_redis_command_duration_seconds",
			Help:    "Redis command round-trip time by database and command, pool wait included.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 5},
		}, []string{"db", "command"}),
		subscribers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_subscribers",
			Help: "Open real-time subscribers (SSE and WebSocket) by database and kind.",
		}, []string{"db", "kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_dropped_messages_total",
			Help: "Messages dropped for subscribers that could not keep up, by database.",
		}, []string{"db"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_autopipeline_batch_commands",
			Help:    "Commands written in one flush of an auto-pipelined connection, by database.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}, []string{"db"}),
		idempotent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_idempotency_requests_total",
			Help: "Requests with an Idempotency-Key by database and result (ran, released, replayed, in_flight, key_reused, unknown, uncertain, reply_lost, unavailable).",
		}, []string{"db", "result"}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.commands, m.cmdDuration, m.subscribers, m.dropped, m.batch, m.idempotent, poolCollector{m})
	return m
}

// otherCommand is the one label of every command name that is not in
// the command table: unknown commands, unknown subcommands, any text.
const otherCommand = "other"

// commandLabel returns cmd ("GET", "CONFIG GET", as the client names it)
// when the command table has it, else [otherCommand]: labels come from a
// closed set, so no request can add series.
func commandLabel(cmd string) string {
	if commandTable[cmd] {
		return cmd
	}
	if up := strings.ToUpper(cmd); commandTable[up] {
		return up
	}
	return otherCommand
}

// methodLabel returns the standard methods as they are and any other
// method as "OTHER" (a method is a token the client chooses).
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// ObserveCommand records one Redis command; it has the shape of
// client.Config.Observe once bound to a database name. The command label
// is cmd only when the command table knows it, else "other".
func (m *Metrics) ObserveCommand(db, cmd string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.commandSeriesFor(db, cmd).observe(d, err)
}

// Observer returns a client.Config.Observe hook for database db.
func (m *Metrics) Observer(db string) func(string, time.Duration, error) {
	if m == nil {
		return nil
	}
	return func(cmd string, d time.Duration, err error) { m.commandSeriesFor(db, cmd).observe(d, err) }
}

// cmdKey names the series of one command label on one database.
type cmdKey struct{ db, cmd string }

// commandSeries are the series of one command label on one database:
// one counter per outcome and the duration histogram.
type commandSeries struct {
	ok, redisErr, failed prometheus.Counter
	dur                  prometheus.Observer
}

func (s *commandSeries) observe(d time.Duration, err error) {
	switch {
	case err == nil:
		s.ok.Inc()
	default:
		if _, ok := err.(*client.Error); ok {
			s.redisErr.Inc()
		} else {
			s.failed.Inc()
		}
	}
	s.dur.Observe(d.Seconds())
}

// commandSeriesFor returns the series of cmd on db, resolved once per
// command label. Only names of the command table are keys of the cache as
// given; any other text is labelled (and looked up) by its label, so no
// request text is ever kept.
func (m *Metrics) commandSeriesFor(db, cmd string) *commandSeries {
	if s, ok := m.cmdSeries.Load(cmdKey{db, cmd}); ok {
		return s.(*commandSeries)
	}
	label := commandLabel(cmd)
	if s, ok := m.cmdSeries.Load(cmdKey{db, label}); ok {
		return s.(*commandSeries)
	}
	s := &commandSeries{
		ok:       m.commands.WithLabelValues(db, label, "ok"),
		redisErr: m.commands.WithLabelValues(db, label, "redis_error"),
		failed:   m.commands.WithLabelValues(db, label, "error"),
		dur:      m.cmdDuration.WithLabelValues(db, label),
	}
	got, _ := m.cmdSeries.LoadOrStore(cmdKey{db, label}, s)
	return got.(*commandSeries)
}

// BatchObserver returns a client.Config.ObserveBatch hook for database db.
func (m *Metrics) BatchObserver(db string) func(n int) {
	if m == nil {
		return nil
	}
	h := m.batch.WithLabelValues(db)
	return func(n int) { h.Observe(float64(n)) }
}

// addSubscribers moves the gauge of open subscribers for db and kind
// ("sse", "websocket").
func (m *Metrics) addSubscribers(db, kind string, delta float64) {
	if m == nil {
		return
	}
	m.subscribers.WithLabelValues(db, kind).Add(delta)
}

// addDropped counts messages dropped for slow subscribers of db.
func (m *Metrics) addDropped(db string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.dropped.WithLabelValues(db).Add(float64(n))
}

// addIdempotent counts one request with an Idempotency-Key on db; result
// is one of a fixed set (see the metric's help).
func (m *Metrics) addIdempotent(db, result string) {
	if m == nil {
		return
	}
	m.idempotent.WithLabelValues(db, result).Inc()
}

func (m *Metrics) watch(dbs []*Database) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.dbs = append(m.dbs, dbs...)
	m.mu.Unlock()
}

// watchRESP2 reports the RESP2 pool (the Upstash surface's) of database
// db at scrape time.
func (m *Metrics) watchRESP2(db string, fn scopeFn) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if m.resp2 == nil {
		m.resp2 = map[string]scopeFn{}
	}
	m.resp2[db] = fn
	m.mu.Unlock()
}

// watchScopes reports the scope (ACL user) pools of database db at
// scrape time.
func (m *Metrics) watchScopes(db string, fn scopeFn) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if m.scopes == nil {
		m.scopes = map[string]scopeFn{}
	}
	m.scopes[db] = fn
	m.mu.Unlock()
}

// observeHTTP records one finished request by route pattern, method and
// status; streams (which last as long as the client stays) are left out of
// the duration histogram.
func (m *Metrics) observeHTTP(route, method string, status int, dur time.Duration) {
	if m == nil {
		return
	}
	s := m.routeSeriesFor(route, methodLabel(method))
	s.counter(status).Inc()
	if s.dur != nil {
		s.dur.Observe(dur.Seconds())
	}
}

// httpKey names the series of one route pattern and method label.
type httpKey struct{ route, method string }

// routeSeries are the series of one route pattern and method: the
// duration histogram (nil for streams) and one request counter per status
// code seen, in a list that is replaced, never changed, when a code is
// added (a route answers a handful of codes).
type routeSeries struct {
	route, method string
	dur           prometheus.Observer
	statuses      atomic.Pointer[[]statusCounter]
	mu            sync.Mutex // serialises additions to statuses
	requests      *prometheus.CounterVec
}

type statusCounter struct {
	code int
	c    prometheus.Counter
}

// counter returns the request counter of status code, resolving it on
// the code's first use.
func (s *routeSeries) counter(code int) prometheus.Counter {
	if l := s.statuses.Load(); l != nil {
		for _, sc := range *l {
			if sc.code == code {
				return sc.c
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur []statusCounter
	if l := s.statuses.Load(); l != nil {
		cur = *l
	}
	for _, sc := range cur {
		if sc.code == code {
			return sc.c
		}
	}
	c := s.requests.WithLabelValues(s.route, s.method, statusText(code))
	next := append(append(make([]statusCounter, 0, len(cur)+1), cur...), statusCounter{code, c})
	s.statuses.Store(&next)
	return c
}

// routeSeriesFor returns the series of route and method (a method label),
// resolved on first use.
func (m *Metrics) routeSeriesFor(route, method string) *routeSeries {
	k := httpKey{route, method}
	if s, ok := m.httpSeries.Load(k); ok {
		return s.(*routeSeries)
	}
	s := &routeSeries{route: route, method: method, requests: m.httpRequests}
	if !strings.HasSuffix(route, "/events") && !strings.HasSuffix(route, "/ws") {
		s.dur = m.httpDuration.WithLabelValues(route, method)
	}
	got, _ := m.httpSeries.LoadOrStore(k, s)
	return got.(*routeSeries)
}

// statusTexts holds "100"…"599", so labelling a request allocates nothing.
var statusTexts = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusText(code int) string {
	if code >= 100 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}

// Handler serves the metrics in the Prometheus text format, with no
// access check: it is for a separate listener (metrics_addr). A nil
// *Metrics answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// metricsAccess guards /metrics on the main address. Without tokens it is
// open (open mode is loopback-only); with tokens it needs a token of level
// admin or metrics (401 without a valid token, 403 for other levels).
func metricsAccess(d *deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if !d.auth.enabled() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var p *principal
			if secret := bearer(r); secret != "" {
				p = d.auth.lookup(secret)
			}
			var limited *apiError
			if p != nil && (p.tok.Level == LevelAdmin || p.tok.Level == LevelMetrics) {
				limited = p.limit() // scrapes count against the token's rate limit too
			}
			switch {
			case p == nil:
				writeError(w, r, d.logger, errorf(http.StatusUnauthorized, CodeUnauthorized, "/metrics needs a bearer token of level admin or metrics"))
			case p.tok.Level != LevelAdmin && p.tok.Level != LevelMetrics:
				writeError(w, r, d.logger, errorf(http.StatusForbidden, CodeForbiddenCommand, "/metrics needs a token of level admin or metrics; this token has %s", p.tok.Level))
			case limited != nil:
				writeError(w, r, d.logger, limited)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// poolCollector reports each database's pool statistics at scrape time.
type poolCollector struct{ m *Metrics }

var (
	poolConnsDesc = prometheus.NewDesc("gateway_pool_connections",
		"Pool connections by database and state (idle, in_use).", []string{"db", "state"}, nil)
	poolEventsDesc = prometheus.NewDesc("gateway_pool_events_total",
		"Pool events by database: hits, misses, waits, timeouts, stale (closed as unusable).", []string{"db", "event"}, nil)
	poolWaitDesc = prometheus.NewDesc("gateway_pool_wait_seconds_total",
		"Total time spent waiting for a free connection, by database.", []string{"db"}, nil)
	scopeUsersDesc = prometheus.NewDesc("gateway_scope_users",
		"Scope backends (one ACL user and pool per distinct token scope) open now, by database.", []string{"db"}, nil)
	scopeConnsDesc = prometheus.NewDesc("gateway_scope_pool_connections",
		"Connections of the scope pools together, by database and state (idle, in_use).", []string{"db", "state"}, nil)
	resp2ConnsDesc = prometheus.NewDesc("gateway_resp2_pool_connections",
		"Connections of the RESP2 pool that serves the Upstash surface, by database and state (idle, in_use); absent until first use.", []string{"db", "state"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConnsDesc
	ch <- poolEventsDesc
	ch <- poolWaitDesc
	ch <- scopeUsersDesc
	ch <- scopeConnsDesc
	ch <- resp2ConnsDesc
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	dbs := append([]*Database(nil), c.m.dbs...)
	scopes := make(map[string]scopeFn, len(c.m.scopes))
	for k, v := range c.m.scopes {
		scopes[k] = v
	}
	resp2 := make(map[string]scopeFn, len(c.m.resp2))
	for k, v := range c.m.resp2 {
		resp2[k] = v
	}
	c.m.mu.Unlock()
	for db, fn := range resp2 {
		if n, s := fn(); n > 0 {
			ch <- prometheus.MustNewConstMetric(resp2ConnsDesc, prometheus.GaugeValue, float64(s.IdleConns), db, "idle")
			ch <- prometheus.MustNewConstMetric(resp2ConnsDesc, prometheus.GaugeValue, float64(s.InUse), db, "in_use")
		}
	}
	for db, fn := range scopes {
		n, s := fn()
		ch <- prometheus.MustNewConstMetric(scopeUsersDesc, prometheus.GaugeValue, float64(n), db)
		ch <- prometheus.MustNewConstMetric(scopeConnsDesc, prometheus.GaugeValue, float64(s.IdleConns), db, "idle")
		ch <- prometheus.MustNewConstMetric(scopeConnsDesc, prometheus.GaugeValue, float64(s.InUse), db, "in_use")
	}
	for _, db := range dbs {
		s := db.Client.Stats()
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.IdleConns), db.Name, "idle")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.InUse), db.Name, "in_use")
		for _, ev := range []struct {
			name string
			v    uint64
		}{{"hits", s.Hits}, {"misses", s.Misses}, {"waits", s.WaitCount}, {"timeouts", s.Timeouts}, {"stale", s.StaleConns}} {
			ch <- prometheus.MustNewConstMetric(poolEventsDesc, prometheus.CounterValue, float64(ev.v), db.Name, ev.name)
		}
		ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), db.Name)
	}
}
