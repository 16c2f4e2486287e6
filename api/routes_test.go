package api

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// step is one request of a route test and what it must answer.
type step struct {
	method, path string
	body         any
	headers      []string
	status       int
	want         string // exact JSON body (compared semantically); "" skips
	code         string // problem code for errors
}

func runSteps(t *testing.T, g *gateway, steps []step) {
	t.Helper()
	for i, s := range steps {
		rep := g.do(t, s.method, s.path, s.body, s.headers...)
		if rep.Status != s.status {
			t.Fatalf("step %d: %s %s: got status %d (%s), want %d", i, s.method, s.path, rep.Status, rep.Body, s.status)
		}
		if s.code != "" {
			if p := rep.Problem(t); p.Code != s.code {
				t.Fatalf("step %d: %s %s: got code %q, want %q (%s)", i, s.method, s.path, p.Code, s.code, rep.Body)
			}
		}
		if s.want != "" {
			assertJSON(t, rep.Body, s.want, s.method+" "+s.path)
		}
	}
}

// assertJSON compares two JSON documents semantically.
func assertJSON(tb testing.TB, got []byte, want, what string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("%s: body is not JSON: %v: %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

// k returns a key unique to the test, path-escaped.
func k(t *testing.T, name string) string {
	return url.PathEscape(t.Name() + ":" + name)
}

func TestStrings(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := k(t, "s")
	runSteps(t, g, []step{
		{method: "GET", path: "/db/0/strings/" + key, status: 404, code: "NOT_FOUND"},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "héllo"}, status: 200, want: `{"set":true}`},
		{method: "GET", path: "/db/0/strings/" + key, status: 200, want: `{"value":"héllo"}`},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "x", "nx": true}, status: 200, want: `{"set":false}`},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "v2", "get": true}, status: 200, want: `{"set":true,"old":"héllo"}`},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "x", "nx": true, "xx": true}, status: 400, code: "VALIDATION"},
		// ttl_ms 0 is a mistake, not "no expiry" (the spec says minimum 1).
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "x", "ttl_ms": 0}, status: 400, code: "VALIDATION"},
		{method: "PUT", path: "/db/0/strings/" + key + "?ttl_ms=0", body: "x", headers: []string{"Content-Type: application/octet-stream"}, status: 400, code: "VALIDATION"},
		// XX with GET on an absent key neither sets nor claims to.
		{method: "PUT", path: "/db/0/strings/" + k(t, "absent"), body: map[string]any{"value": "x", "xx": true, "get": true}, status: 200, want: `{"set":false,"old":null}`},
		{method: "GET", path: "/db/0/strings/" + k(t, "absent"), status: 404, code: "NOT_FOUND"},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "v3", "xx": true, "get": true}, status: 200, want: `{"set":true,"old":"v2"}`},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "v2", "ttl_ms": 60000}, status: 200, want: `{"set":true}`},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "x", "bogus": 1}, status: 400, code: "VALIDATION"},
		{method: "PUT", path: "/db/0/strings/" + key, body: `{"value":`, status: 400, code: "VALIDATION"},
		{method: "POST", path: "/db/0/strings/" + k(t, "n") + "/incr", body: `{"by":5}`, status: 200, want: `{"value":5}`},
		{method: "POST", path: "/db/0/strings/" + k(t, "n") + "/incr", body: `{"by":0.5}`, status: 200, want: `{"value":5.5}`},
		{method: "POST", path: "/db/0/strings/" + key + "/incr", body: `{"by":1}`, status: 400, code: "ERR"},
		{method: "PUT", path: "/db/0/strings", body: map[string]any{"entries": []map[string]string{{"key": t.Name() + ":m1", "value": "1"}, {"key": t.Name() + ":m2", "value": "2"}}}, status: 200, want: `{"set":true}`},
		{method: "GET", path: "/db/0/strings?key=" + url.QueryEscape(t.Name()+":m1") + "&key=absent&key=" + url.QueryEscape(t.Name()+":m2"), status: 200, want: `{"values":["1",null,"2"]}`},
	})
	// validation reports every field at once, by JSON name
	rep := g.do(t, "PUT", "/db/0/strings/"+key, map[string]any{"value": "x", "nx": true, "xx": true, "ttl_ms": -5})
	p := rep.Problem(t)
	fields := map[string]bool{}
	for _, e := range p.Errors {
		fields[e.Field] = true
	}
	if !fields["nx"] || !fields["ttl_ms"] {
		t.Fatalf("errors %+v: want entries for nx and ttl_ms", p.Errors)
	}
}

