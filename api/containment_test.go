package api

import (
	"net/url"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// containmentCase is one request and the status (and, for refusals, the
// code) it must get; key, when set, must not exist afterwards.
type containmentCase struct {
	name         string
	method, path string
	body         any
	headers      []string
	status       int
	code         string // problem code, or text in an Upstash {"error"}
	key          string // written by the request if it were let through
}

func runContainment(t *testing.T, g *gateway, cases []containmentCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := g.do(t, tc.method, tc.path, tc.body, tc.headers...)
			if rep.Status != tc.status {
				t.Fatalf("%s %s %v: got %d %s, want %d", tc.method, tc.path, tc.headers, rep.Status, rep.Body, tc.status)
			}
			switch {
			case tc.code == "":
			case strings.HasPrefix(tc.path, "/upstash/"):
				if tc.method != "HEAD" && !strings.Contains(string(rep.Body), `{"error":"`+tc.code) {
					t.Fatalf("%s %s: got body %s, want an Upstash error starting %q", tc.method, tc.path, rep.Body, tc.code)
				}
			default:
				if p := rep.Problem(t); p.Code != tc.code {
					t.Fatalf("%s %s: got code %q, want %q", tc.method, tc.path, p.Code, tc.code)
				}
			}
			if tc.key != "" {
				if v := g.Redis.Do(t, "EXISTS", tc.key); v.Int != 0 {
					t.Fatalf("%s %s was refused but wrote %q", tc.method, tc.path, tc.key)
				}
			}
		})
	}
}

func TestOpenModeRefusesForeignHosts(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{AllowedHosts: []string{"gw.internal", "pinned.internal:8443"}}})
	k := func(s string) string { return t.Name() + ":" + s }
	put := func(key string) map[string]any { return map[string]any{"command": []string{"SET", key, "v"}} }
	runContainment(t, g, []containmentCase{
		{name: "rebinding name", method: "POST", path: "/db/0/command", body: put(k("rebind")), headers: []string{"Host: evil.example:8080"}, status: 403, code: CodeForbiddenHost, key: k("rebind")},
		{name: "rebinding name without port", method: "GET", path: "/db/0/strings/x", headers: []string{"Host: evil.example"}, status: 403, code: CodeForbiddenHost},
		{name: "upstash answers its own format", method: "POST", path: "/upstash/0/set/" + url.PathEscape(k("up")) + "/x", headers: []string{"Host: evil.example"}, status: 403, code: "NOPERM", key: k("up")},
		{name: "public endpoints too", method: "GET", path: "/healthz", headers: []string{"Host: evil.example"}, status: 403, code: CodeForbiddenHost},
		{name: "unallowed port of a pinned host", method: "GET", path: "/healthz", headers: []string{"Host: pinned.internal:80"}, status: 403, code: CodeForbiddenHost},
		{name: "loopback suffix is not loopback", method: "GET", path: "/healthz", headers: []string{"Host: 127.0.0.1.evil.example"}, status: 403, code: CodeForbiddenHost},
		{name: "localhost", method: "GET", path: "/healthz", headers: []string{"Host: localhost:9999"}, status: 200},
		{name: "LOCALHOST", method: "GET", path: "/healthz", headers: []string{"Host: LOCALHOST"}, status: 200},
		{name: "127/8", method: "GET", path: "/healthz", headers: []string{"Host: 127.3.2.1:80"}, status: 200},
		{name: "ipv6 loopback", method: "GET", path: "/healthz", headers: []string{"Host: [::1]:8080"}, status: 200},
		{name: "allowed host, any port", method: "GET", path: "/healthz", headers: []string{"Host: gw.internal:1234"}, status: 200},
		{name: "pinned host and port", method: "GET", path: "/healthz", headers: []string{"Host: pinned.internal:8443"}, status: 200},
	})
}

func TestTokensSkipHostCheckUnlessAllowedHostsSet(t *testing.T) {
	t.Parallel()
	tok := []Token{{Name: "a", Secret: "s3cret", Databases: []string{"*"}, Level: LevelAdmin}}
	auth := "Authorization: Bearer s3cret"
	cases := []struct {
		name    string
		allowed []string
		status  int
	}{
		{"no allowed hosts: any host", nil, 200},
		{"allowed hosts set: enforced", []string{"gw.internal"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, gatewayOpts{cfg: Config{Tokens: tok, AllowedHosts: tc.allowed}})
			if rep := g.do(t, "GET", "/db/0/dbsize", nil, auth, "Host: gw.example.com"); rep.Status != tc.status {
				t.Fatalf("Host gw.example.com: got %d %s, want %d", rep.Status, rep.Body, tc.status)
			}
		})
	}
}

