package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestAuthScopes(t *testing.T) {
	t.Parallel()
	hash := sha256.Sum256([]byte("hashed-secret"))
	g := newGateway(t, gatewayOpts{cfg: Config{Tokens: []Token{
		{Name: "reader", Secret: "r", Databases: []string{"0"}, Level: LevelRead},
		{Name: "writer", Secret: "w", Databases: []string{"*"}, Level: LevelWrite},
		{Name: "admin", SHA256: hex.EncodeToString(hash[:]), Databases: []string{"*"}, Level: LevelAdmin},
	}}})
	key := k(t, "x")
	cmd := func(args ...string) map[string]any { return map[string]any{"command": args} }
	bearer := func(tok string) string { return "Authorization: Bearer " + tok }
	cases := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "", "GET", "/db/0/dbsize", nil, 401, "UNAUTHORIZED"},
		{"bad token", "nope", "GET", "/db/0/dbsize", nil, 401, "UNAUTHORIZED"},
		{"reader reads", "r", "GET", "/db/0/dbsize", nil, 200, ""},
		{"reader other db", "r", "GET", "/db/1/dbsize", nil, 403, "FORBIDDEN_DATABASE"},
		{"reader typed write", "r", "PUT", "/db/0/strings/" + key, map[string]any{"value": "v"}, 403, "FORBIDDEN_COMMAND"},
		{"reader publish", "r", "POST", "/db/0/channels/c/messages", map[string]any{"message": "m"}, 403, "FORBIDDEN_COMMAND"},
		{"reader EVAL", "r", "POST", "/db/0/command", cmd("EVAL", "return 1", "0"), 403, "FORBIDDEN_COMMAND"},
		{"reader pipeline with one write", "r", "POST", "/db/0/pipeline", map[string]any{"commands": [][]string{{"GET", "a"}, {"SET", t.Name() + ":pw", "1"}}}, 403, "FORBIDDEN_COMMAND"},
		{"reader transaction write", "r", "POST", "/db/0/transaction", map[string]any{"commands": [][]string{{"INCR", t.Name() + ":tw"}}}, 403, "FORBIDDEN_COMMAND"},
		{"reader GET via command", "r", "POST", "/db/0/command", cmd("GET", "a"), 200, ""},
		{"writer writes", "w", "PUT", "/db/3/strings/" + key, map[string]any{"value": "v"}, 200, ""},
		{"writer publish", "w", "POST", "/db/0/channels/c/messages", map[string]any{"message": "m"}, 200, ""},
		{"writer dangerous", "w", "POST", "/db/0/command", cmd("FLUSHDB"), 403, "FORBIDDEN_COMMAND"},
		{"writer admin-flagged", "w", "POST", "/db/0/command", cmd("CONFIG", "GET", "maxmemory"), 403, "FORBIDDEN_COMMAND"},
		{"writer KEYS", "w", "POST", "/db/0/command", cmd("KEYS", "*"), 403, "FORBIDDEN_COMMAND"},
		{"hashed admin config", "hashed-secret", "POST", "/db/0/command", cmd("CONFIG", "GET", "maxmemory"), 200, ""},
		{"query token", "", "GET", "/db/0/dbsize?_token=w", nil, 200, ""},
		{"healthz is public", "", "GET", "/healthz", nil, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.token != "" {
				hdr = append(hdr, bearer(tc.token))
			}
			rep := g.do(t, tc.method, tc.path, tc.body, hdr...)
			if rep.Status != tc.status {
				t.Fatalf("got %d %s, want %d", rep.Status, rep.Body, tc.status)
			}
			if tc.code != "" {
				p := rep.Problem(t)
				if p.Code != tc.code {
					t.Fatalf("got code %s, want %s", p.Code, tc.code)
				}
				if tc.status == 401 && !strings.HasPrefix(rep.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without WWW-Authenticate: Bearer")
				}
			}
		})
	}
	if v := shared.Do(t, "EXISTS", t.Name()+":pw"); v.Int != 0 {
		t.Fatal("the refused pipeline ran its write")
	}
	// /databases lists only the token's databases.
	rep := g.do(t, "GET", "/databases", nil, bearer("r"))
	if strings.Count(string(rep.Body), `"name":`) != 1 {
		t.Fatalf("reader sees databases %s, want only 0", rep.Body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{Tokens: []Token{
		{Name: "slow", Secret: "s", Databases: []string{"*"}, Level: LevelRead, RateLimit: 0.5, Burst: 2},
	}}})
	var codes []int
	for range 3 {
		codes = append(codes, g.do(t, "GET", "/db/0/dbsize", nil, "Authorization: Bearer s").Status)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("statuses %v, want 200 200 429 (burst 2)", codes)
	}
	rep := g.do(t, "GET", "/db/0/dbsize", nil, "Authorization: Bearer s")
	if rep.Problem(t).Code != "RATE_LIMITED" || rep.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without RATE_LIMITED code or Retry-After: %s", rep.Body)
	}
}

