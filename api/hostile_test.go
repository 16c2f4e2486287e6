package api

// Hostile input: requests built to hurt the gateway (huge, deep, long,
// malformed, slow) must get a clear refusal and leave it serving others.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHostileOversizedBodies(t *testing.T) {
	t.Parallel()
	const limit = 1024
	g := newGateway(t, gatewayOpts{cfg: Config{BodyLimit: limit}})
	key := "/db/0/strings/" + t.Name()
	big := strings.Repeat("x", 4*limit)
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
	}{
		{"JSON value", "PUT", key, map[string]any{"value": big}, nil},
		{"octet-stream", "PUT", key, big, []string{"Content-Type: application/octet-stream"}},
		{"command", "POST", "/db/0/command", map[string]any{"command": []string{"SET", "k", big}}, nil},
		{"pipeline", "POST", "/db/0/pipeline", map[string]any{"commands": [][]string{{"SET", "k", big}}}, nil},
		{"endless whitespace", "POST", "/db/0/command", strings.Repeat(" ", 4*limit) + `{"command":["PING"]}`, []string{"Content-Type: application/json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := g.do(t, tc.method, tc.path, tc.body, tc.headers...)
			if p := rep.Problem(t); rep.Status != http.StatusRequestEntityTooLarge || p.Code != CodeBodyTooLarge {
				t.Fatalf("%s %s with a %d-byte body: got %d %s, want 413 BODY_TOO_LARGE", tc.method, tc.path, len(big), rep.Status, p.Code)
			}
		})
	}
	if v := shared.Do(t, "EXISTS", t.Name()); v.Int != 0 {
		t.Fatalf("a refused body was stored")
	}
}

func TestHostileDeeplyNestedJSON(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	for _, depth := range []int{100, 10_001, 200_000} {
		cases := map[string]string{
			"command":  `{"command":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`,
			"pipeline": `{"commands":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`,
			"objects":  strings.Repeat(`{"command":`, depth) + "null" + strings.Repeat("}", depth),
			"unclosed": `{"command":` + strings.Repeat("[", depth),
		}
		for name, body := range cases {
			path := "/db/0/command"
			if name == "pipeline" {
				path = "/db/0/pipeline"
			}
			rep := g.do(t, "POST", path, body, "Content-Type: application/json")
			if p := rep.Problem(t); rep.Status != http.StatusBadRequest || p.Code != CodeValidation {
				t.Errorf("%s nested %d deep: got %d %s %s, want 400 VALIDATION", name, depth, rep.Status, p.Code, p.Detail)
			}
		}
	}
}

func TestHostilePipelineOverTheMax(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{MaxPipeline: 10}})
	key := t.Name()
	cmds := make([][]string, 11)
	for i := range cmds {
		cmds[i] = []string{"INCR", key}
	}
	for _, route := range []string{"pipeline", "transaction"} {
		rep := g.do(t, "POST", "/db/0/"+route, map[string]any{"commands": cmds})
		if p := rep.Problem(t); rep.Status != http.StatusBadRequest || p.Code != CodeValidation {
			t.Fatalf("%s of 11 commands with max 10: got %d %s, want 400 VALIDATION", route, rep.Status, p.Code)
		}
		if v := shared.Do(t, "EXISTS", key); v.Int != 0 {
			t.Fatalf("%s over the max: some commands ran", route)
		}
		rep = g.do(t, "POST", "/db/0/"+route, map[string]any{"commands": cmds[:10]})
		if rep.Status != http.StatusOK {
			t.Fatalf("%s of exactly 10 commands: %d %s", route, rep.Status, rep.Body)
		}
		shared.Do(t, "DEL", key)
	}
}

