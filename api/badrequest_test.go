package api

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawGet sends request lines as written (no client escaping) on one
// connection and returns each response.
func rawGet(t *testing.T, addr string, targets ...string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []*http.Response
	for _, target := range targets {
		if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func serveOn(t *testing.T, ln net.Listener) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestUnescapedPercent: net/http refuses a request target with a stray
// "%" before any handler (or chi) sees it, as plain text; through
// ProblemListener the answer is problem+json 400 VALIDATION, and requests
// before it on the same connection are untouched.
func TestUnescapedPercent(t *testing.T) {
	t.Run("BareNetHTTPIsPlainText", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		resp := rawGet(t, serveOn(t, ln), "/db/0/strings/100%")[0]
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("net/http answered %d %q; the wrapper's premise changed", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	for _, target := range []string{"/db/0/strings/100%", "/db/0/strings/a%zz", "/db/0/strings/a%2"} {
		t.Run("Problem"+strings.TrimPrefix(target, "/db/0/strings/"), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			resps := rawGet(t, serveOn(t, ProblemListener(ln)), "/db/0/strings/100%25", target)
			ok, _ := io.ReadAll(resps[0].Body)
			if resps[0].StatusCode != 200 || string(ok) != "ok /db/0/strings/100%" {
				t.Fatalf("escaped request: %d %q", resps[0].StatusCode, ok)
			}
			resp := resps[1]
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.Code != CodeValidation || p.Status != 400 || !strings.Contains(p.Detail, "%25") {
				t.Fatalf("%+v", p)
			}
		})
	}
}
