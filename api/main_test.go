package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// shared is the redis-server every test of the package may use; tests
// prefix their keys with t.Name(). Tests that change server state start
// their own with redistest.Start.
var shared *redistest.Server

func TestMain(m *testing.M) {
	var err error
	shared, err = redistest.StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api tests: start redis-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

// gateway is a test gateway over a real Redis: databases "0"…"15" plus any
// extra named ones, served by httptest.
type gateway struct {
	URL   string
	Redis *redistest.Server
	DBs   map[string]*Database
}

// gatewayOpts tweaks newGateway.
type gatewayOpts struct {
	cfg   Config
	redis *redistest.Server // default: the shared server
	extra []*Database       // more databases (named)
	// callbacks overrides per database name: command → callback name.
	callbacks map[string]map[string]string
}

// newGateway starts a gateway for the test; everything is closed in
// t.Cleanup.
func newGateway(tb testing.TB, opts gatewayOpts) *gateway {
	tb.Helper()
	rs := opts.redis
	if rs == nil {
		rs = shared
	}
	g := &gateway{Redis: rs, DBs: map[string]*Database{}}
	var dbs []*Database
	for i := range 16 {
		name := fmt.Sprint(i)
		dbs = append(dbs, newTestDB(tb, name, rs.URL(i)))
	}
	dbs = append(dbs, opts.extra...)
	for _, db := range dbs {
		g.DBs[db.Name] = db
		for cmd, cb := range opts.callbacks[db.Name] {
			fn, ok := client.CallbackByName(cb)
			if !ok {
				tb.Fatalf("unknown callback %q", cb)
			}
			db.Client.SetResponseCallback(cmd, fn)
		}
	}
	g.URL = newHTTPServer(tb, NewServer(nil, opts.cfg, dbs, nil))
	return g
}

// newHTTPServer serves srv on a loopback port until the test ends and
// returns its URL.
func newHTTPServer(tb testing.TB, srv *Server) string {
	tb.Helper()
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.RegisterOnShutdown(srv.Close)
	hs.Start()
	tb.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

// newTestDB builds a Database named name over the Redis at url.
func newTestDB(tb testing.TB, name, url string) *Database {
	tb.Helper()
	// GATEWAY_TEST_AUTO_PIPELINE=1 runs the whole suite with
	// auto-pipelined clients (make test does, in a second pass).
	return newTestDBWith(tb, name, url, func(cfg *client.Config) {
		cfg.AutoPipeline = os.Getenv("GATEWAY_TEST_AUTO_PIPELINE") == "1"
	})
}

// newTestDBWith builds a Database over the Redis at url with the client
// settings changed by tweak (nil: defaults), closed when the test ends.
func newTestDBWith(tb testing.TB, name, url string, tweak func(*client.Config)) *Database {
	tb.Helper()
	pc, err := client.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse %s: %v", url, err)
	}
	cfg := client.Config{Pool: pc}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatalf("client for %s: %v", url, err)
	}
	tb.Cleanup(func() { c.Close() })
	opener := func(proto int) func(init [][]string) (client.Backend, error) {
		return func(init [][]string) (client.Backend, error) {
			sc := cfg
			sc.Pool.InitCommands = init
			sc.Pool.Protocol = proto
			return client.New(sc)
		}
	}
	return &Database{Name: name, Client: c, Addr: url, Server: pc.Addr, DB: pc.DB, OpenScoped: opener(3), OpenRESP2: opener(2), ACLSecret: pc.Password}
}

// reply is a finished HTTP exchange.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value (numbers as json.Number).
func (r reply) JSON(tb testing.TB) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("body is not JSON: %v: %q", err, r.Body)
	}
	return v
}

// Problem decodes a problem+json body, failing if the content type is not
// application/problem+json.
func (r reply) Problem(tb testing.TB) Problem {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.Status, r.Body)
	}
	var p Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		tb.Fatalf("problem body: %v: %s", err, r.Body)
	}
	return p
}

// do sends a request. body may be nil, a string or []byte (sent as is), or
// any other value (sent as JSON). headers are "Name: value" strings
// ("Host: …" sets the request's Host).
func (g *gateway) do(tb testing.TB, method, path string, body any, headers ...string) reply {
	tb.Helper()
	var rd io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
		isJSON = true
	}
	req, err := http.NewRequestWithContext(tb.(interface{ Context() context.Context }).Context(), method, g.URL+path, rd)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(k), "Host") {
			req.Host = strings.TrimSpace(v) // the Host header is not in req.Header
			continue
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}
