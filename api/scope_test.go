package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// Containment beyond the red-team matrix: what happens without ACL users,
// what a token hears, and what a token may hold.

func TestContainmentWithoutACLUsers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		setup func(t *testing.T) (*redistest.Server, func(*Database))
	}{
		{"backend without ACL support", func(t *testing.T) (*redistest.Server, func(*Database)) {
			// as for the embedded server: no way to open scope backends
			return redistest.Start(t, "--enable-debug-command", "local"), func(db *Database) { db.OpenScoped = nil }
		}},
		{"identity may not run ACL", func(t *testing.T) (*redistest.Server, func(*Database)) {
			rs := redistest.Start(t, "--enable-debug-command", "local")
			if v := rs.Do(t, "ACL", "SETUSER", "gwid", "on", ">pw", "~*", "&*", "+@all", "-acl"); v.Err() != nil {
				t.Fatal(v.Err())
			}
			return rs, nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs, tweak := c.setup(t)
			var dbs []*Database
			for i := range 2 {
				u := rs.URL(i)
				if tweak == nil {
					u = fmt.Sprintf("redis://gwid:pw@%s/%d", rs.Addr(), i)
				}
				db := newTestDB(t, fmt.Sprint(i), u)
				if tweak != nil {
					tweak(db)
				}
				dbs = append(dbs, db)
			}
			g := &gateway{Redis: rs}
			g.URL = newHTTPServer(t, NewServer(nil, Config{Tokens: redTeamTokens}, dbs, nil))
			rs.Do(t, "SET", "k", "v0")
			before := redTeamState(t, rs, "CONFIG")
			for _, tc := range []struct {
				token  string
				args   []string
				status int
				code   string
			}{
				{"write", []string{"EVAL", "return redis.call('FLUSHALL')", "0"}, 403, CodeForbiddenCommand},
				{"read", []string{"EVAL_RO", "return redis.call('GET','k')", "0"}, 403, CodeForbiddenCommand},
				{"write", []string{"FCALL", "f", "0"}, 403, CodeForbiddenCommand},
				{"write", []string{"MOVE", "k", "1"}, 403, CodeForbiddenCommand},
				{"write", []string{"COPY", "k", "k", "DB", "1"}, 403, CodeForbiddenCommand},
				{"user42", []string{"GET", "user:42:x"}, 403, CodeACLUnavailable},
				{"write", []string{"SET", "k2", "v"}, 200, ""},
				{"admin", []string{"EVAL", "return redis.call('GET','k')", "0"}, 200, ""},
			} {
				rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": tc.args}, "Authorization: Bearer "+tc.token)
				code := ""
				if rep.Status != 200 {
					code = rep.Problem(t).Code
				}
				if rep.Status != tc.status || code != tc.code {
					t.Errorf("%s %v: got %d %s, want %d %s", tc.token, tc.args, rep.Status, rep.Body, tc.status, tc.code)
				}
			}
			rs.Do(t, "DEL", "k2")
			if after := redTeamState(t, rs, "CONFIG"); after != before {
				t.Fatalf("Redis changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestTokenHearsOnlyItsChannelsAndDatabases(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, "--notify-keyspace-events", "KEA")
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens}})
	bearer := func(tok string) string { return "Authorization: Bearer " + tok }
	for _, c := range []struct {
		token, path string
		status      int
	}{
		{"user42", "/db/0/channels/orders/events", 403},
		{"user42", "/db/0/patterns/" + url.PathEscape("user:*") + "/events", 403},
		{"user42", "/db/0/patterns/*/events", 403},
		{"read", "/db/0/channels/" + url.PathEscape("__keyspace@1__:secret") + "/events", 403},
	} {
		rep := g.do(t, "GET", c.path, nil, bearer(c.token))
		if rep.Status != c.status || rep.Problem(t).Code != CodeForbiddenChannel {
			t.Errorf("%s %s: got %d %s, want %d %s", c.token, c.path, rep.Status, rep.Body, c.status, CodeForbiddenChannel)
		}
	}
	// A db-0 reader listening to every keyspace event hears db 0's only.
	keys := openSSE(t, g.URL, "/db/0/patterns/"+url.PathEscape("__key*__:*")+"/events", bearer("read"))
	// user42 hears its own channels, nothing else, through an allowed
	// pattern.
	mine := openSSE(t, g.URL, "/db/0/patterns/"+url.PathEscape("user:42:*")+"/events", bearer("user42"))
	c1 := redistest.Dial(t, rs)
	redistest.Exchange(t, c1, "SELECT", "1")
	redistest.Exchange(t, c1, "SET", "secret", "s3cret")
	rs.Do(t, "SET", "visible", "1")
	ev := keys.next(t, "pmessage")
	if strings.Contains(ev.Data, "@1__") || !strings.Contains(ev.Data, "__keyspace@0__:visible") && !strings.Contains(ev.Data, "__keyevent@0__:set") {
		t.Fatalf("db-0 reader's first keyspace event is %s; want one of db 0", ev.Data)
	}
	rs.Do(t, "PUBLISH", "user:42:inbox", "hello")
	if ev := mine.next(t, "pmessage"); !strings.Contains(ev.Data, "hello") {
		t.Fatalf("user42 got %s", ev.Data)
	}
	// Nothing of db 1 ever reached the reader: drain what arrived so far.
	rs.Do(t, "SET", "last", "1")
	for {
		ev := keys.next(t, "pmessage")
		if strings.Contains(ev.Data, "@1__") {
			t.Fatalf("db-0 reader heard db 1: %s", ev.Data)
		}
		if strings.Contains(ev.Data, ":last") {
			break
		}
	}
}

func TestBlockingCommandsPerToken(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens, MaxBlockingPerToken: 2}})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/db/0/command", strings.NewReader(`{"command":["XREAD","BLOCK","0","STREAMS","nothing","$"]}`))
			req.Header.Set("Authorization", "Bearer read")
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:2") {
		if time.Now().After(deadline) {
			t.Fatal("the two XREADs never blocked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"XREAD", "BLOCK", "100", "STREAMS", "other", "$"}}, "Authorization: Bearer read")
	if p := rep.Problem(t); rep.Status != 503 || p.Code != CodePoolTimeout || p.Outcome != OutcomeNotSent || rep.Header.Get("Retry-After") == "" {
		t.Fatalf("third blocking command of the token: got %d %s, want 503 POOL_TIMEOUT", rep.Status, rep.Body)
	}
	// Other tokens are not held up by it.
	rep = g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"BLPOP", "l", "0.1"}}, "Authorization: Bearer write")
	if rep.Status != 200 {
		t.Fatalf("another token's BLPOP: got %d %s", rep.Status, rep.Body)
	}
	if v := rs.Do(t, "INFO", "commandstats"); !strings.Contains(string(v.Str), "cmdstat_xread:calls=2,") {
		t.Fatalf("the refused BLPOP reached Redis: %s", v.Str)
	}
}

func TestInfoForTokensBelowAdmin(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens}})
	rs.Do(t, "SET", "a", "1")
	c1 := redistest.Dial(t, rs)
	redistest.Exchange(t, c1, "SELECT", "1")
	redistest.Exchange(t, c1, "SET", "b", "1")
	rep := g.do(t, "GET", "/db/0/info", nil, "Authorization: Bearer read")
	if rep.Status != 200 {
		t.Fatalf("reader's INFO: %d %s", rep.Status, rep.Body)
	}
	assertJSON(t, rep.Body, `{"info":{"keyspace":{"db0":{"keys":1,"expires":0,"avg_ttl":0}}}}`, "reader's INFO")
	if rep := g.do(t, "GET", "/db/0/info?section=clients", nil, "Authorization: Bearer read"); rep.Status != 403 {
		t.Fatalf("reader's INFO clients: got %d %s, want 403", rep.Status, rep.Body)
	}
	rep = g.do(t, "GET", "/db/0/info?section=keyspace", nil, "Authorization: Bearer admin")
	if rep.Status != 200 || !strings.Contains(string(rep.Body), `"db1"`) {
		t.Fatalf("admin's INFO keyspace: got %d %s, want both databases", rep.Status, rep.Body)
	}
}
