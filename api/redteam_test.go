package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// The red-team matrix (docs/security.md): every escape of issue 14 tried
// with a read and a write token on every surface that runs commands,
// against a real redis-server (one with CONFIG renamed too). Each attempt
// must be refused, and a separate admin connection must find Redis's
// state (every database's data, the function libraries, the
// configuration) exactly as it was: a status alone proves nothing.

// redTeamTokens are the tokens of the matrix.
var redTeamTokens = []Token{
	{Name: "read", Secret: "read", Databases: []string{"0"}, Level: LevelRead},
	{Name: "write", Secret: "write", Databases: []string{"0"}, Level: LevelWrite},
	{Name: "user42", Secret: "user42", Databases: []string{"0"}, Level: LevelWrite, Keys: []string{"user:42:*"}, Channels: []string{"user:42:*"}},
	{Name: "admin", Secret: "admin", Databases: []string{"*"}, Level: LevelAdmin},
}

// seedRedTeam fills the server with what an attacker is after: a key per
// database, a secret in database 1 and an admin's function library.
func seedRedTeam(tb testing.TB, rs *redistest.Server, config string) {
	tb.Helper()
	for _, c := range [][]string{
		{"SELECT", "0"}, {"SET", "k", "v0"}, {"SET", "user:42:name", "ann"},
	} {
		rs.Do(tb, c...)
	}
	// rs.Do opens a connection per command: write each database through
	// a script-free MULTI-less path, one SET per database with SELECT in
	// the same connection
	for db, kv := range map[string][2]string{"1": {"secret", "s3cret"}, "2": {"z", "2"}, "3": {"w", "3"}} {
		c := redistest.Dial(tb, rs)
		redistest.Exchange(tb, c, "SELECT", db)
		redistest.Exchange(tb, c, "SET", kv[0], kv[1])
		c.Close()
	}
	lib := "#!lua name=adminlib\nredis.register_function('flush_all', function() return redis.call('FLUSHALL') end)\nredis.register_function('hello', function() return 'hi' end)"
	if v := rs.Do(tb, "FUNCTION", "LOAD", lib); v.Err() != nil {
		tb.Fatalf("load admin library: %v", v.Err())
	}
	if v := rs.Do(tb, config, "SET", "notify-keyspace-events", "KEA"); v.Err() != nil {
		tb.Fatalf("notifications: %v", v.Err())
	}
}

