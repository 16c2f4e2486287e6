package api

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestSyncTokensPassThrough: without replicas, both surfaces answer a
// sync token on every database response, a larger one after each write,
// and never less than the request brought; CORS exposes both headers.
func TestSyncTokensPassThrough(t *testing.T) {
	g := newGateway(t, gatewayOpts{cfg: Config{CORSOrigins: []string{"https://app.example"}}})
	k := t.Name()
	for _, sf := range []struct {
		name, header string
		write, read  func(tok string) reply
	}{
		{"rest", "Redis-Sync-Token",
			func(tok string) reply {
				return g.do(t, "PUT", "/db/0/strings/"+k, `{"value":"x"}`, "Redis-Sync-Token: "+tok, "Origin: https://app.example")
			},
			func(tok string) reply {
				return g.do(t, "GET", "/db/0/strings/"+k, nil, "Redis-Sync-Token: "+tok, "Origin: https://app.example")
			}},
		{"command", "Redis-Sync-Token",
			func(tok string) reply {
				return g.do(t, "POST", "/db/0/command", `{"command":["SET","`+k+`","z"]}`, "Redis-Sync-Token: "+tok, "Origin: https://app.example")
			},
			func(tok string) reply {
				return g.do(t, "POST", "/db/0/command", `{"command":["GET","`+k+`"]}`, "Redis-Sync-Token: "+tok, "Origin: https://app.example")
			}},
		{"upstash", "Upstash-Sync-Token",
			func(tok string) reply {
				return g.do(t, "POST", "/upstash/0", `["SET","`+k+`","y"]`, "upstash-sync-token: "+tok, "Origin: https://app.example")
			},
			func(tok string) reply {
				return g.do(t, "POST", "/upstash/0", `["GET","`+k+`"]`, "upstash-sync-token: "+tok, "Origin: https://app.example")
			}},
	} {
		token := func(rep reply) int64 {
			t.Helper()
			if rep.Status != 200 {
				t.Fatalf("%s: status %d: %s", sf.name, rep.Status, rep.Body)
			}
			n, err := strconv.ParseInt(rep.Header.Get(sf.header), 10, 64)
			if err != nil {
				t.Fatalf("%s: %s = %q, want a number", sf.name, sf.header, rep.Header.Get(sf.header))
			}
			if exp := rep.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(exp, sf.header) {
				t.Fatalf("%s: Access-Control-Expose-Headers %q lacks %s", sf.name, exp, sf.header)
			}
			return n
		}
		t1 := token(sf.write(""))
		t2 := token(sf.write(strconv.FormatInt(t1, 10)))
		if t2 <= t1 {
			t.Errorf("%s: token after a second write %d, want more than %d", sf.name, t2, t1)
		}
		if r := token(sf.read(strconv.FormatInt(t2, 10))); r < t2 {
			t.Errorf("%s: token after a read with %d: %d, want at least that", sf.name, t2, r)
		}
		// a token from elsewhere (another gateway process) is never lowered
		big := t2 + 1000
		if w := token(sf.write(strconv.FormatInt(big, 10))); w <= big {
			t.Errorf("%s: token after a write with %d: %d, want more", sf.name, big, w)
		}
		if r := token(sf.read("not-a-number")); r < t2 {
			t.Errorf("%s: token after a read with a foreign token: %d, want at least %d", sf.name, r, t2)
		}
	}
	// preflight allows the headers the browser asks for
	rep := g.do(t, "OPTIONS", "/upstash/0", nil, "Origin: https://app.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: upstash-sync-token, authorization")
	if got := rep.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "upstash-sync-token") {
		t.Errorf("preflight Access-Control-Allow-Headers %q, want upstash-sync-token", got)
	}
}

// TestSyncTokenTextIsReused: the token's text is formatted once per value
// (reads answer the same token until a write moves it), and is right for
// every value, from many goroutines at once.
func TestSyncTokenTextIsReused(t *testing.T) {
	var tr syncTracker // (not parallel: AllocsPerRun refuses to run in parallel tests)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				n := int64(1000 + (i+g)%7)
				if got := tr.format(n); got != strconv.FormatInt(n, 10) {
					t.Errorf("format(%d) = %q", n, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	tr.format(123456)
	if a := testing.AllocsPerRun(100, func() { tr.format(123456) }); a != 0 {
		t.Errorf("formatting the same token again allocates %.0f times, want 0", a)
	}
}