func TestOddKeysRoundTrip(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	for _, name := range []string{"a/b", "100%", "with space", "q?x=1", "hash#frag", "ключ🔑", "dots/../x", "+plus"} {
		key := t.Name() + ":" + name
		path := "/db/0/strings/" + url.PathEscape(key)
		if rep := g.do(t, "PUT", path, map[string]any{"value": name}); rep.Status != 200 {
			t.Fatalf("PUT %q: %d %s", name, rep.Status, rep.Body)
		}
		if v := shared.Do(t, "GET", key); string(v.Str) != name {
			t.Fatalf("key %q: Redis has %v under that exact key, want %q", name, v, name)
		}
		assertJSON(t, g.do(t, "GET", path, nil).Body, `{"value":`+jsonString(name)+`}`, "GET "+name)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	key := k(t, "bin")
	rep := g.do(t, "PUT", "/db/0/strings/"+key, all, "Content-Type: application/octet-stream")
	if rep.Status != 200 {
		t.Fatalf("PUT octets: %d %s", rep.Status, rep.Body)
	}
	rep = g.do(t, "GET", "/db/0/strings/"+key, nil, "Accept: application/octet-stream")
	if rep.Status != 200 || string(rep.Body) != string(all) {
		t.Fatalf("GET octets: %d, %d bytes, want the 256 bytes back", rep.Status, len(rep.Body))
	}
	rep = g.do(t, "GET", "/db/0/strings/"+key, nil)
	if p := rep.Problem(t); rep.Status != 422 || p.Code != "NOT_UTF8" || !strings.Contains(p.Detail, "encoding=base64") {
		t.Fatalf("GET binary as JSON: got %d %+v, want 422 NOT_UTF8 pointing at encoding=base64", rep.Status, p)
	}
	assertJSON(t, g.do(t, "GET", "/db/0/strings/"+key+"?encoding=base64", nil).Body,
		`{"value":"`+base64.StdEncoding.EncodeToString(all)+`"}`, "GET base64")

	// A binary key and value through base64 in both directions.
	binKey := "\x00\xff" + t.Name()
	ek := url.PathEscape(base64.StdEncoding.EncodeToString([]byte(binKey)))
	val := base64.StdEncoding.EncodeToString([]byte{0, 1, 0xfe, 0xff})
	if rep := g.do(t, "PUT", "/db/0/strings/"+ek+"?key_encoding=base64&encoding=base64", map[string]any{"value": val}); rep.Status != 200 {
		t.Fatalf("PUT binary key: %d %s", rep.Status, rep.Body)
	}
	if v := shared.Do(t, "GET", binKey); string(v.Str) != "\x00\x01\xfe\xff" {
		t.Fatalf("Redis has %q under the binary key", v.Str)
	}
	assertJSON(t, g.do(t, "GET", "/db/0/strings/"+ek+"?key_encoding=base64&encoding=base64", nil).Body, `{"value":"`+val+`"}`, "GET binary key")
}

func TestETagAndHead(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := k(t, "e")
	g.do(t, "PUT", "/db/0/strings/"+key, map[string]any{"value": "v"})
	rep := g.do(t, "GET", "/db/0/strings/"+key, nil)
	tag := rep.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on GET")
	}
	if rep := g.do(t, "GET", "/db/0/strings/"+key, nil, "If-None-Match: "+tag); rep.Status != 304 || len(rep.Body) != 0 {
		t.Fatalf("If-None-Match: got %d %q, want 304 and no body", rep.Status, rep.Body)
	}
	g.do(t, "PUT", "/db/0/strings/"+key, map[string]any{"value": "changed"})
	if rep := g.do(t, "GET", "/db/0/strings/"+key, nil, "If-None-Match: "+tag); rep.Status != 200 {
		t.Fatalf("If-None-Match after a change: got %d, want 200", rep.Status)
	}
	rep = g.do(t, "HEAD", "/db/0/strings/"+key, nil)
	if rep.Status != 200 || len(rep.Body) != 0 || rep.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: got %d, %d bytes, ETag %q", rep.Status, len(rep.Body), rep.Header.Get("ETag"))
	}
	if cc := g.do(t, "GET", "/db/0/strings/"+key, nil).Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control: got %q, want no-store", cc)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := k(t, "k")
	for i := range 25 {
		shared.Do(t, "SET", t.Name()+":scan:"+string(rune('a'+i)), "1")
	}
	// SCAN pages collect every key of the prefix.
	seen := map[string]bool{}
	cursor := "0"
	for {
		rep := g.do(t, "GET", "/db/0/keys?count=5&match="+url.QueryEscape(t.Name()+":scan:*")+"&cursor="+cursor, nil)
		var page struct {
			Cursor string   `json:"cursor"`
			Keys   []string `json:"keys"`
		}
		if err := json.Unmarshal(rep.Body, &page); err != nil || rep.Status != 200 {
			t.Fatalf("scan: %d %s", rep.Status, rep.Body)
		}
		for _, k := range page.Keys {
			seen[k] = true
		}
		if cursor = page.Cursor; cursor == "0" {
			break
		}
	}
	if len(seen) != 25 {
		t.Fatalf("scan found %d keys, want 25", len(seen))
	}
	runSteps(t, g, []step{
		{method: "GET", path: "/db/0/keys/" + key, status: 404, code: "NOT_FOUND"},
		{method: "PUT", path: "/db/0/strings/" + key, body: map[string]any{"value": "v"}, status: 200},
		{method: "GET", path: "/db/0/keys/" + key, status: 200, want: `{"key":"` + t.Name() + `:k","type":"string","ttl_ms":null}`},
		{method: "PUT", path: "/db/0/keys/" + key + "/ttl", body: map[string]any{"ttl_ms": 100000}, status: 200, want: `{"updated":true}`},
		{method: "PUT", path: "/db/0/keys/" + key + "/ttl", body: map[string]any{}, status: 400, code: "VALIDATION"},
		{method: "PUT", path: "/db/0/keys/" + k(t, "absent") + "/ttl", body: map[string]any{"ttl_ms": 1000}, status: 404, code: "NOT_FOUND"},
		{method: "DELETE", path: "/db/0/keys/" + key + "/ttl", status: 200, want: `{"updated":true}`},
		{method: "POST", path: "/db/0/keys/" + key + "/rename", body: map[string]any{"to": t.Name() + ":k2"}, status: 200, want: `{"renamed":true}`},
		{method: "POST", path: "/db/0/keys/" + key + "/rename", body: map[string]any{"to": t.Name() + ":k3"}, status: 404, code: "NOT_FOUND"},
		{method: "DELETE", path: "/db/0/keys/" + k(t, "k2"), status: 200, want: `{"deleted":1}`},
		{method: "GET", path: "/db/0/keys?type=bogus", status: 400, code: "VALIDATION"},
	})
	rep := g.do(t, "GET", "/db/0/keys/"+key, nil)
	_ = rep
}

