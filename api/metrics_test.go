package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis-gateway/redis-gateway/client"
)

// metricsGateway is a gateway over the shared Redis whose database 0
// reports to a fresh registry, which is returned too.
func metricsGateway(tb testing.TB, cfg Config) (*gateway, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg, reg)
	db := newTestDBWith(tb, "0", shared.URL(0), func(c *client.Config) { c.Observe = metrics.Observer("0") })
	g := &gateway{Redis: shared, DBs: map[string]*Database{"0": db}}
	g.URL = newHTTPServer(tb, NewServer(nil, cfg, []*Database{db}, metrics))
	return g, reg
}

func TestMetricsLabelsComeFromTheCommandTable(t *testing.T) {
	t.Parallel()
	g, reg := metricsGateway(t, Config{})
	marker := "userText" + strings.Repeat("x", 40<<10)
	cases := []struct {
		name    string
		method  string
		command []string
		label   string
	}{
		{"known command", "POST", []string{"GET", t.Name()}, "GET"},
		{"lower-case known command", "POST", []string{"strlen", t.Name()}, "STRLEN"},
		{"known subcommand", "POST", []string{"CONFIG", "GET", "maxmemory"}, "CONFIG GET"},
		{"unknown subcommand", "POST", []string{"OBJECT", marker, "k"}, otherCommand},
		{"unknown command", "POST", []string{marker}, otherCommand},
	}
	for _, tc := range cases {
		g.do(t, tc.method, "/db/0/command", map[string]any{"command": tc.command})
	}
	g.do(t, "X"+marker[:100], "/db/0/command", nil) // a method is client text too
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "userText") || strings.Contains(l.GetValue(), "xxxx") {
					t.Fatalf("%s{%s}: got a label holding request text (%d bytes), want none", f.GetName(), l.GetName(), len(l.GetValue()))
				}
				if l.GetName() == "command" {
					seen[l.GetValue()] = true
					if l.GetValue() != otherCommand && !commandTable[l.GetValue()] {
						t.Fatalf("%s: got command label %q, want one from the command table or %q", f.GetName(), l.GetValue(), otherCommand)
					}
				}
			}
		}
	}
	for _, tc := range cases {
		if !seen[tc.label] {
			t.Fatalf("%s: got command labels %v, want %q among them", tc.name, seen, tc.label)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("got command labels %v, want exactly GET, STRLEN, CONFIG GET and %s", seen, otherCommand)
	}
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	tokens := []Token{
		{Name: "admin", Secret: "admin-secret", Databases: []string{"*"}, Level: LevelAdmin},
		{Name: "scraper", Secret: "metrics-secret", Databases: []string{"*"}, Level: LevelMetrics},
		{Name: "writer", Secret: "write-secret", Databases: []string{"*"}, Level: LevelWrite},
	}
	key := t.Name() + ":k"
	cases := []struct {
		name         string
		cfg          Config
		method, path string
		body         any
		token        string
		status       int
		code         string
	}{
		{"open mode: /metrics open", Config{}, "GET", "/metrics", nil, "", 200, ""},
		{"tokens: no token", Config{Tokens: tokens}, "GET", "/metrics", nil, "", 401, CodeUnauthorized},
		{"tokens: bad token", Config{Tokens: tokens}, "GET", "/metrics", nil, "nope", 401, CodeUnauthorized},
		{"tokens: write token", Config{Tokens: tokens}, "GET", "/metrics", nil, "write-secret", 403, CodeForbiddenCommand},
		{"tokens: admin token", Config{Tokens: tokens}, "GET", "/metrics", nil, "admin-secret", 200, ""},
		{"tokens: metrics token", Config{Tokens: tokens}, "GET", "/metrics", nil, "metrics-secret", 200, ""},
		{"metrics token may not run commands", Config{Tokens: tokens}, "POST", "/db/0/command", map[string]any{"command": []string{"SET", key, "v"}}, "metrics-secret", 403, CodeForbiddenDatabase},
		{"metrics token may not read", Config{Tokens: tokens}, "GET", "/db/0/dbsize", nil, "metrics-secret", 403, CodeForbiddenDatabase},
		{"metrics token may not list databases", Config{Tokens: tokens}, "GET", "/databases", nil, "metrics-secret", 403, CodeForbiddenDatabase},
		{"route off", Config{MetricsRouteOff: true}, "GET", "/metrics", nil, "", 404, CodeNotFound},
		{"public: healthz", Config{Tokens: tokens}, "GET", "/healthz", nil, "", 200, ""},
		{"public: openapi.json", Config{Tokens: tokens}, "GET", "/openapi.json", nil, "", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := metricsGateway(t, tc.cfg)
			var headers []string
			if tc.token != "" {
				headers = append(headers, "Authorization: Bearer "+tc.token)
			}
			rep := g.do(t, tc.method, tc.path, tc.body, headers...)
			if rep.Status != tc.status {
				t.Fatalf("%s %s with %q: got %d %s, want %d", tc.method, tc.path, tc.token, rep.Status, rep.Body, tc.status)
			}
			if tc.code != "" {
				if p := rep.Problem(t); p.Code != tc.code {
					t.Fatalf("%s %s: got code %q, want %q", tc.method, tc.path, p.Code, tc.code)
				}
			}
		})
	}
	if v := shared.Do(t, "EXISTS", key); v.Int != 0 {
		t.Fatal("a metrics token wrote a key")
	}
}

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in      string
		want    Level
		wantErr bool
	}{
		{"read", LevelRead, false},
		{"write", LevelWrite, false},
		{"admin", LevelAdmin, false},
		{"metrics", LevelMetrics, false},
		{"METRICS", LevelMetrics, false},
		{"root", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLevel(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseLevel(%q): got %v, %v, want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err == nil && got.String() != strings.ToLower(tc.in) {
				t.Fatalf("ParseLevel(%q).String(): got %q, want %q", tc.in, got.String(), strings.ToLower(tc.in))
			}
			if err == nil {
				if verr := (Config{Tokens: []Token{{Name: "t", Secret: "s", Level: got}}}).Validate(); verr != nil {
					t.Fatalf("a %s token: got %v, want valid", got, verr)
				}
			}
		})
	}
	if err := (Config{Tokens: []Token{{Name: "t", Secret: "s"}}}).Validate(); err == nil {
		t.Fatal("a token without a level: got valid, want an error")
	}
	if err := (Config{CORSOrigins: []string{"https://app.example/path"}}).Validate(); err == nil {
		t.Fatal("a CORS origin with a path: got valid, want an error")
	}
}