func TestHostileInvalidUTF8(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := t.Name()
	shared.Do(t, "SET", key, "ok\xff\xfe")
	shared.Do(t, "HSET", key+":h", "field", "\xc3\x28")
	for _, path := range []string{
		"/db/0/strings/" + key,
		"/db/0/hashes/" + key + ":h",
		"/db/0/hashes/" + key + ":h/fields/field",
	} {
		rep := g.do(t, "GET", path, nil)
		if p := rep.Problem(t); rep.Status != http.StatusUnprocessableEntity || p.Code != CodeNotUTF8 || !strings.Contains(p.Detail, "encoding=base64") {
			t.Errorf("GET %s of bytes that are not UTF-8: %d %s %q, want 422 NOT_UTF8 pointing to encoding=base64", path, rep.Status, p.Code, p.Detail)
		}
	}
	for _, body := range []map[string]any{
		{"command": []string{"GET", key}},
		{"commands": [][]string{{"GET", key}}},
	} {
		route := "command"
		if _, ok := body["commands"]; ok {
			route = "pipeline"
		}
		rep := g.do(t, "POST", "/db/0/"+route, body)
		if p := rep.Problem(t); rep.Status != http.StatusUnprocessableEntity || p.Code != CodeNotUTF8 {
			t.Errorf("POST %s reading bytes that are not UTF-8: %d %s, want 422 NOT_UTF8", route, rep.Status, p.Code)
		}
	}
	// A JSON body carrying raw bytes that are not UTF-8 must not be
	// stored altered (encoding/json would turn them into U+FFFD).
	rep := g.do(t, "PUT", "/db/0/strings/"+key+":in", "{\"value\":\"a\xffb\"}", "Content-Type: application/json")
	if rep.Status == http.StatusOK {
		if v := shared.Do(t, "GET", key+":in"); string(v.Str) != "a\xffb" {
			t.Fatalf("PUT with raw \\xff in JSON stored %q", v.Str)
		}
	} else if p := rep.Problem(t); rep.Status != http.StatusUnprocessableEntity || p.Code != CodeNotUTF8 {
		t.Fatalf("PUT with raw \\xff in JSON: %d %s, want 422 NOT_UTF8", rep.Status, p.Code)
	}
}

func TestHostileNULBytesInKeys(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	for _, key := range []string{"\x00", t.Name() + "\x00tail", "\x00\x00/\x00", t.Name() + "%00literal"} {
		path := "/db/0/strings/" + urlPathEscape(key)
		if rep := g.do(t, "PUT", path, map[string]any{"value": "nul"}); rep.Status != http.StatusOK {
			t.Fatalf("PUT %q: %d %s", key, rep.Status, rep.Body)
		}
		if v := shared.Do(t, "GET", key); string(v.Str) != "nul" {
			t.Fatalf("Redis has %q under %q, want \"nul\"", v.Str, key)
		}
		assertJSON(t, g.do(t, "GET", path, nil).Body, `{"value":"nul"}`, fmt.Sprintf("GET %q", key))
		if rep := g.do(t, "DELETE", "/db/0/keys/"+urlPathEscape(key), nil); rep.Status >= 300 {
			t.Fatalf("DELETE %q: %d %s", key, rep.Status, rep.Body)
		}
	}
}

// TestHostileSlowloris trickles request headers at a real http.Server
// with ReadHeaderTimeout: the server closes each such connection once the
// timeout passes, and serves normal requests meanwhile.
func TestHostileSlowloris(t *testing.T) {
	t.Parallel()
	srv := NewServer(nil, Config{}, []*Database{newTestDB(t, "0", shared.URL(0))}, nil)
	const headerTimeout = 300 * time.Millisecond
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: headerTimeout}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	addr := ln.Addr().String()

	type result struct {
		closedAfter time.Duration
		status      string
		err         error
	}
	const attackers = 20
	results := make(chan result, attackers)
	for range attackers {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer c.Close()
			start := time.Now()
			_ = c.SetDeadline(start.Add(5 * time.Second))
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
				results <- result{err: err}
				return
			}
			// One header byte every 50 ms, never the final blank line, until
			// the server hangs up.
			stop := make(chan struct{})
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := c.Write([]byte{"X-Slow: aaaaaaaa"[i%16]}); err != nil {
						return
					}
				}
			}()
			line, err := bufio.NewReader(c).ReadString('\n')
			close(stop)
			r := result{closedAfter: time.Since(start), status: strings.TrimSpace(line)}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.err = fmt.Errorf("the server kept the connection open for 5s")
			}
			results <- r
		}()
	}
	// The server answers a well-behaved client while the attack runs.
	start := time.Now()
	hc := &http.Client{Timeout: 10 * time.Second}
	res, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz during the attack: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz during the attack: %d", res.StatusCode)
	}
	healthz := time.Since(start)
	var slowest time.Duration
	for range attackers {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if strings.Contains(r.status, " 200 ") {
			t.Fatalf("a request whose headers never ended was served: %q", r.status)
		}
		if r.closedAfter < headerTimeout/2 { // the server's clock starts at accept, before ours
			t.Fatalf("connection closed after %v, before the header timeout %v", r.closedAfter, headerTimeout)
		}
		slowest = max(slowest, r.closedAfter)
	}
	if slowest > headerTimeout+3*time.Second {
		t.Fatalf("the last slow connection was closed after %v, want about %v", slowest, headerTimeout)
	}
	t.Logf("%d slow-header connections closed within %v (ReadHeaderTimeout %v); /healthz answered in %v meanwhile", attackers, slowest, headerTimeout, healthz)
}

// urlPathEscape escapes every byte that is not unreserved, so that NUL,
// '/' and '%' all travel inside one path segment.
func urlPathEscape(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