func TestConfigValidateRejectsBadTokens(t *testing.T) {
	for _, tok := range []Token{
		{Name: "no secret", Level: LevelRead},
		{Name: "bad hash", SHA256: "xyz", Level: LevelRead},
		{Name: "no level", Secret: "x"},
	} {
		if err := (Config{Tokens: []Token{tok}}).Validate(); err == nil {
			t.Errorf("token %q: Validate accepted it", tok.Name)
		}
	}
}

// TestAuthRealtime applies the same tokens to event streams and WebSockets:
// a read token may subscribe and tail but not publish or write.
func TestAuthRealtime(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{Tokens: []Token{
		{Name: "reader", Secret: "r", Databases: []string{"0"}, Level: LevelRead},
		{Name: "writer", Secret: "w", Databases: []string{"*"}, Level: LevelWrite},
	}}})
	ch := url.PathEscape(t.Name())
	for _, c := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"SSE without token", "/db/0/channels/" + ch + "/events", "", 401, "UNAUTHORIZED"},
		{"SSE other db", "/db/1/channels/" + ch + "/events", "r", 403, "FORBIDDEN_DATABASE"},
		{"pattern other db", "/db/1/patterns/" + ch + "/events", "r", 403, "FORBIDDEN_DATABASE"},
		{"tail without token", "/db/0/streams/" + ch + "/events", "", 401, "UNAUTHORIZED"},
		{"WebSocket without token", "/db/0/ws", "", 401, "UNAUTHORIZED"},
		{"WebSocket other db", "/db/1/ws", "r", 403, "FORBIDDEN_DATABASE"},
	} {
		var hdr []string
		if c.token != "" {
			hdr = append(hdr, "Authorization: Bearer "+c.token)
		}
		rep := g.do(t, "GET", c.path, nil, hdr...)
		if rep.Status != c.status || rep.Problem(t).Code != c.code {
			t.Errorf("%s: got %d %s, want %d %s", c.name, rep.Status, rep.Body, c.status, c.code)
		}
	}
	// A reader subscribes and tails.
	sse := openSSE(t, g.URL, "/db/0/channels/"+ch+"/events", "Authorization: Bearer r")
	openSSE(t, g.URL, "/db/0/streams/"+ch+"/events?start=0", "Authorization: Bearer r")

	// Over a WebSocket, the reader subscribes but may not publish or write.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(g.URL, "http", "ws", 1)+"/db/0/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer r"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, f := range []struct{ frame, wantType, wantCode string }{
		{`{"id":1,"type":"subscribe","channel":"` + t.Name() + `"}`, "result", ""},
		{`{"id":2,"type":"publish","channel":"` + t.Name() + `","message":"m"}`, "error", "FORBIDDEN_COMMAND"},
		{`{"id":3,"type":"command","command":["SET","` + t.Name() + `:k","v"]}`, "error", "FORBIDDEN_COMMAND"},
		{`{"id":4,"type":"command","command":["GET","` + t.Name() + `:k"]}`, "result", ""},
	} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(f.frame)); err != nil {
			t.Fatal(err)
		}
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		code := ""
		if e, ok := m["error"].(map[string]any); ok {
			code, _ = e["code"].(string)
		}
		if m["type"] != f.wantType || code != f.wantCode {
			t.Errorf("frame %s: got %s, want type %s code %q", f.frame, b, f.wantType, f.wantCode)
		}
	}
	if v := shared.Do(t, "EXISTS", t.Name()+":k"); v.Int != 0 {
		t.Fatal("the refused WebSocket write ran")
	}
	// A writer's publish reaches the reader's stream.
	if rep := g.do(t, "POST", "/db/0/channels/"+ch+"/messages", map[string]any{"message": "from writer"}, "Authorization: Bearer w"); rep.Status != 200 {
		t.Fatalf("writer publish: %d %s", rep.Status, rep.Body)
	}
	ev := sse.next(t, "message")
	if !strings.Contains(ev.Data, "from writer") {
		t.Fatalf("reader got %+v", ev)
	}
}