// TestScopePoolsAreReported: a scoped token's requests run on their own
// ACL user's pool; /databases and /metrics show it next to the main pool.
func TestScopePoolsAreReported(t *testing.T) {
	g, reg := metricsGateway(t, Config{Tokens: []Token{
		{Name: "admin", Secret: "admin", Databases: []string{"*"}, Level: LevelAdmin},
		{Name: "u42", Secret: "u42", Databases: []string{"0"}, Level: LevelWrite, Keys: []string{t.Name() + ":*"}},
	}})
	if r := g.do(t, "PUT", "/db/0/strings/"+t.Name()+":k", map[string]any{"value": "v"}, "Authorization: Bearer u42"); r.Status/100 != 2 {
		t.Fatalf("scoped PUT: %d %s", r.Status, r.Body)
	}
	r := g.do(t, "GET", "/databases", nil, "Authorization: Bearer admin")
	var list DatabaseList
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Databases) != 1 {
		t.Fatalf("/databases: %d %s", r.Status, r.Body)
	}
	sc := list.Databases[0].Scopes
	if sc.Users != 1 || sc.Pool.TotalConns < 1 || sc.Pool.Misses < 1 {
		t.Fatalf("scopes %+v: want one user with a dialled connection", sc)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "state" {
					name += "/" + l.GetValue()
				}
			}
			found[name] = m.GetGauge().GetValue()
		}
	}
	if _, ok := found["gateway_resp2_pool_connections/idle"]; ok {
		t.Fatal("RESP2 pool reported before the Upstash surface was used")
	}
	if found["gateway_scope_users"] != 1 || found["gateway_scope_pool_connections/idle"] < 1 {
		t.Fatalf("scope metrics: users %v, idle %v", found["gateway_scope_users"], found["gateway_scope_pool_connections/idle"])
	}
}

// TestMetricsScrapesAreRateLimited: /metrics takes from the token's rate
// limit like every other route (it did not, so a metrics token had no
// limit at all).
func TestMetricsScrapesAreRateLimited(t *testing.T) {
	g, _ := metricsGateway(t, Config{Tokens: []Token{
		{Name: "scraper", Secret: "metrics-secret", Databases: []string{"*"}, Level: LevelMetrics, RateLimit: 0.01, Burst: 2},
	}})
	auth := "Authorization: Bearer metrics-secret"
	for i := range 2 {
		if r := g.do(t, "GET", "/metrics", nil, auth); r.Status != 200 {
			t.Fatalf("scrape %d: %d", i, r.Status)
		}
	}
	r := g.do(t, "GET", "/metrics", nil, auth)
	if r.Status != 429 || r.Problem(t).Code != CodeRateLimited || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third scrape: %d %s (Retry-After %q), want 429 RATE_LIMITED", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}

// TestRESP2PoolIsReported: the Upstash surface's RESP2 pool shows in the
// metrics once used.
func TestRESP2PoolIsReported(t *testing.T) {
	g, reg := metricsGateway(t, Config{})
	if r := g.do(t, "POST", "/upstash/0", `["PING"]`); r.Status != 200 {
		t.Fatalf("upstash PING: %d %s", r.Status, r.Body)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "gateway_resp2_pool_connections" {
			var total float64
			for _, m := range f.GetMetric() {
				total += m.GetGauge().GetValue()
			}
			if total < 1 {
				t.Fatalf("RESP2 pool reports %v connections after a command", total)
			}
			return
		}
	}
	t.Fatal("gateway_resp2_pool_connections missing after an Upstash command")
}
