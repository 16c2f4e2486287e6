package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
)

// TestStreamedReplies runs /command and /pipeline on a database whose
// pool has one connection, so that every request reuses it: replies
// encoded while they are read (client.DoVisit, PipeVisit) come out as the
// callbacks would shape them, an error reply or a reply refused midway
// (not UTF-8) leaves the connection in step for the next request.
func TestStreamedReplies(t *testing.T) {
	one := newTestDBWith(t, "one", shared.URL(0), func(cfg *client.Config) {
		cfg.Pool.PoolSize = 1
	})
	g := newGateway(t, gatewayOpts{extra: []*Database{one}})
	p := t.Name() + ":"
	shared.Do(t, "SET", p+"a", "α")
	shared.Do(t, "SET", p+"bin", "\xff\xfe")
	shared.Do(t, "HSET", p+"h", "f", "v")

	// A big MGET: every key but two is missing.
	keys := []string{"MGET"}
	want := make([]any, 0, 5000)
	for i := range 5000 {
		switch i {
		case 17, 4000:
			keys = append(keys, p+"a")
			want = append(want, "α")
		default:
			keys = append(keys, fmt.Sprintf("%smissing:%d", p, i))
			want = append(want, nil)
		}
	}
	r := g.do(t, "POST", "/db/one/command", map[string]any{"command": keys})
	if r.Status != 200 {
		t.Fatalf("MGET: %d %s", r.Status, r.Body)
	}
	var got struct{ Result []any }
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Result) != fmt.Sprint(want) {
		t.Fatalf("MGET result differs: %d elements, first %v", len(got.Result), got.Result[:20])
	}

	// A pipeline mixing streamed replies, callback-shaped ones and errors.
	r = g.do(t, "POST", "/db/one/pipeline", map[string]any{"commands": [][]string{
		{"MGET", p + "a", p + "nope"},
		{"HGETALL", p + "h"},
		{"INCR", p + "a"},
		{"LRANGE", p + "a", "0", "-1"},
		{"GET", p + "a"},
		{"EXPIRE", p + "nope", "10"},
	}})
	const wantPipe = `{"results":[{"result":["α",null]},{"result":{"f":"v"}},{"error":"ERR value is not an integer or out of range","code":"ERR"},{"error":"WRONGTYPE Operation against a key holding the wrong kind of value","code":"WRONGTYPE"},{"result":"α"},{"result":false}]}`
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != wantPipe {
		t.Fatalf("pipeline: %d\n got %s\nwant %s", r.Status, r.Body, wantPipe)
	}

	// The same through a transaction (EXEC's reply read element by element).
	r = g.do(t, "POST", "/db/one/transaction", map[string]any{"commands": [][]string{
		{"MGET", p + "a", p + "nope"},
		{"HGETALL", p + "h"},
		{"INCR", p + "a"},
		{"LRANGE", p + "a", "0", "-1"},
		{"GET", p + "a"},
		{"EXPIRE", p + "nope", "10"},
	}})
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != wantPipe {
		t.Fatalf("transaction: %d\n got %s\nwant %s", r.Status, r.Body, wantPipe)
	}

	// A reply that is not UTF-8 is refused (422) after being read whole:
	// the next commands on the same connection get their own replies.
	for _, body := range []map[string]any{
		{"command": []string{"MGET", p + "a", p + "bin", p + "a"}},
		{"commands": [][]string{{"GET", p + "bin"}, {"GET", p + "a"}}},
		{"commands": [][]string{{"GET", p + "bin"}, {"GET", p + "a"}}, "tx": true},
	} {
		path := "/db/one/command"
		if _, ok := body["commands"]; ok {
			path = "/db/one/pipeline"
		}
		if body["tx"] == true {
			delete(body, "tx")
			path = "/db/one/transaction"
		}
		r = g.do(t, "POST", path, body)
		if r.Status != 422 || r.Problem(t).Code != "NOT_UTF8" {
			t.Fatalf("%s %v: %d %s, want 422 NOT_UTF8", path, body, r.Status, r.Body)
		}
		for i := range 3 {
			r = g.do(t, "POST", "/db/one/command", map[string]any{"command": []string{"ECHO", fmt.Sprint("after-", i)}})
			if want := fmt.Sprintf(`{"result":"after-%d"}`, i); strings.TrimSpace(string(r.Body)) != want {
				t.Fatalf("after a refused reply: %s, want %s", r.Body, want)
			}
		}
	}
	r = g.do(t, "POST", "/db/one/command?encoding=base64", map[string]any{"command": []string{"GET", base64.StdEncoding.EncodeToString([]byte(p + "bin"))}})
	if strings.TrimSpace(string(r.Body)) != `{"result":"//4="}` {
		t.Fatalf("base64 GET of binary value: %d %s", r.Status, r.Body)
	}
	if st := one.Client.Stats(); st.Misses != 1 {
		t.Fatalf("pool stats %+v: want one connection dialled, used throughout", st)
	}
}
