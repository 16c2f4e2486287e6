package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// upstashCase is one request to the Upstash surface and the exact answer.
type upstashCase struct {
	method, path string
	body         string
	headers      []string
	status       int
	want         string // exact body, trailing newline trimmed
}

func runUpstash(t *testing.T, g *gateway, cases []upstashCase) {
	t.Helper()
	for i, c := range cases {
		if c.method == "" {
			c.method = "POST"
		}
		rep := g.do(t, c.method, c.path, c.body, c.headers...)
		got := strings.TrimSuffix(string(rep.Body), "\n")
		if rep.Status != c.status || got != c.want {
			t.Errorf("case %d: %s %s %s: got %d %q, want %d %q", i, c.method, c.path, c.body, rep.Status, got, c.status, c.want)
		}
		if ct := rep.Header.Get("Content-Type"); !strings.HasPrefix(c.want, "$") && !strings.HasPrefix(c.want, "*") && !strings.HasPrefix(c.want, "+") && ct != "application/json" {
			t.Errorf("case %d: Content-Type %q, want application/json (every Upstash answer, errors too)", i, ct)
		}
	}
}

func TestUpstashWireFormat(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	k := func(s string) string { return t.Name() + ":" + s }
	b64 := []string{"Upstash-Encoding: base64"}
	resp2 := []string{"Upstash-Response-Format: resp2"}
	runUpstash(t, g, []upstashCase{
		// Arguments: numbers keep their literal text, booleans and null
		// become text.
		{path: "/upstash/0", body: `["SET","` + k("n") + `",1.50]`, status: 200, want: `{"result":"OK"}`},
		{path: "/upstash/0", body: `["GET","` + k("n") + `"]`, status: 200, want: `{"result":"1.50"}`},
		{path: "/upstash/0", body: `["SET","` + k("b") + `",true]`, status: 200, want: `{"result":"OK"}`},
		{path: "/upstash/0", body: `["GET","` + k("b") + `"]`, status: 200, want: `{"result":"true"}`},
		{path: "/upstash/0", body: `["SET","` + k("null") + `",null]`, status: 200, want: `{"result":"OK"}`},
		{path: "/upstash/0", body: `["STRLEN","` + k("null") + `"]`, status: 200, want: `{"result":0}`},
		{path: "/upstash/0", body: `["GET","` + k("absent") + `"]`, status: 200, want: `{"result":null}`},
		// base64 encodes every string, nested ones and PONG included, but
		// not numbers or null.
		{path: "/upstash/0", body: `["PING"]`, headers: b64, status: 200, want: `{"result":"UE9ORw=="}`},
		{path: "/upstash/0", body: `["RPUSH","` + k("l") + `","a","é"]`, headers: b64, status: 200, want: `{"result":2}`},
		{path: "/upstash/0", body: `["LRANGE","` + k("l") + `",0,-1]`, headers: b64, status: 200, want: `{"result":["YQ==","w6k="]}`},
		{path: "/upstash/0/pipeline", body: `[["LPOS","` + k("l") + `","zz"],["LLEN","` + k("l") + `"],["LINDEX","` + k("l") + `",0]]`, headers: b64, status: 200, want: `[{"result":null},{"result":2},{"result":"YQ=="}]`},
		// RESP3 replies are flattened as RESP2 would send them.
		{path: "/upstash/0", body: `["HSET","` + k("h") + `","f","v"]`, status: 200, want: `{"result":1}`},
		{path: "/upstash/0", body: `["HGETALL","` + k("h") + `"]`, status: 200, want: `{"result":["f","v"]}`},
		{path: "/upstash/0", body: `["ZADD","` + k("z") + `",1.5,"a",2,"b"]`, status: 200, want: `{"result":2}`},
		{path: "/upstash/0", body: `["ZRANGE","` + k("z") + `",0,-1,"WITHSCORES"]`, status: 200, want: `{"result":["a","1.5","b","2"]}`},
		{path: "/upstash/0", body: `["ZSCORE","` + k("z") + `","a"]`, status: 200, want: `{"result":"1.5"}`},
		// Path form: segments unescaped once, body as the last argument,
		// query parameters appended in order, _token skipped.
		{method: "POST", path: "/upstash/0/set/" + k("p") + "/a%2Fb", status: 200, want: `{"result":"OK"}`},
		{method: "GET", path: "/upstash/0/get/" + k("p"), status: 200, want: `{"result":"a/b"}`},
		{method: "POST", path: "/upstash/0/set/" + k("p") + "?EX=100&_token=ignored", body: "body, raw", status: 200, want: `{"result":"OK"}`},
		{method: "GET", path: "/upstash/0/get/" + k("p"), status: 200, want: `{"result":"body, raw"}`},
		{method: "GET", path: "/upstash/0/ttl/" + k("p"), status: 200, want: `{"result":100}`},
		// Raw RESP2.
		{path: "/upstash/0", body: `["GET","` + k("absent") + `"]`, headers: resp2, status: 200, want: "$-1\r"},
		{path: "/upstash/0", body: `["ZRANGE","` + k("z") + `",0,-1,"WITHSCORES"]`, headers: resp2, status: 200, want: "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r"},
		{path: "/upstash/0", body: `["PING"]`, headers: append([]string{"Upstash-Response-Format: resp2"}, b64...), status: 400, want: `{"error":"ERR Upstash-Encoding: base64 cannot be combined with Upstash-Response-Format: resp2"}`},
		{path: "/upstash/0", body: `["PING"]`, headers: []string{"Upstash-Response-Format: xml"}, status: 400, want: `{"error":"ERR unsupported Upstash-Response-Format; use json or resp2"}`},
		// Errors: always JSON.
		{path: "/upstash/0", body: `["HGET","` + k("p") + `","f"]`, status: 400, want: `{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}`},
		{path: "/upstash/0", body: `not json`, status: 400, want: `{"error":"ERR the body must be a JSON array of command arguments"}`},
		{path: "/upstash/0", body: `[]`, status: 400, want: `{"error":"ERR empty command: send a JSON array such as [\"GET\",\"key\"]"}`},
		{path: "/upstash/nope", body: `["PING"]`, status: 404, want: `{"error":"no database named \"nope\" is configured; GET /databases lists them"}`},
		{method: "DELETE", path: "/upstash/0/get/x", status: 405, want: `{"error":"ERR DELETE is not allowed; use GET, HEAD, POST, PUT, OPTIONS"}`},
		// Transactions: runtime errors in place, queue-time errors discard
		// everything with 400.
		{path: "/upstash/0/multi-exec", body: `[["SET","` + k("t") + `","1"],["HGET","` + k("t") + `","f"],["INCR","` + k("t") + `"]]`, status: 200, want: `[{"result":"OK"},{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"},{"result":2}]`},
		{path: "/upstash/0/multi-exec", body: `[["SET","` + k("t") + `","9"],["INCR"]]`, status: 400, want: `{"error":"EXECABORT Transaction discarded because of previous errors."}`},
		{path: "/upstash/0", body: `["GET","` + k("t") + `"]`, status: 200, want: `{"result":"2"}`},
		// A connection-state command is refused in its place, the rest runs.
		{path: "/upstash/0/pipeline", body: `[["SELECT","1"],["GET","` + k("t") + `"]]`, status: 200, want: `[{"error":"NOPERM SELECT is not allowed: each database has its own client and pool (URL prefix /db/{db}); a pooled connection never changes database"},{"result":"2"}]`},
		{path: "/upstash/0/pipeline", body: `[["GET","` + k("t") + `"],["SELECT","1"],["SELECT","2"],["GET","` + k("t") + `"]]`, status: 200, want: `[{"result":"2"},{"error":"NOPERM SELECT is not allowed: each database has its own client and pool (URL prefix /db/{db}); a pooled connection never changes database"},{"error":"NOPERM SELECT is not allowed: each database has its own client and pool (URL prefix /db/{db}); a pooled connection never changes database"},{"result":"2"}]`},
		{path: "/upstash/0/pipeline", body: `[["SELECT","1"]]`, status: 200, want: `[{"error":"NOPERM SELECT is not allowed: each database has its own client and pool (URL prefix /db/{db}); a pooled connection never changes database"}]`},
	})

	// The regular API is not changed by the adapter: same command, RESP3
	// shaping.
	assertJSON(t, g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"ZRANGE", k("z"), "0", "-1", "WITHSCORES"}}).Body,
		`{"result":[{"member":"a","score":1.5},{"member":"b","score":2}]}`, "REST ZRANGE after the Upstash calls")
}

