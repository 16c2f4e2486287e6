package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDatabaseRoutesInOneRoutingPass: the /db/{db} routes are registered
// in the root router (one routing pass per request). What a client sees
// must not change for the routes themselves: the database middleware
// (authentication, database lookup) runs on every one, the route pattern
// reaches the metrics whole, and the path parameters arrive escaped once.
// A path under /db/{db} that is no route is a plain 404 NOT_FOUND (the
// route list is public), and a wrong method a 405 with Allow.
func TestDatabaseRoutesInOneRoutingPass(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{Tokens: []Token{
		{Name: "reader", Secret: "r", Databases: []string{"0"}, Level: LevelRead},
	}}})
	bearer := "Authorization: Bearer r"
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		code               string
	}{
		{"route without a token", "GET", "/db/0/strings/a", nil, 401, CodeUnauthorized},
		{"route, database not allowed", "GET", "/db/1/strings/a", []string{bearer}, 403, CodeForbiddenDatabase},
		{"route, unknown database", "GET", "/db/nope/strings/a", []string{bearer}, 404, CodeUnknownDatabase},
		{"route", "GET", "/db/0/strings/" + k(t, "absent"), []string{bearer}, 404, CodeNotFound}, // the absent key
		{"no such route", "GET", "/db/0/nothing", nil, 404, CodeNotFound},
		{"the database itself", "GET", "/db/0", nil, 404, CodeNotFound},
		{"wrong method", "PATCH", "/db/0/strings/a", []string{bearer}, 405, CodeMethodNotAllowed},
	}
	for _, tc := range cases {
		rep := g.do(t, tc.method, tc.path, nil, tc.hdr...)
		if rep.Status != tc.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, rep.Status, rep.Body, tc.status)
			continue
		}
		if p := rep.Problem(t); p.Code != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, p.Code, tc.code)
		}
		if tc.status == http.StatusMethodNotAllowed && rep.Header.Get("Allow") != "GET, HEAD, PUT, OPTIONS" {
			t.Errorf("%s: Allow %q", tc.name, rep.Header.Get("Allow"))
		}
	}
	// the path parameter arrives unescaped exactly once: a key holding "/"
	open := newGateway(t, gatewayOpts{})
	key := k(t, "s/l%ash")
	if rep := open.do(t, "PUT", "/db/0/strings/"+url.PathEscape(key), map[string]any{"value": "v"}); rep.Status != 200 {
		t.Fatalf("PUT: %d %s", rep.Status, rep.Body)
	}
	if rep := open.do(t, "GET", "/db/0/strings/"+url.PathEscape(key), nil); rep.Status != 200 || strings.TrimSpace(string(rep.Body)) != `{"value":"v"}` {
		t.Fatalf("GET: %d %s", rep.Status, rep.Body)
	}
}
