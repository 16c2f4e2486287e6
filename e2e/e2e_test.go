// Package e2e runs the gateway's end-to-end checks that need Node.js: a
// TypeScript SDK generated from /openapi.json and run against a live
// gateway, the spec validated by an OpenAPI validator, and the real-time
// pages in headless Chromium (one with a minted signed token on a single
// multiplexed EventSource). Each test starts its own gateway (in process,
// on a real listener) over a redis-server of its own.
//
// The npm packages come from e2e/package.json (`npm ci` in e2e/, which
// `make deps` runs). Without them the tests skip, unless CI is set, where
// a skip would hide a broken setup and they fail instead.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/tokens"
)

// redis is the server all tests of the package use (keys are unique per
// run).
var redis *redistest.Server

func TestMain(m *testing.M) {
	var err error
	redis, err = redistest.StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start redis-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	redis.Stop()
	os.Exit(code)
}

// need skips (or, under CI, fails) the test when a tool is missing.
func need(t *testing.T, what, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if _, err := exec.LookPath(path); err == nil {
		return
	}
	msg := fmt.Sprintf("%s is missing (%s); run `make deps`", what, path)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func needNode(t *testing.T) {
	t.Helper()
	need(t, "node", "node")
	need(t, "the e2e npm packages", "node_modules/.bin/tsc")
}

// startGateway serves a gateway with databases 0…15 over redis and
// returns its URL.
func startGateway(t *testing.T, cfg api.Config) string {
	t.Helper()
	var dbs []*api.Database
	for i := range 16 {
		pc, err := client.ParseURL(redis.URL(i))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Pool: pc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// tokens below admin run as Redis ACL users, as in the binary
		scoped := func(init [][]string) (client.Backend, error) {
			sc := pc
			sc.InitCommands = init
			return client.New(client.Config{Pool: sc})
		}
		dbs = append(dbs, &api.Database{Name: fmt.Sprint(i), Client: c, Addr: redis.URL(i), Server: pc.Addr, DB: pc.DB, OpenScoped: scoped})
	}
	srv := api.NewServer(nil, cfg, dbs, nil)
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = api.ProblemListener(hs.Listener)
	hs.Config.RegisterOnShutdown(srv.Close)
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

// node runs a Node.js program in e2e/ with extra environment variables and
// fails the test with its output when it exits non-zero.
func node(t *testing.T, timeout time.Duration, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	t.Logf("%s:\n%s", strings.Join(args, " "), out.String())
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// TestGeneratedSDK generates a TypeScript client from the live gateway's
// /openapi.json with openapi-typescript, type-checks a script written
// against it with tsc, runs the script (set/get, hash, zset with scores,
// pipeline, a 404 and a validation error), and validates the served and the
// committed spec with swagger-parser.
func TestGeneratedSDK(t *testing.T) {
	needNode(t)
	gw := startGateway(t, api.Config{})
	if err := os.MkdirAll("gen", 0o755); err != nil {
		t.Fatal(err)
	}
	node(t, time.Minute, nil, "node_modules/.bin/openapi-typescript", gw+"/openapi.json", "-o", "gen/schema.d.ts")
	node(t, 2*time.Minute, nil, "node_modules/.bin/tsc", "-p", "tsconfig.json")
	out := node(t, time.Minute, []string{"GATEWAY_URL=" + gw}, "node", "gen/out/sdk.test.js")
	if !strings.Contains(out, "all SDK checks passed") {
		t.Fatalf("the SDK script did not finish")
	}
	node(t, time.Minute, nil, "node", "validate.mjs", gw+"/openapi.json")
	node(t, time.Minute, nil, "node", "validate.mjs", filepath.Join("..", "openapi", "openapi.json"))
}

// sdkToken is the token the generated clients send through their
// security scheme.
const sdkToken = "sdk-bearer-token"

// startSDKGateway serves a gateway that requires a token (so each
// generator's security scheme is exercised).
func startSDKGateway(t *testing.T) string {
	t.Helper()
	return startGateway(t, api.Config{Tokens: []api.Token{
		{Name: "sdk", Secret: sdkToken, Databases: []string{"*"}, Level: api.LevelAdmin},
	}})
}

// run runs a command in dir and fails the test with its output when it
// exits non-zero.
func run(t *testing.T, timeout time.Duration, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestOapiCodegen generates a Go client from the live gateway's
// /openapi.json with oapi-codegen v2 (pinned as a tool of the separate
// module e2e/sdkgo, so the gateway's own go.mod stays clean), builds
// e2e/sdkgo against it and runs it: odd keys, hash, a zset with an inf
// score, withscores on and off, MGET with a null, /command replies of every
// JSON type, a pipeline with an error, a transaction, typed 404/400/409
// problems, the bearer token. Any reply the spec describes wrongly is a
// decode error there.
func TestOapiCodegen(t *testing.T) {
	gw := startSDKGateway(t)
	spec := filepath.Join(t.TempDir(), "openapi.json")
	resp, err := http.Get(gw + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	if err := os.MkdirAll("sdkgo/gen", 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, 5*time.Minute, "sdkgo", nil, goBin, "tool", "oapi-codegen", "-generate", "types,client", "-package", "gen", "-o", "gen/gateway.gen.go", spec)
	bin := filepath.Join(t.TempDir(), "sdkgo")
	run(t, 5*time.Minute, "sdkgo", nil, goBin, "build", "-o", bin, ".")
	out := run(t, time.Minute, "sdkgo", []string{"GATEWAY_URL=" + gw, "TOKEN=" + sdkToken}, bin)
	if !strings.Contains(out, "all oapi-codegen checks passed") {
		t.Fatal("the oapi-codegen program did not finish")
	}
}

// TestHeyAPI generates a TypeScript SDK from the live gateway's
// /openapi.json with @hey-api/openapi-ts (fetch client), type-checks
// heyapi.test.ts against it and runs it: the scenario of TestOapiCodegen,
// each value checked at run time against its generated type.
func TestHeyAPI(t *testing.T) {
	needNode(t)
	gw := startSDKGateway(t)
	node(t, 2*time.Minute, nil, "node_modules/.bin/openapi-ts", "-i", gw+"/openapi.json", "-o", "gen/heyapi", "-c", "@hey-api/client-fetch", "--no-log-file")
	node(t, 2*time.Minute, nil, "node_modules/.bin/tsc", "-p", "tsconfig.heyapi.json")
	out := node(t, time.Minute, []string{"GATEWAY_URL=" + gw, "TOKEN=" + sdkToken}, "node", "gen/out/heyapi.test.js")
	if !strings.Contains(out, "all hey-api checks passed") {
		t.Fatal("the hey-api script did not finish")
	}
}

// TestOrval generates a fetch client from the live gateway's
// /openapi.json with orval (orval.config.mjs: path parameters encoded,
// orval-fetch.ts as the fetch function), type-checks orval.test.ts
// against it and runs it: the scenario of TestOapiCodegen.
func TestOrval(t *testing.T) {
	needNode(t)
	gw := startSDKGateway(t)
	node(t, 2*time.Minute, []string{"SPEC=" + gw + "/openapi.json"}, "node_modules/.bin/orval", "-c", "orval.config.mjs")
	node(t, 2*time.Minute, nil, "node_modules/.bin/tsc", "-p", "tsconfig.orval.json")
	out := node(t, time.Minute, []string{"GATEWAY_URL=" + gw, "TOKEN=" + sdkToken}, "node", "gen/out/orval.test.js")
	if !strings.Contains(out, "all orval checks passed") {
		t.Fatal("the orval script did not finish")
	}
}

// TestLintSpec runs redocly lint (recommended rules, redocly.yaml) and
// spectral lint (spectral:oas, .spectral.yaml) on openapi/openapi.json (the
// file the gateway embeds and serves) and fails on any error or warning.
// Each rule switched off is in those files, with the reason.
func TestLintSpec(t *testing.T) {
	needNode(t)
	spec := filepath.Join("..", "openapi", "openapi.json")
	quiet := []string{"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1"}
	out := node(t, 2*time.Minute, quiet, "node_modules/.bin/redocly", "lint", spec, "--config", "redocly.yaml")
	// (warnings alone end in "You have N warnings"; a Node.js deprecation
	// notice may also say "warning")
	if !strings.Contains(out, "Your API description is valid") || strings.Contains(out, "You have") || strings.Contains(out, "Validation failed") {
		t.Errorf("redocly lint reports problems")
	}
	out = node(t, 2*time.Minute, quiet, "node_modules/.bin/spectral", "lint", spec, "-r", ".spectral.yaml", "--fail-severity=warn", "-f", "json")
	if i := strings.Index(out, "["); i < 0 || !strings.HasPrefix(out[i:], "[]") {
		t.Errorf("spectral lint reports problems")
	}
}

// TestAsyncAPI parses the served /asyncapi.json and the committed
// openapi/asyncapi.json with the official @asyncapi/parser and fails on
// any diagnostic (error, warning, information or hint).
func TestAsyncAPI(t *testing.T) {
	needNode(t)
	need(t, "@asyncapi/parser", "node_modules/@asyncapi/parser")
	gw := startGateway(t, api.Config{})
	for _, where := range []string{gw + "/asyncapi.json", filepath.Join("..", "openapi", "asyncapi.json")} {
		out := node(t, time.Minute, nil, "node", "validate-asyncapi.mjs", where)
		if !strings.Contains(out, "no diagnostics") {
			t.Fatalf("%s: not parsed cleanly", where)
		}
	}
}

// needChromium skips (or, under CI, fails) without Node.js, Chromium or
// playwright-core, and returns Chromium's path (CHROMIUM overrides it).
func needChromium(t *testing.T) string {
	t.Helper()
	needNode(t)
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	need(t, "chromium", chromium)
	need(t, "playwright-core", "node_modules/playwright-core")
	return chromium
}

// TestBrowserRealtime serves testdata/page.html from one origin and the
// gateway (behind a proxy the test can cut) from another, with CORS
// allowing the page, and drives the page in headless Chromium.
func TestBrowserRealtime(t *testing.T) {
	chromium := needChromium(t)

	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	var proxy atomic.Pointer[cutProxy] // set once the gateway is up
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, proxy.Load().cut())
	})
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)

	gw := startGateway(t, api.Config{CORSOrigins: []string{pages.URL}, Heartbeat: time.Second})
	proxy.Store(newCutProxy(t, strings.TrimPrefix(gw, "http://")))
	node(t, 2*time.Minute, []string{
		"PAGE_URL=" + pages.URL + "/page.html",
		"GATEWAY_URL=http://" + proxy.Load().addr(),
		"DIRECT_URL=" + gw,
		"DROP_URL=" + pages.URL + "/drop",
		"CHROMIUM=" + chromium,
	}, "node", "browser.test.mjs")
}

// TestBrowserSignedMultiplexed serves testdata/multi.html and its backend
// (POST /token, which mints a short-lived token for user 42 with the
// backend's own Mint token, as an app's server would) from one origin and
// the gateway (behind a proxy the test can cut) from another, and drives
// the page in headless Chromium: one EventSource over three channels and
// two streams, a refused channel, a cut with resume, the token's expiry,
// and a new EventSource with a re-minted token resuming the streams.
func TestBrowserSignedMultiplexed(t *testing.T) {
	chromium := needChromium(t)

	page, err := os.ReadFile("testdata/multi.html")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := tokens.NewVerifier(tokens.Config{HMACSecret: []byte("e2e-signing-secret-of-at-least-32-bytes")})
	if err != nil {
		t.Fatal(err)
	}
	const (
		backendToken = "backend-mint-token"
		adminToken   = "driver-admin-token"
		ttl          = 8 // seconds: long enough for the checks before it, short for the test
	)
	var (
		proxy atomic.Pointer[cutProxy] // set once the gateway is up
		gw    atomic.Value             // the gateway's URL, likewise
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /multi.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, proxy.Load().cut())
	})
	// the page's backend: it would check its own session first, then ask
	// for a token no wider than user 42's keys and channels
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		body := fmt.Sprintf(`{"subject":"user-42","databases":["0"],"level":"read","keys":["u:42:*"],"channels":["u:42:*"],"ttl_seconds":%d}`, ttl)
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, gw.Load().(string)+"/tokens", strings.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Authorization", "Bearer "+backendToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)

	url := startGateway(t, api.Config{
		CORSOrigins: []string{pages.URL},
		Heartbeat:   time.Second,
		Signed:      signed,
		Tokens: []api.Token{
			{Name: "backend", Secret: backendToken, Databases: []string{"0"}, Level: api.LevelRead, Keys: []string{"u:42:*"}, Channels: []string{"u:42:*"}, Mint: true},
			{Name: "driver", Secret: adminToken, Databases: []string{"*"}, Level: api.LevelAdmin},
		},
	})
	gw.Store(url)
	proxy.Store(newCutProxy(t, strings.TrimPrefix(url, "http://")))
	out := node(t, 2*time.Minute, []string{
		"PAGE_URL=" + pages.URL + "/multi.html",
		"GATEWAY_URL=http://" + proxy.Load().addr(),
		"DIRECT_URL=" + url,
		"ADMIN_TOKEN=" + adminToken,
		"DROP_URL=" + pages.URL + "/drop",
		"CHROMIUM=" + chromium,
	}, "node", "multi.test.mjs")
	if !strings.Contains(out, "all multiplexed browser checks passed") {
		t.Fatal("the multiplexed browser script did not finish")
	}
}

// cutProxy forwards TCP connections to a target and can cut them all at
// once, as a network drop would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in] = struct{}{}
		p.conns[out] = struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(in, out)
		go pipe(out, in)
	}
}

// cut closes every proxied connection and returns how many it closed.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	return n
}

// TestUpstashClient runs the official @upstash/redis client against the
// gateway's /upstash/0 surface with a write token and a read-only token.
func TestUpstashClient(t *testing.T) {
	needNode(t)
	need(t, "@upstash/redis", "node_modules/@upstash/redis")
	gw := startGateway(t, api.Config{Tokens: []api.Token{
		{Name: "app", Secret: "upstash-write-token", Databases: []string{"*"}, Level: api.LevelWrite},
		{Name: "viewer", Secret: "upstash-read-token", Databases: []string{"*"}, Level: api.LevelRead},
	}})
	out := node(t, 2*time.Minute, []string{
		"GATEWAY_URL=" + gw + "/upstash/0",
		"TOKEN=upstash-write-token",
		"READ_TOKEN=upstash-read-token",
	}, "node", "upstash.test.mjs")
	if !strings.Contains(out, "all @upstash/redis checks passed") {
		t.Fatal("the @upstash/redis script did not finish")
	}
}