// redTeamState is everything an escape could change, read over a
// separate admin connection.
func redTeamState(tb testing.TB, rs *redistest.Server, config string) string {
	tb.Helper()
	var b strings.Builder
	for _, c := range [][]string{
		{"DEBUG", "DIGEST"}, // every database's keys and values
		{"FUNCTION", "LIST"},
		{config, "GET", "maxmemory"},
		{config, "GET", "dir"},
		{config, "GET", "notify-keyspace-events"},
	} {
		v := rs.Do(tb, c...)
		b.WriteString(v.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// attack is one row of the matrix: a command a token sends, with what must
// never come back.
type attack struct {
	name  string
	token string
	args  []string
	leak  string // must not appear in the answer ("" : nothing to leak)
}

func redTeamAttacks(config string, dump string) []attack {
	return []attack{
		{"1 EVAL FLUSHALL", "write", []string{"EVAL", "return redis.call('FLUSHALL')", "0"}, ""},
		{"2 EVAL SWAPDB", "write", []string{"EVAL", "return redis.call('SWAPDB','0','2')", "0"}, ""},
		{"2 EVAL SELECT and write", "write", []string{"EVAL", "redis.call('SELECT','1'); return redis.call('SET','secret','pwned')", "0"}, ""},
		{"2 EVAL MIGRATE", "write", []string{"EVAL", "return redis.call('MIGRATE','127.0.0.1','1','k','0','100','COPY')", "0"}, ""},
		{"3 EVAL_RO SELECT and read", "read", []string{"EVAL_RO", "redis.call('SELECT','1'); return redis.call('GET','secret')", "0"}, "s3cret"},
		{"3 KEYS", "read", []string{"KEYS", "*"}, "secret"},
		{"3 SLOWLOG", "read", []string{"SLOWLOG", "GET"}, ""},
		{"4 FUNCTION LOAD", "write", []string{"FUNCTION", "LOAD", "#!lua name=evil\nredis.register_function('evil', function() return redis.call('FLUSHALL') end)"}, ""},
		{"4 FCALL admin's flushing function", "write", []string{"FCALL", "flush_all", "0"}, ""},
		{"4 FUNCTION DELETE", "write", []string{"FUNCTION", "DELETE", "adminlib"}, ""},
		{"4 FUNCTION FLUSH", "write", []string{"FUNCTION", "FLUSH"}, ""},
		{"4 FUNCTION RESTORE FLUSH", "write", []string{"FUNCTION", "RESTORE", dump, "FLUSH"}, ""},
		{"5 COPY to another db", "write", []string{"COPY", "k", "k", "DB", "1", "REPLACE"}, ""},
		{"5 MOVE", "write", []string{"MOVE", "k", "3"}, ""},
		{"5 EVAL COPY to another db", "write", []string{"EVAL", "return redis.call('COPY','k','k','DB','1','REPLACE')", "0"}, ""},
		{"7 renamed CONFIG SET (read)", "read", []string{config, "SET", "maxmemory", "1mb"}, ""},
		{"7 renamed CONFIG SET (write)", "write", []string{config, "SET", "maxmemory", "1mb"}, ""},
		{"7 EVAL renamed CONFIG", "write", []string{"EVAL", "return redis.call('" + config + "','SET','maxmemory','1mb')", "0"}, ""},
		{"14 MEMORY PURGE", "read", []string{"MEMORY", "PURGE"}, ""},
		{"14 INFO", "read", []string{"INFO"}, `"db1"`}, // quoted: a request id (hex) may hold db1
		{"write FLUSHDB", "write", []string{"FLUSHDB"}, ""},
		{"pattern: SET outside", "user42", []string{"SET", "k", "pwned"}, ""},
		{"pattern: EVAL SET outside", "user42", []string{"EVAL", "return redis.call('SET','k','pwned')", "0"}, ""},
		{"pattern: EVAL GET outside", "user42", []string{"EVAL", "return redis.call('GET','k')", "0"}, "v0"},
		{"pattern: EVAL with declared key outside", "user42", []string{"EVAL", "return redis.call('DEL',KEYS[1])", "1", "k"}, ""},
		{"pattern: PUBLISH outside", "user42", []string{"PUBLISH", "orders", "x"}, ""},
		{"pattern: SCAN", "user42", []string{"SCAN", "0"}, `"k"`},
	}
}

// surface sends one command the way one part of the API takes it and
// reports the HTTP status and the body.
type surface struct {
	name string
	send func(t *testing.T, g *gateway, token string, args []string) (int, string)
}

func redTeamSurfaces() []surface {
	bearer := func(tok string) string { return "Authorization: Bearer " + tok }
	post := func(path string, body func([]string) any) func(*testing.T, *gateway, string, []string) (int, string) {
		return func(t *testing.T, g *gateway, tok string, args []string) (int, string) {
			rep := g.do(t, "POST", path, body(args), bearer(tok))
			return rep.Status, string(rep.Body)
		}
	}
	return []surface{
		{"command", post("/db/0/command", func(a []string) any { return map[string]any{"command": a} })},
		{"pipeline", post("/db/0/pipeline", func(a []string) any { return map[string]any{"commands": [][]string{{"PING"}, a}} })},
		{"transaction", post("/db/0/transaction", func(a []string) any { return map[string]any{"commands": [][]string{a}} })},
		{"upstash", post("/upstash/0", func(a []string) any { return a })},
		{"upstash pipeline", post("/upstash/0/pipeline", func(a []string) any { return [][]string{{"PING"}, a} })},
		{"upstash multi-exec", post("/upstash/0/multi-exec", func(a []string) any { return [][]string{a} })},
		{"upstash path", func(t *testing.T, g *gateway, tok string, args []string) (int, string) {
			segs := make([]string, len(args))
			for i, a := range args {
				segs[i] = url.PathEscape(a)
			}
			rep := g.do(t, "POST", "/upstash/0/"+strings.Join(segs, "/"), nil, bearer(tok))
			return rep.Status, string(rep.Body)
		}},
		{"websocket", func(t *testing.T, g *gateway, tok string, args []string) (int, string) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, strings.Replace(g.URL, "http", "ws", 1)+"/db/0/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			frame, _ := json.Marshal(map[string]any{"id": 1, "type": "command", "command": args})
			if err := conn.Write(ctx, websocket.MessageText, frame); err != nil {
				t.Fatal(err)
			}
			_, b, err := conn.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return 101, string(b)
		}},
	}
}

// refused reports whether an answer is a refusal: a 403 problem, an
// Upstash error naming the refusal, or (pipelines, WebSocket) a refusal in
// the command's place.
func refused(status int, body string) bool {
	if status == http.StatusForbidden {
		return true
	}
	for _, mark := range []string{"NOPERM", "FORBIDDEN_COMMAND", "FORBIDDEN_CHANNEL", "EXECABORT",
		"The user executing the script can't", // Upstash keeps Redis's own text
		"not allowed from script",             // Redis's noscript rule (CONFIG), before any ACL
	} {
		if strings.Contains(body, mark) {
			return status == http.StatusOK || status == http.StatusBadRequest || status == 101
		}
	}
	return false
}

func TestRedTeam(t *testing.T) {
	for _, server := range []struct {
		name   string
		config string
		args   []string
	}{
		{"plain", "CONFIG", nil},
		{"renamed CONFIG", "RT_CONFIG", []string{"--rename-command", "CONFIG", "RT_CONFIG"}},
	} {
		t.Run(server.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t, append([]string{"--enable-debug-command", "local"}, server.args...)...)
			seedRedTeam(t, rs, server.config)
			dump := string(rs.Do(t, "FUNCTION", "DUMP").Str)
			g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens}})
			before := redTeamState(t, rs, server.config)
			for _, a := range redTeamAttacks(server.config, dump) {
				for _, s := range redTeamSurfaces() {
					status, body := s.send(t, g, a.token, a.args)
					if !refused(status, body) {
						t.Errorf("%s via %s (%s token): not refused: %d %s", a.name, s.name, a.token, status, body)
					}
					if a.leak != "" && strings.Contains(body, a.leak) {
						t.Errorf("%s via %s: the answer leaks %q: %s", a.name, s.name, a.leak, body)
					}
					if after := redTeamState(t, rs, server.config); after != before {
						t.Fatalf("%s via %s (%s token) changed Redis:\nbefore %s\nafter  %s", a.name, s.name, a.token, before, after)
					}
				}
			}
			// The same tokens keep their real powers: contained, not
			// banned.
			for _, c := range []struct {
				token string
				args  []string
				want  string
			}{
				{"write", []string{"EVAL", "return redis.call('SET',KEYS[1],'x')", "1", "rt:script"}, `"result":"OK"`},
				{"write", []string{"FCALL", "hello", "0"}, `"result":"hi"`},
				{"read", []string{"EVAL_RO", "return redis.call('GET','k')", "0"}, `"result":"v0"`},
				{"user42", []string{"EVAL", "return redis.call('SET',KEYS[1],'x')", "1", "user:42:s"}, `"result":"OK"`},
				{"user42", []string{"GET", "user:42:name"}, `"result":"ann"`},
				{"user42", []string{"PUBLISH", "user:42:inbox", "hi"}, `"result":0`},
			} {
				rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": c.args}, "Authorization: Bearer "+c.token)
				if rep.Status != 200 || !strings.Contains(string(rep.Body), c.want) {
					t.Errorf("%s token %v: got %d %s, want 200 with %s", c.token, c.args, rep.Status, rep.Body, c.want)
				}
			}
		})
	}
}