func TestUpstashLimitsAndAuth(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{BodyLimit: 64, Tokens: []Token{
		{Name: "w", Secret: "write-secret", Databases: []string{"0"}, Level: LevelWrite},
		{Name: "r", Secret: "read-secret", Databases: []string{"*"}, Level: LevelRead},
	}}})
	auth := func(tok string) []string { return []string{"Authorization: Bearer " + tok} }
	runUpstash(t, g, []upstashCase{
		{path: "/upstash/0", body: `["PING"]`, status: 401, want: `{"error":"Unauthorized"}`},
		{path: "/upstash/0", body: `["PING"]`, headers: auth("nope"), status: 401, want: `{"error":"Unauthorized"}`},
		{path: "/upstash/0?_token=write-secret", body: `["PING"]`, status: 200, want: `{"result":"PONG"}`},
		{path: "/upstash/1", body: `["PING"]`, headers: auth("write-secret"), status: 401, want: `{"error":"NOPERM this token may not use database \"1\""}`},
		{path: "/upstash/0", body: `["SET","k","v"]`, headers: auth("read-secret"), status: 400, want: `{"error":"NOPERM SET needs the write level; this token has read"}`},
		{path: "/upstash/0/pipeline", body: `[["GET","k"],["DEL","k"]]`, headers: auth("read-secret"), status: 200, want: `[{"result":null},{"error":"NOPERM DEL needs the write level; this token has read"}]`},
		{path: "/upstash/0/multi-exec", body: `[["GET","k"],["DEL","k"]]`, headers: auth("read-secret"), status: 400, want: `{"error":"EXECABORT Transaction discarded because of previous errors: command 1: NOPERM DEL needs the write level; this token has read"}`},
		{path: "/upstash/0", body: `["SET","k","` + strings.Repeat("x", 100) + `"]`, headers: auth("write-secret"), status: 413, want: `{"error":"the request body is larger than 64 bytes"}`},
	})
}

