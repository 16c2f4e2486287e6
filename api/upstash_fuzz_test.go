package api

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzUpstashBodies sends arbitrary bodies to the Upstash surface's single
// command, pipeline and transaction routes, with and without base64
// replies. Every answer must be JSON the @upstash/redis client can read:
// {"result"} or {"error"} for a command, an array of them for a batch, or
// {"error"} with a non-2xx status; never a 500.
func FuzzUpstashBodies(f *testing.F) {
	g := newFuzzGateway(f)
	for _, seed := range []string{
		`["SET","k","v"]`, `["GET","k"]`, `["INCRBYFLOAT","n",1.5e3]`, `["HSET","h","f",true,"g",null]`,
		`["ZADD","z",1,"a"]`, `["ZRANGE","z",0,-1,"WITHSCORES"]`, `["EVAL","#!lua flags=allow-key-locking\nreturn 1",0]`,
		`[["SET","k",1],["INCR","k"],["HGET","k","f"]]`, `[[]]`, `[]`, `{}`, `"x"`, `[["SELECT",1]]`,
		`["SCRIPT","LOAD","#!lua flags=no-writes,allow-key-locking\nreturn 2"]`, "[\"SET\",\"k\",\"\\ud800\"]",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		route := []string{"/upstash/0", "/upstash/0/pipeline", "/upstash/0/multi-exec"}[int(mode)%3]
		var headers []string
		if mode&4 != 0 {
			headers = append(headers, "Upstash-Encoding: base64")
		}
		rec := g.serve("POST", route, body, headers...)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable && rec.Code != http.StatusGatewayTimeout {
			t.Fatalf("%s %q: status %d: %s", route, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: Content-Type %q, want application/json", route, body, ct)
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %q: answer is not JSON: %v: %q", route, body, err, rec.Body)
		}
		check := func(m map[string]any) {
			_, hasResult := m["result"]
			_, hasError := m["error"]
			if hasResult == hasError {
				t.Fatalf("%s %q: element %v must hold exactly one of result and error", route, body, m)
			}
		}
		switch v := v.(type) {
		case map[string]any:
			check(v)
			if _, isErr := v["error"]; isErr == (rec.Code < 300) {
				t.Fatalf("%s %q: status %d with %v", route, body, rec.Code, v)
			}
		case []any:
			if rec.Code != 200 || route == "/upstash/0" {
				t.Fatalf("%s %q: an array with status %d", route, body, rec.Code)
			}
			for _, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					t.Fatalf("%s %q: element %v is not an object", route, body, e)
				}
				check(m)
			}
		default:
			t.Fatalf("%s %q: answer %v is neither an object nor an array", route, body, v)
		}
	})
}
