package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// started is a gateway run by run() in the test process.
type started struct {
	URL    string
	cancel context.CancelFunc
	done   chan error
}

// startGateway runs run() with args and env, waits for its "listening on"
// line and for /readyz, and stops it in Cleanup.
func startGateway(tb testing.TB, env map[string]string, args ...string) *started {
	tb.Helper()
	return startGatewayClient(tb, http.DefaultClient, env, args...)
}

// startGatewayClient is startGateway polling /readyz with hc (one that
// trusts the gateway's certificate, for HTTPS).
func startGatewayClient(tb testing.TB, hc *http.Client, env map[string]string, args ...string) *started {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	getenv := func(k string) string { return env[k] }
	s := &started{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"gateway", "--addr", "127.0.0.1:0"}, args...), getenv, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("run returned: %v", err))
		s.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		tb.Fatalf("gateway did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if !ok {
		tb.Fatalf("unexpected first line %q", line)
	}
	s.URL = url
	tb.Cleanup(func() { s.stop(tb) })
	waitStatusClient(tb, hc, url+"/readyz", http.StatusOK)
	return s
}

func (s *started) stop(tb testing.TB) {
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			tb.Errorf("run returned %v, want nil after cancel", err)
		}
	case <-time.After(20 * time.Second):
		tb.Errorf("run did not return after cancel")
	}
}

// waitStatus polls url until it answers want, for up to 10 s.
func waitStatus(tb testing.TB, url string, want int) {
	tb.Helper()
	waitStatusClient(tb, http.DefaultClient, url, want)
}

// waitStatusClient is waitStatus with the client hc.
func waitStatusClient(tb testing.TB, hc *http.Client, url string, want int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := 0
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url)
		if err == nil {
			last = resp.StatusCode
			resp.Body.Close()
			if last == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("GET %s: last status %d, want %d", url, last, want)
}

func httpDo(tb testing.TB, method, url, body string) (int, string) {
	tb.Helper()
	return httpDoAs(tb, "", method, url, body)
}

