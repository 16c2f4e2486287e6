package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// upstashWireCases are commands whose RESP2 replies differ from RESP3 in
// shape (maps, doubles, nested pairs, null arrays) or that Upstash
// clients read position by position. Each runs after setup on an emptied
// database.
var upstashWireCases = []struct {
	setup [][]string
	cmd   []string
}{
	{streams, []string{"XREAD", "COUNT", "3", "STREAMS", "s1", "0-0"}},
	{streams, []string{"XREAD", "COUNT", "1", "STREAMS", "s1", "0-0"}},
	{streams, []string{"XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0-0", "0-0"}},
	{streams, []string{"XREAD", "STREAMS", "s1", "9-9"}}, // null array
	{groups, []string{"XREADGROUP", "GROUP", "g", "c", "COUNT", "3", "STREAMS", "s1", ">"}},
	{groups, []string{"XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s1", "s2", ">", ">"}},
	{groups, []string{"XINFO", "STREAM", "s1"}},
	{streams, []string{"XRANGE", "s1", "-", "+"}},
	{geo, []string{"GEOSEARCHSTORE", "dst", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "STOREDIST"}},
	{append(geo, []string{"GEOSEARCHSTORE", "dst", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "STOREDIST"}), []string{"ZRANGE", "dst", "0", "-1", "WITHSCORES"}},
	{geo, []string{"ZRANGE", "geo", "0", "-1", "WITHSCORES"}},
	{geo, []string{"GEOPOS", "geo", "Palermo", "nowhere"}},
	{geo, []string{"GEODIST", "geo", "Palermo", "Catania", "km"}},
	{geo, []string{"GEOSEARCH", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"}},
	{zset, []string{"ZRANGE", "z", "0", "-1", "WITHSCORES"}},
	{zset, []string{"ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"}},
	{zset, []string{"ZREVRANGE", "z", "0", "1", "WITHSCORES"}},
	{zset, []string{"ZUNION", "1", "z", "WITHSCORES"}},
	{zset, []string{"ZSCORE", "z", "a"}},
	{zset, []string{"ZSCORE", "z", "big"}},
	{zset, []string{"ZSCORE", "z", "tiny"}},
	{zset, []string{"ZSCORE", "z", "nope"}},
	{zset, []string{"ZMSCORE", "z", "a", "nope", "inf"}},
	{zset, []string{"ZINCRBY", "z", "0.1", "a"}},
	{zset, []string{"ZPOPMIN", "z", "2"}},
	{zset, []string{"ZPOPMAX", "z"}},
	{hash, []string{"HGETALL", "h"}},
	{hash, []string{"HINCRBYFLOAT", "h", "f", "0.1"}},
	{hash, []string{"HMGET", "h", "f", "nope"}},
	{hash, []string{"HEXISTS", "h", "f"}},
	{[][]string{{"SET", "n", "10.5"}}, []string{"INCRBYFLOAT", "n", "0.1"}},
	{[][]string{{"SET", "n", "1e20"}}, []string{"INCRBYFLOAT", "n", "1"}},
	{[][]string{{"SET", "n", "3"}}, []string{"INCRBYFLOAT", "n", "-3.5e-7"}},
	{nil, []string{"GET", "missing"}},
	{nil, []string{"LPOP", "missing", "2"}}, // null array
	{[][]string{{"RPUSH", "l", "a", "b", "c"}}, []string{"LPOP", "l", "2"}},
	{[][]string{{"SADD", "s", "a"}}, []string{"SMISMEMBER", "s", "a", "b"}},
	{[][]string{{"SET", "k1", "ohmytext"}, {"SET", "k2", "mynewtext"}}, []string{"LCS", "k1", "k2", "IDX", "WITHMATCHLEN"}},
	{nil, []string{"EVAL", "return {1, 2.5, 'x', false, {err='boom'}}", "0"}},
	{nil, []string{"EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", "1", "h"}},
	{nil, []string{"CONFIG", "GET", "maxmemory-policy"}},
	{nil, []string{"SET", "k", "v", "NX"}},
}

var (
	streams = [][]string{
		{"XADD", "s1", "1-1", "f", "v1"}, {"XADD", "s1", "2-1", "f", "v2", "g", "w"}, {"XADD", "s1", "3-1", "f", "v3"}, {"XADD", "s1", "4-1", "f", "v4"},
		{"XADD", "s2", "1-2", "x", "y"}, {"XADD", "s2", "2-2", "x", "z"},
	}
	groups = append(append([][]string(nil), streams...), []string{"XGROUP", "CREATE", "s1", "g", "0"}, []string{"XGROUP", "CREATE", "s2", "g", "0"})
	geo    = [][]string{{"GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}}
	zset   = [][]string{{"ZADD", "z", "1.5", "a", "2", "b", "1e20", "big", "0.000001", "tiny", "inf", "inf", "-3", "neg"}}
	hash   = [][]string{{"HSET", "h", "f", "1.5", "g", "two"}}
)

// TestUpstashRepliesMatchRESP2 runs every case on a raw RESP2 connection
// and on the Upstash surface (after the same setup on an emptied
// database), and wants the Upstash RESP2 format byte for byte what Redis
// sent, and the JSON format that reply rendered as Upstash does.
func TestUpstashRepliesMatchRESP2(t *testing.T) {
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	conn := redistest.Dial(t, rs)
	reset := func(setup [][]string) {
		t.Helper()
		for _, c := range append([][]string{{"FLUSHALL"}}, setup...) {
			if v := redistest.Exchange(t, conn, c...); v.IsError() {
				t.Fatalf("setup %v: %s", c, v.Str)
			}
		}
	}
	for _, tc := range upstashWireCases {
		name := strings.Join(tc.cmd, " ")
		reset(tc.setup)
		want, wantValue := rawExchange(t, conn, tc.cmd)
		if wantValue.IsError() {
			t.Fatalf("%s: Redis refused the case: %s", name, wantValue.Str)
		}
		body, err := json.Marshal(tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		reset(tc.setup)
		rep := g.do(t, "POST", "/upstash/0", string(body), "Upstash-Response-Format: resp2")
		if rep.Status != 200 || !bytes.Equal(rep.Body, want) {
			t.Errorf("%s, RESP2 format:\n got %d %q\nwant 200 %q", name, rep.Status, rep.Body, want)
		}
		reset(tc.setup)
		rep = g.do(t, "POST", "/upstash/0", string(body))
		wantJSON, _ := json.Marshal(map[string]any{"result": upstashJSONOf(wantValue)})
		if rep.Status != 200 || !jsonEqual(rep.Body, wantJSON) {
			t.Errorf("%s, JSON format:\n got %d %s\nwant 200 %s", name, rep.Status, rep.Body, wantJSON)
		}
		reset(tc.setup)
		rep = g.do(t, "POST", "/upstash/0/pipeline", "["+string(body)+"]")
		wantJSON, _ = json.Marshal([]any{map[string]any{"result": upstashJSONOf(wantValue)}})
		if rep.Status != 200 || !jsonEqual(rep.Body, wantJSON) {
			t.Errorf("%s, pipeline:\n got %d %s\nwant 200 %s", name, rep.Status, rep.Body, wantJSON)
		}
	}
}

// rawExchange sends cmd on a RESP2 connection and returns the reply's
// exact bytes and its value.
func rawExchange(t *testing.T, c net.Conn, cmd []string) ([]byte, resp.Value) {
	t.Helper()
	w := resp.NewWriter(c)
	if err := w.WriteCommand(cmd...); err != nil || w.Flush() != nil {
		t.Fatalf("write %v: %v", cmd, err)
	}
	var raw bytes.Buffer
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	v, err := resp.NewReader(io.TeeReader(c, &raw), resp.Limits{}).Read()
	if err != nil {
		t.Fatalf("read reply to %v: %v", cmd, err)
	}
	return raw.Bytes(), v
}

// upstashJSONOf renders a RESP2 reply as the Upstash REST API does:
// integers as numbers, nulls as null, strings (errors inside arrays
// included) as strings.
func upstashJSONOf(v resp.Value) any {
	switch v.Kind {
	case resp.Integer:
		return json.Number(strconv.FormatInt(v.Int, 10))
	case resp.Null:
		return nil
	case resp.Array:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = upstashJSONOf(e)
		}
		return out
	}
	return string(v.Str)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
