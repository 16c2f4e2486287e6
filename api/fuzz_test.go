package api

// Fuzz targets for what a client controls: JSON bodies of the command
// routes, key bytes in the path (percent-escaped and base64), and values
// in every encoding. Each target runs the gateway's real handler over its
// own redis-server; `make fuzz` runs them all, and the seeds (f.Add plus
// testdata/fuzz/<FuzzName>/) run with every `go test`.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// fuzzToken is the bearer token of the fuzzing gateway. Its level is
// write: fuzzed commands may read and write keys, but the dangerous ones
// (DEBUG, SHUTDOWN, FLUSHALL, CONFIG…) are refused before they reach the
// fuzzer's Redis.
const fuzzToken = "fuzz-token"

// fuzzGateway is a gateway handler over its own redis-server, called
// in-process (no sockets per request, so the fuzzer runs fast).
type fuzzGateway struct {
	h     http.Handler
	redis *redistest.Server
}

func newFuzzGateway(f *testing.F) *fuzzGateway {
	f.Helper()
	rs := redistest.Start(f)
	db := relDatabase(f, "0", rs.Addr(), nil)
	srv := NewServer(nil, Config{
		CommandTimeout: time.Second,
		MaxPipeline:    64,
		BodyLimit:      1 << 16,
		Tokens:         []Token{{Name: "fuzz", Secret: fuzzToken, Databases: []string{"*"}, Level: LevelWrite}},
	}, []*Database{db}, nil)
	f.Cleanup(srv.Close)
	return &fuzzGateway{h: srv, redis: rs}
}

// serve runs one request through the handler, bounded to a few seconds so
// that a fuzzed blocking command (BLPOP k 0) cannot hang the fuzzer.
func (g *fuzzGateway) serve(method, target string, body []byte, headers ...string) *httptest.ResponseRecorder {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+fuzzToken)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, req)
	return rec
}

// checkWellFormed fails unless rec is a 200 with a JSON body or an error
// (other than 500) as problem+json whose status matches the HTTP status.
func checkWellFormed(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code == http.StatusInternalServerError:
		t.Fatalf("%s: 500: %s", what, rec.Body)
	case rec.Code == http.StatusOK:
		if !strings.HasPrefix(ct, "application/json") || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s: 200 with Content-Type %q and body %q, want JSON", what, ct, rec.Body)
		}
	case rec.Code == 499: // the fuzz request's own deadline; nothing was written
	default:
		var p Problem
		if ct != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
			t.Fatalf("%s: %d with Content-Type %q and body %q, want problem+json", what, rec.Code, ct, rec.Body)
		}
		if p.Status != rec.Code || p.Code == "" {
			t.Fatalf("%s: %d with problem status %d, code %q", what, rec.Code, p.Status, p.Code)
		}
	}
}

// FuzzCommandBodies posts the fuzzed bytes as the body of /command,
// /pipeline and /transaction: whatever they are, the answer is a 200 with
// JSON or a problem+json error, never a 500 or a panic.
func FuzzCommandBodies(f *testing.F) {
	for _, seed := range []string{
		`{"command":["SET","k","v"]}`,
		`{"command":["GET","k"]}`,
		`{"command":["ZRANGE","z","0","-1","WITHSCORES"]}`,
		`{"command":["HSET","h","f","1"]}`,
		`{"command":["XADD","s","*","f","v"]}`,
		`{"command":[]}`,
		`{"command":[""]}`,
		`{"command":["FLUSHALL"]}`,
		`{"command":["BLPOP","q","0"]}`,
		`{"command":["SET","k"]}`,
		`{"command":[1,2]}`,
		`{"commands":[["SET","a","1"],["INCR","a"],["LPUSH","a","x"]]}`,
		`{"commands":[[]]}`,
		`{"commands":[["MULTI"]]}`,
		`{"watch":["a"],"commands":[["INCR","a"]]}`,
		`{"watch":[],"commands":[["GET","a"],["SET","a","b","GET"]]}`,
		`{"command":["SET","k","v"],"extra":1}`,
		`{"command":["SET","k","v"]} {}`,
		`[[[[[[[[[[`,
		`{"command":"GET"}`,
		`null`,
		``,
		"{\"command\":[\"SET\",\"k\",\"\xff\xfe\"]}",
		`{"command":["SET","k","\u0000"]}`,
	} {
		f.Add([]byte(seed))
	}
	g := newFuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, route := range []string{"command", "pipeline", "transaction"} {
			for _, q := range []string{"", "?encoding=base64", "?raw=true"} {
				target := "/db/0/" + route + q
				checkWellFormed(t, "POST "+target+" "+string(body), g.serve("POST", target, body))
			}
		}
	})
}

