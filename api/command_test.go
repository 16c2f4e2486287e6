package api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
)

func TestCommandShaping(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	z := t.Name() + ":z"
	cmd := func(args ...string) map[string]any { return map[string]any{"command": args} }
	runSteps(t, g, []step{
		{method: "POST", path: "/db/0/command", body: cmd("ZADD", z, "1", "a", "2.5", "b"), status: 200, want: `{"result":2}`},
		{method: "POST", path: "/db/0/command", body: cmd("ZRANGE", z, "0", "-1", "WITHSCORES"), status: 200, want: `{"result":[{"member":"a","score":1},{"member":"b","score":2.5}]}`},
		{method: "POST", path: "/db/0/command", body: cmd("zrange", z, "0", "-1", "withscores"), status: 200, want: `{"result":[{"member":"a","score":1},{"member":"b","score":2.5}]}`},
		{method: "POST", path: "/db/0/command?raw=true", body: cmd("ZRANGE", z, "0", "-1", "WITHSCORES"), status: 200, want: `{"result":[["a",1],["b",2.5]]}`},
		{method: "POST", path: "/db/0/command", body: cmd("SET", t.Name()+":k", "v"), status: 200, want: `{"result":true}`},
		{method: "POST", path: "/db/0/command", body: cmd("GET", t.Name()+":absent"), status: 200, want: `{"result":null}`},
		{method: "POST", path: "/db/0/command", body: cmd("MULTI"), status: 403, code: "FORBIDDEN_COMMAND"},
		{method: "POST", path: "/db/0/command", body: cmd("SUBSCRIBE", "c"), status: 403, code: "FORBIDDEN_COMMAND"},
		{method: "POST", path: "/db/0/command", body: cmd("NOSUCHCMD"), status: 400, code: "ERR"},
	})
	// base64 arguments and replies
	bk := base64.StdEncoding.EncodeToString([]byte(t.Name() + ":b\x00"))
	bv := base64.StdEncoding.EncodeToString([]byte{0xff, 0x00})
	runSteps(t, g, []step{
		{method: "POST", path: "/db/0/command?encoding=base64", body: cmd("SET", bk, bv), status: 200, want: `{"result":true}`},
		{method: "POST", path: "/db/0/command?encoding=base64", body: cmd("GET", bk), status: 200, want: `{"result":"` + bv + `"}`},
		{method: "POST", path: "/db/0/command?encoding=base64", body: cmd("GET", "!!notbase64"), status: 400, code: "VALIDATION"},
	})
}

func TestPipelineAndTransaction(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{MaxPipeline: 3}})
	a := t.Name() + ":a"
	runSteps(t, g, []step{
		{method: "POST", path: "/db/0/pipeline", body: map[string]any{"commands": [][]string{{"SET", a, "1"}, {"INCR", a}, {"LPUSH", a, "x"}}}, status: 200,
			want: `{"results":[{"result":true},{"result":2},{"error":"WRONGTYPE Operation against a key holding the wrong kind of value","code":"WRONGTYPE"}]}`},
		{method: "POST", path: "/db/0/pipeline", body: map[string]any{"commands": [][]string{{"PING"}, {"PING"}, {"PING"}, {"PING"}}}, status: 400, code: "VALIDATION"},
		{method: "POST", path: "/db/0/pipeline", body: map[string]any{"commands": [][]string{{"SET", t.Name() + ":never", "1"}, {"SELECT", "2"}}}, status: 403, code: "FORBIDDEN_COMMAND"},
		{method: "POST", path: "/db/0/transaction", body: map[string]any{"watch": []string{a}, "commands": [][]string{{"SET", a, "5"}, {"INCR", a}}}, status: 200, want: `{"results":[{"result":true},{"result":6}]}`},
		{method: "POST", path: "/db/0/transaction", body: map[string]any{"commands": [][]string{{"SET", t.Name() + ":never", "1"}, {"SET", "x"}}}, status: 400, code: "EXECABORT"},
	})
	if v := shared.Do(t, "EXISTS", t.Name()+":never"); v.Int != 0 {
		t.Fatal("a refused pipeline or a discarded transaction wrote a key")
	}
	rep := g.do(t, "POST", "/db/0/transaction", map[string]any{"commands": [][]string{{"SET", "k", "1"}, {"SET", "x"}}})
	if p := rep.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "commands[1]" {
		t.Fatalf("EXECABORT errors: got %+v, want one for commands[1]", p.Errors)
	}
}

