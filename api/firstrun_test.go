package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestFirstRunMessages pins what a new user meets first: typed body
// errors list the field with its JSON type, a 405 carries Allow, an
// unknown route (/ included) points to the docs, and a refused command's
// detail reads as a sentence.
func TestFirstRunMessages(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	k := t.Name()
	problem := func(rep reply) Problem {
		t.Helper()
		var p Problem
		if err := json.Unmarshal(rep.Body, &p); err != nil {
			t.Fatalf("not a problem: %s", rep.Body)
		}
		return p
	}
	for _, tc := range []struct {
		path, body string
	}{
		{"/db/0/strings/" + k + "/incr", `{"by":"one"}`},
		{"/db/0/strings/" + k + "/incr", `{"by":true}`},
		{"/db/0/strings/" + k + "/incr", `{"by":[1]}`},
		{"/db/0/zsets/" + k + "/members/m/incr", `{"by":"1.5x"}`},
	} {
		rep := g.do(t, "POST", tc.path, tc.body)
		p := problem(rep)
		if rep.Status != 400 || p.Code != CodeValidation || len(p.Errors) != 1 || p.Errors[0].Field != "by" || p.Errors[0].Message != "must be a number" {
			t.Errorf("%s %s: got %d %s, want 400 VALIDATION with errors [{by, must be a number}]", tc.path, tc.body, rep.Status, rep.Body)
		}
	}
	// numbers as strings still work, as with json.Number
	if rep := g.do(t, "POST", "/db/0/strings/"+k+"/incr", `{"by":"2"}`); rep.Status != 200 {
		t.Errorf(`{"by":"2"}: %d %s`, rep.Status, rep.Body)
	}

	rep := g.do(t, "DELETE", "/healthz", nil)
	if rep.Status != 405 || rep.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("DELETE /healthz: %d Allow %q, want 405 with Allow: GET, HEAD, OPTIONS", rep.Status, rep.Header.Get("Allow"))
	}
	rep = g.do(t, "PATCH", "/db/0/strings/"+k, nil)
	if allow := rep.Header.Get("Allow"); rep.Status != 405 || allow != "GET, HEAD, PUT, OPTIONS" || !strings.Contains(problem(rep).Detail, "use GET, HEAD, PUT, OPTIONS") {
		t.Errorf("PATCH /db/0/strings/k: %d Allow %q %s, want 405 naming GET, HEAD, PUT", rep.Status, allow, rep.Body)
	}
	rep = g.do(t, "DELETE", "/upstash/0/get/k", nil)
	if allow := "GET, HEAD, POST, PUT, OPTIONS"; rep.Status != 405 || rep.Header.Get("Allow") != allow || !strings.Contains(string(rep.Body), "use "+allow) {
		t.Errorf("DELETE /upstash/0/get/k: %d Allow %q %s, want 405 with Allow: %s", rep.Status, rep.Header.Get("Allow"), rep.Body, allow)
	}

	for _, path := range []string{"/", "/nope"} {
		rep = g.do(t, "GET", path, nil)
		if p := problem(rep); rep.Status != 404 || p.Detail != "no route for "+path+"; the routes are listed at /docs/ (Swagger UI) and /openapi.json" {
			t.Errorf("GET %s: %d %q, want 404 pointing to /docs/", path, rep.Status, p.Detail)
		}
	}

	rep = g.do(t, "POST", "/db/0/command", `{"command":["SELECT","1"]}`)
	if p := problem(rep); rep.Status != 403 || !strings.HasPrefix(p.Detail, "SELECT is not allowed: each database has its own client and pool") {
		t.Errorf("SELECT: %d %q, want 403 starting %q", rep.Status, p.Detail, "SELECT is not allowed: ")
	}
}

// TestAccessLogDurationHasAUnit: the access log's dur reads like "1.2ms",
// not a bare count of nanoseconds.
func TestAccessLogDurationHasAUnit(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	url := newHTTPServer(t, NewServer(logger, Config{}, []*Database{newTestDB(t, "0", shared.URL(0))}, nil))
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var line struct {
		Msg string `json:"msg"`
		Dur any    `json:"dur"`
	}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request" {
			break
		}
	}
	s, ok := line.Dur.(string)
	if !ok || !regexp.MustCompile(`^[0-9.]+(ns|µs|ms|s)$`).MatchString(s) {
		t.Fatalf("access log dur %#v, want a duration with its unit:\n%s", line.Dur, buf.String())
	}
}