func TestOpenModeRefusesCrossSite(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{CORSOrigins: []string{"https://app.example"}}})
	k := func(s string) string { return t.Name() + ":" + s }
	g.Redis.Do(t, "SET", k("present"), "v")
	put := func(key string) map[string]any { return map[string]any{"command": []string{"SET", key, "v"}} }
	self := "Origin: " + g.URL
	runContainment(t, g, []containmentCase{
		{name: "cross-site POST", method: "POST", path: "/db/0/command", body: put(k("post")), headers: []string{"Sec-Fetch-Site: cross-site"}, status: 403, code: CodeCrossSite, key: k("post")},
		{name: "same-site PUT", method: "PUT", path: "/db/0/strings/" + url.PathEscape(k("put")), body: map[string]any{"value": "v"}, headers: []string{"Sec-Fetch-Site: same-site"}, status: 403, code: CodeCrossSite, key: k("put")},
		{name: "foreign Origin, old browser", method: "POST", path: "/db/0/command", body: put(k("origin")), headers: []string{"Origin: https://evil.example"}, status: 403, code: CodeCrossSite, key: k("origin")},
		{name: "cross-site GET of the Upstash path form", method: "GET", path: "/upstash/0/get/" + url.PathEscape(k("present")), headers: []string{"Sec-Fetch-Site: cross-site"}, status: 403, code: "NOPERM"},
		{name: "cross-site HEAD", method: "HEAD", path: "/upstash/0/get/" + url.PathEscape(k("present")), headers: []string{"Sec-Fetch-Site: cross-site"}, status: 403},
		{name: "cross-site GET of a REST read", method: "GET", path: "/db/0/strings/" + url.PathEscape(k("present")), headers: []string{"Origin: https://evil.example"}, status: 403, code: CodeCrossSite},
		{name: "cross-site WebSocket handshake", method: "GET", path: "/db/0/ws", headers: []string{"Origin: https://evil.example", "Connection: Upgrade", "Upgrade: websocket"}, status: 403, code: CodeCrossSite},
		{name: "same-origin", method: "GET", path: "/db/0/strings/" + url.PathEscape(k("present")), headers: []string{"Sec-Fetch-Site: same-origin", self}, status: 200},
		{name: "typed URL", method: "GET", path: "/upstash/0/get/" + url.PathEscape(k("present")), headers: []string{"Sec-Fetch-Site: none"}, status: 200},
		{name: "own Origin, old browser", method: "GET", path: "/db/0/strings/" + url.PathEscape(k("present")), headers: []string{self}, status: 200},
		{name: "configured CORS origin", method: "POST", path: "/db/0/command", body: put(k("cors")), headers: []string{"Sec-Fetch-Site: cross-site", "Origin: https://app.example"}, status: 200},
		{name: "no browser headers (curl)", method: "GET", path: "/db/0/strings/" + url.PathEscape(k("present")), status: 200},
	})
	t.Run("preflight of a configured origin", func(t *testing.T) {
		rep := g.do(t, "OPTIONS", "/db/0/command", nil, "Origin: https://app.example", "Access-Control-Request-Method: POST", "Sec-Fetch-Site: cross-site")
		if rep.Status != 204 || rep.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("got %d, Access-Control-Allow-Origin %q, want 204 https://app.example", rep.Status, rep.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

func TestTokensAllowCrossSite(t *testing.T) {
	t.Parallel()
	tok := []Token{{Name: "a", Secret: "s3cret", Databases: []string{"*"}, Level: LevelWrite}}
	g := newGateway(t, gatewayOpts{cfg: Config{Tokens: tok}})
	key := t.Name() + ":k"
	rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"SET", key, "v"}}, "Authorization: Bearer s3cret", "Sec-Fetch-Site: cross-site", "Origin: https://elsewhere.example")
	if rep.Status != 200 {
		t.Fatalf("cross-site with a bearer token: got %d %s, want 200", rep.Status, rep.Body)
	}
	if v := g.Redis.Do(t, "GET", key); string(v.Str) != "v" {
		t.Fatalf("GET %s: got %q, want v", key, v.Str)
	}
}