func TestHashes(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := k(t, "h")
	runSteps(t, g, []step{
		{method: "GET", path: "/db/0/hashes/" + key, status: 404, code: "NOT_FOUND"},
		{method: "PUT", path: "/db/0/hashes/" + key, body: map[string]any{"fields": map[string]string{"a": "1", "b/c": "2"}}, status: 200, want: `{"added":2}`},
		{method: "GET", path: "/db/0/hashes/" + key, status: 200, want: `{"fields":{"a":"1","b/c":"2"}}`},
		{method: "GET", path: "/db/0/hashes/" + key + "/fields/b%2Fc", status: 200, want: `{"value":"2"}`},
		{method: "GET", path: "/db/0/hashes/" + key + "/fields/zz", status: 404, code: "NOT_FOUND"},
		{method: "PUT", path: "/db/0/hashes/" + key + "/fields/a", body: map[string]any{"value": "x", "nx": true}, status: 200, want: `{"created":false}`},
		{method: "PUT", path: "/db/0/hashes/" + key + "/fields/c", body: map[string]any{"value": "3"}, status: 200, want: `{"created":true}`},
		{method: "POST", path: "/db/0/hashes/" + key + "/fields/n/incr", body: `{"by":2}`, status: 200, want: `{"value":2}`},
		{method: "POST", path: "/db/0/hashes/" + key + "/fields/n/incr", body: `{"by":1.5}`, status: 200, want: `{"value":3.5}`},
		{method: "DELETE", path: "/db/0/hashes/" + key + "/fields/c", status: 200, want: `{"deleted":1}`},
		{method: "PUT", path: "/db/0/strings/" + k(t, "str"), body: map[string]any{"value": "v"}, status: 200},
		{method: "GET", path: "/db/0/hashes/" + k(t, "str"), status: 409, code: "WRONGTYPE"},
	})
}