func TestTxAbortedMapsTo409(t *testing.T) {
	if ae := classify(client.ErrTxAborted); ae.status != 409 || ae.code != CodeTxAborted {
		t.Fatalf("classify(ErrTxAborted) = %d %s, want 409 TX_ABORTED", ae.status, ae.code)
	}
}

func TestPerDatabaseCallbacks(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{callbacks: map[string]map[string]string{"1": {"HGETALL": "pairs"}}})
	h := url.PathEscape(t.Name() + ":h")
	for _, db := range []string{"0", "1"} {
		g.do(t, "PUT", "/db/"+db+"/hashes/"+h, map[string]any{"fields": map[string]string{"f": "v"}})
	}
	assertJSON(t, g.do(t, "GET", "/db/0/hashes/"+h, nil).Body, `{"fields":{"f":"v"}}`, "db 0 default")
	assertJSON(t, g.do(t, "GET", "/db/1/hashes/"+h, nil).Body, `{"fields":[["f","v"]]}`, "db 1 pairs")
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	rep := g.do(t, "GET", "/db/0/info?section=server", nil)
	if rep.Status != 200 || !strings.Contains(string(rep.Body), `"redis_version":"`) || !strings.Contains(string(rep.Body), `"tcp_port":`) {
		t.Fatalf("info: %d %s", rep.Status, rep.Body)
	}
	if rep := g.do(t, "GET", "/db/5/dbsize", nil); rep.Status != 200 || !strings.HasPrefix(string(rep.Body), `{"keys":`) {
		t.Fatalf("dbsize: %d %s", rep.Status, rep.Body)
	}
	rep = g.do(t, "GET", "/databases", nil)
	if rep.Status != 200 || strings.Count(string(rep.Body), `"healthy":true`) != 16 {
		t.Fatalf("databases: %d %s", rep.Status, rep.Body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if rep := g.do(t, "GET", p, nil); rep.Status != 200 {
			t.Fatalf("%s: %d", p, rep.Status)
		}
	}
}

// TestCommandSubcommandReplies pins a bug: COMMAND COUNT, LIST and GETKEYS
// were shaped by the bare COMMAND callback (COMMAND INFO's), so COUNT
// answered 503 "Redis is unreachable" and LIST/GETKEYS a list of nulls.
func TestCommandSubcommandReplies(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	count := shared.Do(t, "COMMAND", "COUNT").Int
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, result any)
	}{
		{"count", []string{"COMMAND", "COUNT"}, func(t *testing.T, result any) {
			if n, ok := result.(json.Number); !ok || n.String() != strconv.FormatInt(count, 10) {
				t.Fatalf("got %v, want %d", result, count)
			}
		}},
		{"list", []string{"COMMAND", "LIST"}, func(t *testing.T, result any) {
			names, ok := result.([]any)
			if !ok || int64(len(names)) < count || !slices.Contains(names, any("get")) {
				t.Fatalf("got %d names (%T), want at least %d (subcommands are listed too) including get", len(names), result, count)
			}
		}},
		{"getkeys", []string{"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}, func(t *testing.T, result any) {
			if !reflect.DeepEqual(result, []any{"a", "b"}) {
				t.Fatalf("got %v, want [a b]", result)
			}
		}},
		{"info still shaped", []string{"COMMAND", "INFO", "GET"}, func(t *testing.T, result any) {
			infos, ok := result.([]any)
			if !ok || len(infos) != 1 || infos[0].(map[string]any)["name"] != "get" {
				t.Fatalf("got %v, want one entry named get", result)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": tc.args})
			if rep.Status != 200 {
				t.Fatalf("%v: got %d %s, want 200", tc.args, rep.Status, rep.Body)
			}
			tc.check(t, rep.JSON(t).(map[string]any)["result"])
		})
	}
}