func TestUpstashSafeMethodsRunReadOnlyCommandsOnly(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t) // FLUSHALL is among the cases: never on the shared server
	g := newGateway(t, gatewayOpts{redis: rs})
	k := func(s string) string { return url.PathEscape(t.Name() + ":" + s) }
	rs.Do(t, "SET", t.Name()+":present", "v")
	refused := "ERR"
	runContainment(t, g, []containmentCase{
		{name: "HEAD set", method: "HEAD", path: "/upstash/0/set/" + k("head") + "/x", status: 405, key: t.Name() + ":head"},
		{name: "GET set", method: "GET", path: "/upstash/0/set/" + k("get") + "/x", status: 405, code: refused, key: t.Name() + ":get"},
		{name: "GET incr", method: "GET", path: "/upstash/0/incr/" + k("incr"), status: 405, code: refused, key: t.Name() + ":incr"},
		{name: "GET del", method: "GET", path: "/upstash/0/del/" + k("present"), status: 405, code: refused},
		{name: "GET flushall (admin)", method: "GET", path: "/upstash/0/flushall", status: 405, code: refused},
		{name: "GET publish", method: "GET", path: "/upstash/0/publish/c/m", status: 405, code: refused},
		{name: "GET eval", method: "GET", path: "/upstash/0/eval/" + url.PathEscape("return redis.call('SET',KEYS[1],'x')") + "/1/" + k("eval"), status: 405, code: refused, key: t.Name() + ":eval"},
		{name: "GET unknown command", method: "GET", path: "/upstash/0/nosuchcommand", status: 405, code: refused},
		{name: "GET with a JSON body", method: "GET", path: "/upstash/0", body: `["SET","` + t.Name() + `:body","x"]`, status: 405, code: refused, key: t.Name() + ":body"},
		{name: "GET get", method: "GET", path: "/upstash/0/get/" + k("present"), status: 200},
		{name: "HEAD get", method: "HEAD", path: "/upstash/0/get/" + k("present"), status: 200},
		{name: "GET eval_ro", method: "GET", path: "/upstash/0/eval_ro/" + url.PathEscape("return 1") + "/0", status: 200},
		{name: "POST set", method: "POST", path: "/upstash/0/set/" + k("post") + "/x", status: 200},
	})
	if rep := g.do(t, "HEAD", "/upstash/0/set/"+k("allow")+"/x", nil); rep.Header.Get("Allow") != "POST" {
		t.Fatalf("HEAD set: got Allow %q, want POST", rep.Header.Get("Allow"))
	}
	if v := rs.Do(t, "EXISTS", t.Name()+":present"); v.Int != 1 {
		t.Fatal("GET del removed the key")
	}
}

func TestHeadOfAConsumerGroupTailReadsNothing(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := t.Name() + ":s"
	shared.Do(t, "XGROUP", "CREATE", key, "g", "$", "MKSTREAM")
	rep := g.do(t, "HEAD", "/db/0/streams/"+url.PathEscape(key)+"/events?group=g&consumer=head", nil)
	if rep.Status != 405 || rep.Header.Get("Allow") != "GET" {
		t.Fatalf("HEAD of a group tail: got %d, Allow %q, want 405 with Allow: GET", rep.Status, rep.Header.Get("Allow"))
	}
	if v := shared.Do(t, "XINFO", "CONSUMERS", key, "g"); len(v.Elems) != 0 {
		t.Fatalf("XINFO CONSUMERS after the HEAD: got %d consumers, want 0 (XREADGROUP ran)", len(v.Elems))
	}
}

// TestHostPolicy checks the Host parsing the policy does without
// net.SplitHostPort: ports, IPv6 brackets, configured names, and
// malformed values refused.
func TestHostPolicy(t *testing.T) {
	p := newHostPolicy([]string{"gw.internal", "pinned.internal:8443"})
	for host, want := range map[string]bool{
		"localhost": true, "localhost:80": true, "LOCALHOST:80": true, "localhost.:1": true,
		"127.0.0.1": true, "127.0.0.1:8080": true, "127.9.9.9:1": true,
		"[::1]": true, "[::1]:8080": true, "::1": true, "[::ffff:127.0.0.1]:80": true,
		"gw.internal": true, "gw.internal:1234": true,
		"pinned.internal:8443": true, "pinned.internal:8444": false, "pinned.internal": false,
		"example.com": false, "example.com:80": false, "10.0.0.1:80": false, "[::2]:80": false,
		"": false, ":80": false, "[::1]x": false, "[::1": false, "[]:80": false, "localhost:80:80": false,
	} {
		if got := p.allows(host); got != want {
			t.Errorf("allows(%q) = %v, want %v", host, got, want)
		}
	}
}