func TestListsSets(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	l, s := k(t, "l"), k(t, "s")
	runSteps(t, g, []step{
		{method: "GET", path: "/db/0/lists/" + l, status: 404, code: "NOT_FOUND"},
		{method: "POST", path: "/db/0/lists/" + l + "/push", body: map[string]any{"values": []string{"a", "b", "c"}}, status: 200, want: `{"length":3}`},
		{method: "POST", path: "/db/0/lists/" + l + "/push", body: map[string]any{"values": []string{"z"}, "side": "left"}, status: 200, want: `{"length":4}`},
		{method: "GET", path: "/db/0/lists/" + l + "?start=1&stop=2", status: 200, want: `{"items":["a","b"]}`},
		{method: "POST", path: "/db/0/lists/" + l + "/pop", body: map[string]any{"side": "right", "count": 2}, status: 200, want: `{"items":["c","b"]}`},
		{method: "POST", path: "/db/0/lists/" + l + "/push", body: map[string]any{"values": []string{}}, status: 400, code: "VALIDATION"},
		{method: "POST", path: "/db/0/lists/" + l + "/push", body: map[string]any{"values": []string{"x"}, "side": "middle"}, status: 400, code: "VALIDATION"},
		{method: "POST", path: "/db/0/lists/" + k(t, "none") + "/pop", body: map[string]any{}, status: 404, code: "NOT_FOUND"},
		{method: "GET", path: "/db/0/sets/" + s, status: 404, code: "NOT_FOUND"},
		{method: "POST", path: "/db/0/sets/" + s + "/members", body: map[string]any{"members": []string{"x", "y", "x"}}, status: 200, want: `{"added":2}`},
		{method: "GET", path: "/db/0/sets/" + s + "/members/x", status: 200, want: `{"member":true}`},
		{method: "GET", path: "/db/0/sets/" + s + "/members/q", status: 200, want: `{"member":false}`},
		{method: "DELETE", path: "/db/0/sets/" + s + "/members/x", status: 200, want: `{"removed":1}`},
		{method: "GET", path: "/db/0/sets/" + s, status: 200, want: `{"members":["y"]}`},
	})
}