// httpDoAs is httpDo with a bearer token ("" for none).
func httpDoAs(tb testing.TB, token, method, url, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startWithConfig runs the gateway with yaml as its configuration file.
func startWithConfig(tb testing.TB, yaml string) *started {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	return startGateway(tb, nil, "--config", path)
}

func TestRunEmbedded(t *testing.T) {
	g := startGateway(t, nil)
	code, body := httpDo(t, "POST", g.URL+"/db/0/command", `{"command":["SET","greeting","hello"]}`)
	if code != 200 {
		t.Fatalf("SET: got %d %s, want 200", code, body)
	}
	code, body = httpDo(t, "POST", g.URL+"/db/0/command", `{"command":["GET","greeting"]}`)
	if code != 200 || !strings.Contains(body, `"hello"`) {
		t.Fatalf("GET: got %d %s, want 200 with hello", code, body)
	}
	code, body = httpDo(t, "POST", g.URL+"/db/1/command", `{"command":["GET","greeting"]}`)
	if code != 200 || !strings.Contains(body, `null`) {
		t.Fatalf("GET on db 1: got %d %s, want null (databases are separate)", code, body)
	}
	code, body = httpDo(t, "GET", g.URL+"/metrics", "")
	if code != 200 || !strings.Contains(body, "gateway_http_requests_total") || !strings.Contains(body, `gateway_redis_commands_total{command="SET",db="0",outcome="ok"} 1`) {
		t.Fatalf("metrics: got %d, want series gateway_http_requests_total and one SET on db 0:\n%s", code, body)
	}
}

// TestRunStrayPercent: the binary answers a path with an unescaped "%"
// (which net/http refuses before routing) with problem+json.
func TestRunStrayPercent(t *testing.T) {
	g := startGateway(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /db/0/strings/100% HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), `"code":"VALIDATION"`) {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestRunWithConfigFile(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	cfg := fmt.Sprintf(`
redis_url: %s
databases: 2
named_databases:
  cache:
    url: %s
    callbacks:
      HGETALL: pairs
command_timeout: 2s
`, rs.URL(0), rs.URL(5))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{"GATEWAY_CONFIG": path})
	code, body := httpDo(t, "POST", g.URL+"/db/cache/command", `{"command":["HSET","h","f","v"]}`)
	if code != 200 {
		t.Fatalf("HSET on cache: got %d %s", code, body)
	}
	code, body = httpDo(t, "POST", g.URL+"/db/cache/command", `{"command":["HGETALL","h"]}`)
	if code != 200 || !strings.Contains(body, `[["f","v"]]`) {
		t.Fatalf("HGETALL on cache with pairs callback: got %d %s, want [[\"f\",\"v\"]]", code, body)
	}
	code, _ = httpDo(t, "GET", g.URL+"/db/2/dbsize", "")
	if code != 404 {
		t.Fatalf("db 2 with databases: 2: got %d, want 404", code)
	}
}

func TestBadConfigListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("databases: -1\nmax_pipeline: 0\nlog_level: loud\nredis_url: http://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), []string{"gateway", "--config", path, "--command-timeout", "soon"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with a bad config: got nil error, want every problem listed")
	}
	for _, want := range []string{"databases", "max_pipeline", "log_level", "redis_url", "--command-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestNonLoopbackNeedsOptIn(t *testing.T) {
	err := run(t.Context(), []string{"gateway", "--addr", "0.0.0.0:0"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "insecure_no_auth") {
		t.Fatalf("got %v, want a refusal naming insecure_no_auth", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"gateway", "--version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "redis-gateway ") {
		t.Fatalf("--version: got %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"gateway", "--help"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		if !strings.Contains(out.String(), o.env) {
			t.Errorf("--help does not list %s", o.env)
		}
	}
}

func TestTokensFromConfigFile(t *testing.T) {
	rs := redistest.Start(t)
	g := startWithConfig(t, fmt.Sprintf(`
redis_url: %s
databases: 1
tokens:
  - name: app
    token: s3cret
    databases: ["*"]
    level: write
  - name: ops
    token_sha256: 8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92
    databases: ["0"]
    level: read
`, rs.URL(0)))
	req := func(token string) int {
		code, _ := httpDoAs(t, token, "GET", g.URL+"/db/0/dbsize", "")
		return code
	}
	if got := req(""); got != 401 {
		t.Fatalf("no token: %d, want 401", got)
	}
	if got := req("s3cret"); got != 200 {
		t.Fatalf("plain token: %d", got)
	}
	if got := req("123456"); got != 200 { // sha256("123456") is in the file
		t.Fatalf("hashed token: %d", got)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	_, err := loadConfig([]string{"gateway", "--config", "../../deploy/gateway.example.yaml"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("deploy/gateway.example.yaml: %v", err)
	}
}

// TestREADMEListsEveryOption keeps the README's configuration table in step
// with the options the binary accepts.
func TestREADMEListsEveryOption(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		if !strings.Contains(string(readme), "`"+o.env+"`") || !strings.Contains(string(readme), "`--"+o.flag+"`") {
			t.Errorf("README.md's configuration table lacks %s / --%s", o.env, o.flag)
		}
	}
}

// TestMetricsScrape scrapes /metrics of a running gateway after some
// traffic and an open event stream, and checks every series the README
// lists is there with a value that matches what happened.
func TestMetricsScrape(t *testing.T) {
	g := startGateway(t, nil)
	for range 3 {
		if code, body := httpDo(t, "PUT", g.URL+"/db/0/strings/m", `{"value":"v"}`); code != 200 {
			t.Fatalf("PUT: %d %s", code, body)
		}
	}
	httpDo(t, "GET", g.URL+"/db/0/strings/absent", "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.URL+"/db/0/channels/metrics/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("SSE: %v %v", res, err)
	}
	defer res.Body.Close()
	code, body := httpDo(t, "GET", g.URL+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`gateway_http_requests_total{method="PUT",route="/db/{db}/strings/{key}",status="200"} 3`,
		`gateway_http_requests_total{method="GET",route="/db/{db}/strings/{key}",status="404"} 1`,
		`gateway_http_request_duration_seconds_count{method="PUT",route="/db/{db}/strings/{key}"} 3`,
		`gateway_redis_commands_total{command="SET",db="0",outcome="ok"} 3`,
		`gateway_redis_command_duration_seconds_count{command="SET",db="0"} 3`,
		`gateway_subscribers{db="0",kind="sse"} 1`,
		`gateway_pool_connections{db="0",state="idle"}`,
		`gateway_pool_events_total{db="0",event="hits"}`,
		`gateway_pool_wait_seconds_total{db="0"}`,
		`gateway_scope_users{db="0"} 0`,
		`gateway_scope_pool_connections{db="0",state="idle"} 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
		`gateway_log_dropped_lines_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "strings/m") || strings.Contains(body, "absent") {
		t.Error("/metrics carries a key name; routes must be patterns")
	}
}

// TestMetricsAddr serves /metrics (and pprof, on the same address) apart
// from the API, which then answers 404 for /metrics; a metrics token from
// the file may scrape the main address's /metrics when that is on.
func TestMetricsAddr(t *testing.T) {
	ops := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	g := startGateway(t, map[string]string{"GATEWAY_METRICS_ADDR": ops, "GATEWAY_PPROF_ADDR": ops})
	httpDo(t, "PUT", g.URL+"/db/0/strings/k", `{"value":"v"}`)
	cases := []struct {
		name   string
		url    string
		status int
		want   string
	}{
		{"main address has no /metrics", g.URL + "/metrics", 404, ""},
		{"metrics address", "http://" + ops + "/metrics", 200, `gateway_redis_commands_total{command="SET",db="0",outcome="ok"} 1`},
		{"pprof shares the metrics address", "http://" + ops + "/debug/pprof/", 200, "goroutine"},
		{"metrics address serves nothing else", "http://" + ops + "/db/0/strings/k", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := httpDo(t, "GET", tc.url, "")
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s: got %d %.300s, want %d with %q", tc.url, code, body, tc.status, tc.want)
			}
		})
	}
}

func TestMetricsTokenFromConfigFile(t *testing.T) {
	rs := redistest.Start(t)
	g := startWithConfig(t, fmt.Sprintf(`
redis_url: %s
databases: 1
tokens:
  - name: scraper
    token: scrape-secret
    level: metrics
  - name: app
    token: app-secret
    databases: ["*"]
    level: write
`, rs.URL(0)))
	cases := []struct {
		path, token string
		status      int
	}{
		{"/metrics", "scrape-secret", 200},
		{"/metrics", "app-secret", 403},
		{"/metrics", "", 401},
		{"/db/0/dbsize", "scrape-secret", 403},
		{"/db/0/dbsize", "app-secret", 200},
	}
	for _, tc := range cases {
		if code, _ := httpDoAs(t, tc.token, "GET", g.URL+tc.path, ""); code != tc.status {
			t.Errorf("GET %s with %q: got %d, want %d", tc.path, tc.token, code, tc.status)
		}
	}
}

// TestEmbeddedSafeMethods: the embedded Redis answers COMMAND INFO with
// its whole table; read-only commands must still be told apart, so that
// GET of the Upstash path form reads and never writes.
func TestEmbeddedSafeMethods(t *testing.T) {
	g := startGateway(t, nil)
	cases := []struct {
		method, path string
		status       int
		want         string
	}{
		{"POST", "/upstash/0/set/seen/1", 200, `{"result":"OK"}`},
		{"GET", "/upstash/0/get/seen", 200, `{"result":"1"}`},
		{"GET", "/upstash/0/set/written-by-get/1", 405, `not read-only`},
		{"HEAD", "/upstash/0/set/written-by-head/1", 405, ``},
		{"GET", "/upstash/0/exists/written-by-get/written-by-head", 200, `{"result":0}`},
	}
	for _, tc := range cases {
		code, body := httpDo(t, tc.method, g.URL+tc.path, "")
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: got %d %s, want %d with %q", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
}

// TestScopedTokensThroughTheBinary checks the wiring of scope backends:
// on a real Redis a key-patterned token's script is contained by its ACL
// user; on the embedded server (no ACL users) scripts need admin and the
// key-patterned token is refused.
func TestScopedTokensThroughTheBinary(t *testing.T) {
	rs := redistest.Start(t)
	tokens := `
tokens:
  - name: app
    token: app
    databases: ["*"]
    level: write
  - name: user42
    token: user42
    databases: ["0"]
    level: write
    keys: ["user:42:*"]
`
	for _, c := range []struct {
		name   string
		config string
		want   map[string]int // body → status, for token user42 unless prefixed "app "
	}{
		{"redis", "redis_url: " + rs.URL(0) + "\ndatabases: 2\n" + tokens, map[string]int{
			`{"command":["SET","user:42:a","1"]}`:                                200,
			`{"command":["SET","user:7:a","1"]}`:                                 403,
			`{"command":["EVAL","return redis.call('SET','user:7:a','1')","0"]}`: 403,
			`app {"command":["EVAL","return redis.call('SET','x','1')","0"]}`:    200,
			`app {"command":["EVAL","return redis.call('FLUSHALL')","0"]}`:       403,
		}},
		{"embedded", "databases: 2\n" + tokens, map[string]int{
			`{"command":["SET","user:42:a","1"]}`:                             403,
			`app {"command":["EVAL","return redis.call('SET','x','1')","0"]}`: 403,
			`app {"command":["SET","x","1"]}`:                                 200,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startWithConfig(t, c.config)
			for body, want := range c.want {
				token := "user42"
				if b, ok := strings.CutPrefix(body, "app "); ok {
					token, body = "app", b
				}
				if got, resp := httpDoAs(t, token, "POST", g.URL+"/db/0/command", body); got != want {
					t.Errorf("%s %s: got %d %s, want %d", token, body, got, resp, want)
				}
			}
		})
	}
	if v := rs.Do(t, "EXISTS", "user:7:a"); v.Int != 0 {
		t.Fatal("a refused write landed")
	}
	if v := rs.Do(t, "EXISTS", "user:42:a", "x"); v.Int != 2 {
		t.Fatalf("the refused FLUSHALL script removed keys: %d of 2 left", v.Int)
	}
}

// TestEmbeddedBehavesLikeRedis pins two differences of the embedded server
// that surprised first users: keys with a TTL expire on the wall clock,
// and a transaction holding an unknown command is discarded whole
// (EXECABORT, 400) instead of running the rest and answering 503.
func TestEmbeddedBehavesLikeRedis(t *testing.T) {
	g := startGateway(t, nil)
	code, body := httpDo(t, "PUT", g.URL+"/db/0/strings/ttl", `{"value":"x","ttl_ms":300}`)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ = httpDo(t, "GET", g.URL+"/db/0/strings/ttl", "")
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 300 ms TTL still exists after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, body = httpDo(t, "POST", g.URL+"/db/0/transaction", `{"commands":[["INCR","n"],["NOSUCHCMD"]]}`)
	if code != 400 || !strings.Contains(body, "EXECABORT") {
		t.Fatalf("transaction with an unknown command: got %d %s, want 400 EXECABORT", code, body)
	}
	if code, body = httpDo(t, "GET", g.URL+"/db/0/strings/n", ""); code != 404 {
		t.Fatalf("the discarded transaction's INCR ran: %d %s", code, body)
	}
	code, body = httpDo(t, "POST", g.URL+"/upstash/0/multi-exec", `[["INCR","n"],["NOSUCHCMD"]]`)
	if code != 400 || !strings.Contains(body, "EXECABORT") {
		t.Fatalf("Upstash multi-exec with an unknown command: got %d %s, want 400 EXECABORT", code, body)
	}
	if code, body = httpDo(t, "GET", g.URL+"/db/0/strings/n", ""); code != 404 {
		t.Fatalf("the discarded Upstash transaction's INCR ran: %d %s", code, body)
	}
}