// FuzzKeyRoundTrip stores a value under the fuzzed key bytes, sent once
// percent-escaped and once base64-encoded (key_encoding=base64), and
// requires that GET answers with that value and that Redis holds it under
// exactly those bytes.
func FuzzKeyRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"plain", "a/b", "100%", "%2F", "with space", "ünïcødé", "emoji 🔑", "\x00", "nul\x00inside",
		"\xff\xfe", "?query#frag", "+plus+", ".", "..", "a\r\nb", "%", "%zz", "鍵",
	} {
		f.Add([]byte(seed))
	}
	g := newFuzzGateway(f)
	f.Fuzz(func(t *testing.T, key []byte) {
		if len(key) == 0 || len(key) > 1024 {
			t.Skip("a key is one non-empty path segment of reasonable size")
		}
		forms := []struct{ name, segment, query string }{
			{"escaped", url.PathEscape(string(key)), ""},
			{"base64", url.PathEscape(base64.URLEncoding.EncodeToString(key)), "?key_encoding=base64"},
		}
		for i, form := range forms {
			val := "value " + form.name + " " + string(rune('a'+i))
			target := "/db/0/strings/" + form.segment + form.query
			body, _ := json.Marshal(map[string]string{"value": val})
			put := g.serve("PUT", target, body)
			if put.Code != http.StatusOK {
				t.Fatalf("PUT %q (%s, %s): %d %s", key, form.name, target, put.Code, put.Body)
			}
			get := g.serve("GET", target, nil)
			var got StringValue
			if get.Code != http.StatusOK || json.Unmarshal(get.Body.Bytes(), &got) != nil || got.Value != val {
				t.Fatalf("GET %q (%s, %s): %d %s, want value %q", key, form.name, target, get.Code, get.Body, val)
			}
			if v := g.redis.Do(t, "GET", string(key)); string(v.Str) != val {
				t.Fatalf("key %q (%s): Redis has %q under those bytes, want %q", key, form.name, v.Str, val)
			}
		}
		g.redis.Do(t, "DEL", string(key))
	})
}

// FuzzValueEncodings stores fuzzed bytes as a value three ways (base64 in
// JSON, raw octet-stream, plain JSON text when they are valid UTF-8) and
// reads them back: bytes are never altered, text comes back as text, and
// anything else is refused with 422 NOT_UTF8 unless base64 is asked for.
func FuzzValueEncodings(f *testing.F) {
	for _, seed := range []string{
		"", "text", "ünïcødé", "\x00\x01\x02", "\xff", "\xc3\x28", "\xed\xa0\x80", "a\u2028b", "\"quoted\"", `\u0000`, "🔑\xf0\x9f",
	} {
		f.Add([]byte(seed))
	}
	g := newFuzzGateway(f)
	f.Fuzz(func(t *testing.T, val []byte) {
		if len(val) > 1<<14 {
			t.Skip("values past 16 KiB add nothing here")
		}
		const target = "/db/0/strings/fuzz-value"
		check := func(how string) {
			t.Helper()
			if v := g.redis.Do(t, "GET", "fuzz-value"); !bytes.Equal(v.Str, val) {
				t.Fatalf("%s: Redis has %q, want %q", how, v.Str, val)
			}
			raw := g.serve("GET", target, nil, "Accept: application/octet-stream")
			if raw.Code != http.StatusOK || !bytes.Equal(raw.Body.Bytes(), val) {
				t.Fatalf("%s: GET octet-stream: %d %q, want %q", how, raw.Code, raw.Body, val)
			}
			b64 := g.serve("GET", target+"?encoding=base64", nil)
			var got StringValue
			if b64.Code != http.StatusOK || json.Unmarshal(b64.Body.Bytes(), &got) != nil {
				t.Fatalf("%s: GET base64: %d %s", how, b64.Code, b64.Body)
			}
			if dec, err := base64.StdEncoding.DecodeString(got.Value); err != nil || !bytes.Equal(dec, val) {
				t.Fatalf("%s: GET base64 answered %q (%v), want the base64 of %q", how, got.Value, err, val)
			}
			text := g.serve("GET", target, nil)
			if utf8.Valid(val) {
				got = StringValue{}
				if text.Code != http.StatusOK || json.Unmarshal(text.Body.Bytes(), &got) != nil || got.Value != string(val) {
					t.Fatalf("%s: GET text: %d %s, want %q", how, text.Code, text.Body, val)
				}
				return
			}
			var p Problem
			if text.Code != http.StatusUnprocessableEntity || json.Unmarshal(text.Body.Bytes(), &p) != nil || p.Code != CodeNotUTF8 {
				t.Fatalf("%s: GET text of %q: %d %s, want 422 NOT_UTF8", how, val, text.Code, text.Body)
			}
		}

		body, _ := json.Marshal(map[string]string{"value": base64.StdEncoding.EncodeToString(val)})
		if rec := g.serve("PUT", target+"?encoding=base64", body); rec.Code != http.StatusOK {
			t.Fatalf("PUT base64 %q: %d %s", val, rec.Code, rec.Body)
		}
		check("PUT base64")

		if rec := g.serve("PUT", target, val, "Content-Type: application/octet-stream"); rec.Code != http.StatusOK {
			t.Fatalf("PUT octet-stream %q: %d %s", val, rec.Code, rec.Body)
		}
		check("PUT octet-stream")

		if utf8.Valid(val) {
			body, _ := json.Marshal(map[string]string{"value": string(val)})
			if rec := g.serve("PUT", target, body); rec.Code != http.StatusOK {
				t.Fatalf("PUT text %q: %d %s", val, rec.Code, rec.Body)
			}
			check("PUT text")
		}
	})
}