func TestZsets(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	z := k(t, "z")
	runSteps(t, g, []step{
		{method: "POST", path: "/db/0/zsets/" + z + "/members", body: map[string]any{"members": []map[string]any{{"member": "a", "score": 1}, {"member": "b", "score": 2.5}, {"member": "c", "score": "inf"}}}, status: 200, want: `{"added":3}`},
		{method: "GET", path: "/db/0/zsets/" + z, status: 200, want: `{"members":[{"member":"a","score":1},{"member":"b","score":2.5},{"member":"c","score":"inf"}]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?withscores=false&rev=true", status: 200, want: `{"members":["c","b","a"]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?by=score&start=(1&stop=3", status: 200, want: `{"members":[{"member":"b","score":2.5}]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?by=score&offset=1&count=1", status: 200, want: `{"members":[{"member":"b","score":2.5}]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?by=lex&start=[a&stop=[b", status: 200, want: `{"members":["a","b"]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?by=score&start=abc", status: 400, code: "VALIDATION"},
		{method: "GET", path: "/db/0/zsets/" + z + "?offset=1", status: 400, code: "VALIDATION"},
		{method: "GET", path: "/db/0/zsets/" + z + "/members/b", status: 200, want: `{"score":2.5,"rank":1}`},
		{method: "GET", path: "/db/0/zsets/" + z + "/members/zz", status: 404, code: "NOT_FOUND"},
		{method: "POST", path: "/db/0/zsets/" + z + "/members/a/incr", body: `{"by":0.5}`, status: 200, want: `{"score":1.5}`},
		{method: "POST", path: "/db/0/zsets/" + z + "/members", body: map[string]any{"members": []map[string]any{{"member": "a", "score": 9}}, "ch": true, "xx": true}, status: 200, want: `{"changed":1}`},
		{method: "POST", path: "/db/0/zsets/" + z + "/members", body: map[string]any{"members": []map[string]any{{"member": "a", "score": 9}}, "nx": true, "xx": true}, status: 400, code: "VALIDATION"},
		{method: "DELETE", path: "/db/0/zsets/" + z + "/members/a", status: 200, want: `{"removed":1}`},
	})
}

func TestStreams(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	s := k(t, "st")
	rep := g.do(t, "POST", "/db/0/streams/"+s, map[string]any{"fields": map[string]string{"temp": "21.5"}})
	if rep.Status != 201 {
		t.Fatalf("XADD: %d %s", rep.Status, rep.Body)
	}
	var added struct{ ID string }
	_ = json.Unmarshal(rep.Body, &added)
	loc := rep.Header.Get("Location")
	if loc == "" || !strings.Contains(loc, added.ID) {
		t.Fatalf("Location %q does not name %s", loc, added.ID)
	}
	got := g.do(t, "GET", loc, nil)
	assertJSON(t, got.Body, `{"entries":[{"id":"`+added.ID+`","fields":{"temp":"21.5"}}]}`, "GET Location")
	for range 5 {
		g.do(t, "POST", "/db/0/streams/"+s, map[string]any{"fields": map[string]string{"x": "y"}, "maxlen": 3})
	}
	assertJSON(t, g.do(t, "GET", "/db/0/streams/"+s+"/length", nil).Body, `{"length":3}`, "XLEN after MAXLEN 3")
	rep = g.do(t, "GET", "/db/0/streams/"+s+"?rev=true&count=1", nil)
	if rep.Status != 200 || !strings.Contains(string(rep.Body), `"x":"y"`) {
		t.Fatalf("XREVRANGE: %d %s", rep.Status, rep.Body)
	}
	runSteps(t, g, []step{
		{method: "POST", path: "/db/0/streams/" + s, body: map[string]any{"fields": map[string]string{}}, status: 400, code: "VALIDATION"},
		{method: "POST", path: "/db/0/streams/" + k(t, "none"), body: map[string]any{"fields": map[string]string{"a": "b"}, "nomkstream": true}, status: 404, code: "NOT_FOUND"},
		{method: "POST", path: "/db/0/streams/" + s, body: map[string]any{"fields": map[string]string{"a": "b"}, "id": "1-1"}, status: 400, code: "ERR"},
	})
}

// TestGzipLargeReplies: a large reply is gzipped for a client that accepts
// it, with its own ETag and Vary; small replies and other clients get
// plain JSON; the decompressed body is the plain body.
func TestGzipLargeReplies(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := k(t, "h")
	fields := map[string]string{}
	for i := range 200 {
		fields[fmt.Sprintf("field-%03d", i)] = strings.Repeat("v", 20)
	}
	if rep := g.do(t, "PUT", "/db/0/hashes/"+key, map[string]any{"fields": fields}); rep.Status != 200 {
		t.Fatalf("PUT: %d %s", rep.Status, rep.Body)
	}
	plain := g.do(t, "GET", "/db/0/hashes/"+key, nil, "Accept-Encoding: identity")
	if plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("identity client got Content-Encoding %q", plain.Header.Get("Content-Encoding"))
	}
	zipped := g.do(t, "GET", "/db/0/hashes/"+key, nil, "Accept-Encoding: br;q=1.0, gzip;q=0.8")
	if zipped.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip client: Content-Encoding %q, Vary %q", zipped.Header.Get("Content-Encoding"), zipped.Header.Get("Vary"))
	}
	if len(zipped.Body) >= len(plain.Body)/2 {
		t.Fatalf("gzipped %d bytes, plain %d: not compressed", len(zipped.Body), len(plain.Body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain.Body) {
		t.Fatalf("decompressed body differs from the plain one (%v)", err)
	}
	if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Fatal("the gzipped and plain representations share an ETag")
	}
	if rep := g.do(t, "GET", "/db/0/hashes/"+key, nil, "Accept-Encoding: gzip", "If-None-Match: "+zipped.Header.Get("ETag")); rep.Status != 304 {
		t.Fatalf("If-None-Match with the gzip ETag: %d", rep.Status)
	}
	if rep := g.do(t, "GET", "/db/0/hashes/"+key, nil, "Accept-Encoding: gzip;q=0"); rep.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 still got gzip")
	}
	small := g.do(t, "GET", "/db/0/dbsize", nil, "Accept-Encoding: gzip")
	if small.Header.Get("Content-Encoding") != "" {
		t.Fatal("a small reply was gzipped")
	}
}

// TestUnescapedPlusInRanges: curl users write stop=+inf and end=+ in the
// query string, where '+' decodes to a space.
func TestUnescapedPlusInRanges(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	z, s := k(t, "z"), k(t, "s")
	shared.Do(t, "ZADD", z, "1", "a", "20", "b")
	shared.Do(t, "XADD", s, "1-1", "f", "v")
	runSteps(t, g, []step{
		{method: "GET", path: "/db/0/zsets/" + z + "?by=score&start=(10&stop=+inf", status: 200, want: `{"members":[{"member":"b","score":20}]}`},
		{method: "GET", path: "/db/0/zsets/" + z + "?by=lex&start=-&stop=+&withscores=false", status: 200, want: `{"members":["a","b"]}`},
		{method: "GET", path: "/db/0/streams/" + s + "?start=-&end=+", status: 200, want: `{"entries":[{"id":"1-1","fields":{"f":"v"}}]}`},
	})
}