func TestUpstashRedisDown(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	rs.Stop()
	rep := g.do(t, "POST", "/upstash/0", `["GET","k"]`)
	if rep.Status != 503 || rep.Header.Get("Retry-After") == "" || rep.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(rep.Body), `"error":"Redis is unreachable`) {
		t.Fatalf("Redis down: %d %v %s, want 503 JSON with Retry-After", rep.Status, rep.Header, rep.Body)
	}
	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep = g.do(t, "POST", "/upstash/0", `["PING"]`)
		if rep.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d %s", rep.Status, rep.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUpstashSubscribe(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	ch := t.Name() + ":chan,with,commas"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/upstash/0/subscribe/"+strings.ReplaceAll(ch, ",", "%2C"), strings.NewReader("[]"))
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("subscribe: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				lines <- l
			}
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-ctx.Done():
			t.Fatal("no event in time")
			return ""
		}
	}
	if l := next(); l != "data: subscribe,"+ch+",1" {
		t.Fatalf("first event %q", l)
	}
	// Subscribed before the first event: one publish reaches it.
	for _, m := range []struct{ sent, line string }{
		{`{"a":1}`, `{"a":1}`},
		{"plain, with commas", "plain, with commas"},
		{"two\nlines", `"two\nlines"`}, // JSON literal: the client's JSON.parse restores it
	} {
		if n := shared.Do(t, "PUBLISH", ch, m.sent); n.Int != 1 {
			t.Fatalf("PUBLISH reached %d", n.Int)
		}
		if l, want := next(), "data: message,"+ch+","+m.line; l != want {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for shared.Do(t, "PUBSUB", "NUMSUB", ch).Elems[1].Int != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the subscription outlived the client")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStripUpstashFlags(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"return 1", "return 1"},
		{"#!lua flags=allow-key-locking\nreturn 1", "\nreturn 1"},
		{"#!lua flags=allow-key-locking", ""},
		{"#!lua flags=no-writes,allow-key-locking\nreturn 1", "#!lua flags=no-writes\nreturn 1"},
		{"#!lua name=x flags=allow-key-locking,allow-oom", "#!lua name=x flags=allow-oom"},
		{"#!lua flags=no-writes\nreturn 1", "#!lua flags=no-writes\nreturn 1"},
	} {
		got, changed := stripUpstashFlags(c.in)
		if got != c.want || changed != (c.in != c.want) {
			t.Errorf("stripUpstashFlags(%q) = %q, %v; want %q", c.in, got, changed, c.want)
		}
	}
}

func TestUpstashScriptShebang(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	script := "#!lua flags=allow-key-locking\nreturn ARGV[1]"
	orig := sha1Hex(script)
	body := func(args ...string) string {
		b, _ := json.Marshal(args)
		return string(b)
	}
	runUpstash(t, g, []upstashCase{
		{path: "/upstash/0", body: body("EVALSHA", orig, "0", "x"), status: 400, want: `{"error":"NOSCRIPT No matching script. Please use EVAL."}`},
		{path: "/upstash/0", body: body("EVAL", script, "0", "x"), status: 200, want: `{"result":"x"}`},
		{path: "/upstash/0", body: body("EVALSHA", orig, "0", "y"), status: 200, want: `{"result":"y"}`},
		{path: "/upstash/0", body: body("SCRIPT", "LOAD", script), status: 200, want: `{"result":"` + orig + `"}`},
		{path: "/upstash/0", body: body("SCRIPT", "EXISTS", orig), status: 200, want: `{"result":[1]}`},
	})
}
