package callbacks_test

import (
	"fmt"
	"math"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// conn is a raw connection speaking one protocol version.
type conn struct {
	c net.Conn
}

func open(tb testing.TB, s *redistest.Server, proto string) *conn {
	tb.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if v := redistest.Exchange(tb, c, "HELLO", proto); v.IsError() {
		tb.Fatalf("HELLO %s: %v", proto, v)
	}
	return &conn{c: c}
}

func (c *conn) do(tb testing.TB, args ...string) resp.Value {
	tb.Helper()
	return redistest.Exchange(tb, c.c, args...)
}

// parityCase runs setup, then cmd under RESP2 and RESP3.
type parityCase struct {
	setup [][]string
	cmd   []string
	// want, when set, is the expected shaped value (fmt %v form).
	want string
}

// cases covers every entry of the default table (see TestEveryCallbackCovered).
var cases = map[string]parityCase{
	"SET":                   {cmd: []string{"SET", "s", "v"}, want: "true"},
	"MSET":                  {cmd: []string{"MSET", "a", "1", "b", "2"}, want: "true"},
	"RENAME":                {setup: [][]string{{"SET", "r1", "x"}}, cmd: []string{"RENAME", "r1", "r2"}, want: "true"},
	"FLUSHDB":               {cmd: []string{"FLUSHDB"}, want: "true"},
	"LSET":                  {setup: [][]string{{"RPUSH", "l", "a"}}, cmd: []string{"LSET", "l", "0", "b"}, want: "true"},
	"LTRIM":                 {setup: [][]string{{"RPUSH", "l", "a"}}, cmd: []string{"LTRIM", "l", "0", "0"}, want: "true"},
	"HMSET":                 {cmd: []string{"HMSET", "h", "f", "v"}, want: "true"},
	"PSETEX":                {cmd: []string{"PSETEX", "p", "10000", "v"}, want: "true"},
	"SETEX":                 {cmd: []string{"SETEX", "p", "10", "v"}, want: "true"},
	"SWAPDB":                {cmd: []string{"SWAPDB", "8", "9"}, want: "true"},
	"CLIENT SETNAME":        {cmd: []string{"CLIENT", "SETNAME", "x"}, want: "true"},
	"CONFIG SET":            {cmd: []string{"CONFIG", "SET", "slowlog-max-len", "128"}, want: "true"},
	"CONFIG RESETSTAT":      {cmd: []string{"CONFIG", "RESETSTAT"}, want: "true"},
	"SCRIPT FLUSH":          {cmd: []string{"SCRIPT", "FLUSH"}, want: "true"},
	"FUNCTION FLUSH":        {cmd: []string{"FUNCTION", "FLUSH"}, want: "true"},
	"XGROUP SETID":          {setup: [][]string{{"XGROUP", "CREATE", "xs", "g", "$", "MKSTREAM"}}, cmd: []string{"XGROUP", "SETID", "xs", "g", "0"}, want: "true"},
	"ACL SETUSER":           {cmd: []string{"ACL", "SETUSER", "bob", "off"}, want: "true"},
	"ACL LOG RESET":         {cmd: []string{"ACL", "LOG", "RESET"}, want: "true"},
	"PFMERGE":               {cmd: []string{"PFMERGE", "hll", "hll2"}, want: "true"},
	"SLOWLOG RESET":         {cmd: []string{"SLOWLOG", "RESET"}, want: "true"},
	"LATENCY RESET":         {cmd: []string{"LATENCY", "RESET"}},
	"DEBUG SLEEP":           {cmd: []string{"DEBUG", "SLEEP", "0"}, want: "true"},
	"EXPIRE":                {setup: [][]string{{"SET", "e", "v"}}, cmd: []string{"EXPIRE", "e", "100"}, want: "true"},
	"PEXPIRE":               {cmd: []string{"PEXPIRE", "absent", "100"}, want: "false"},
	"EXPIREAT":              {cmd: []string{"EXPIREAT", "absent", "100"}, want: "false"},
	"PEXPIREAT":             {cmd: []string{"PEXPIREAT", "absent", "100"}, want: "false"},
	"PERSIST":               {cmd: []string{"PERSIST", "absent"}, want: "false"},
	"SETNX":                 {cmd: []string{"SETNX", "nx", "v"}, want: "true"},
	"HSETNX":                {cmd: []string{"HSETNX", "h", "f", "v"}, want: "true"},
	"HEXISTS":               {setup: [][]string{{"HSET", "h", "f", "v"}}, cmd: []string{"HEXISTS", "h", "f"}, want: "true"},
	"SISMEMBER":             {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SISMEMBER", "st", "m"}, want: "true"},
	"SMOVE":                 {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SMOVE", "st", "st2", "m"}, want: "true"},
	"MOVE":                  {setup: [][]string{{"SET", "mv", "v"}}, cmd: []string{"MOVE", "mv", "9"}, want: "true"},
	"RENAMENX":              {setup: [][]string{{"SET", "rn", "v"}}, cmd: []string{"RENAMENX", "rn", "rn2"}, want: "true"},
	"MSETNX":                {cmd: []string{"MSETNX", "mx1", "1"}, want: "true"},
	"COPY":                  {setup: [][]string{{"SET", "cp", "v"}}, cmd: []string{"COPY", "cp", "cp2"}, want: "true"},
	"PFADD":                 {cmd: []string{"PFADD", "hll", "a"}, want: "true"},
	"XGROUP CREATECONSUMER": {setup: [][]string{{"XGROUP", "CREATE", "xs", "g", "$", "MKSTREAM"}}, cmd: []string{"XGROUP", "CREATECONSUMER", "xs", "g", "c"}, want: "true"},
	"SMISMEMBER":            {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SMISMEMBER", "st", "m", "n"}, want: "[true false]"},
	"SCRIPT EXISTS":         {cmd: []string{"SCRIPT", "EXISTS", "0000000000000000000000000000000000000000"}, want: "[false]"},
	"INCRBYFLOAT":           {cmd: []string{"INCRBYFLOAT", "f", "1.5"}, want: "1.5"},
	"HINCRBYFLOAT":          {cmd: []string{"HINCRBYFLOAT", "hf", "f", "2.5"}, want: "2.5"},
	"ZSCORE":                {setup: [][]string{{"ZADD", "z", "1.5", "a"}}, cmd: []string{"ZSCORE", "z", "a"}, want: "1.5"},
	"ZINCRBY":               {cmd: []string{"ZINCRBY", "z", "2", "a"}, want: "2"},
	"GEODIST":               {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}}, cmd: []string{"GEODIST", "g", "Palermo", "Catania", "km"}, want: "166.2742"},
	"ZMSCORE":               {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZMSCORE", "z", "a", "b"}, want: "[1 <nil>]"},
	"ZADD":                  {cmd: []string{"ZADD", "z", "INCR", "3", "a"}, want: "3"},
	"HGETALL":               {setup: [][]string{{"HSET", "h", "f", "v", "g", "w"}}, cmd: []string{"HGETALL", "h"}, want: "[{f v} {g w}]"},
	"CONFIG GET":            {cmd: []string{"CONFIG", "GET", "maxmemory-policy"}, want: "[{maxmemory-policy noeviction}]"},
	"MEMORY STATS":          {cmd: []string{"MEMORY", "STATS"}},
	"ACL GETUSER":           {cmd: []string{"ACL", "GETUSER", "default"}},
	"LCS":                   {setup: [][]string{{"MSET", "l1", "ohmytext", "l2", "mynewtext"}}, cmd: []string{"LCS", "l1", "l2", "IDX"}},
	"FUNCTION STATS":        {cmd: []string{"FUNCTION", "STATS"}},
	"HELLO":                 {cmd: []string{"HELLO"}},
	"HRANDFIELD":            {setup: [][]string{{"HSET", "h1", "f", "v"}}, cmd: []string{"HRANDFIELD", "h1", "1", "WITHVALUES"}, want: "[{f v}]"},
	"ACL LOG":               {cmd: []string{"ACL", "LOG"}, want: "[]"},
	"CLIENT TRACKINGINFO":   {cmd: []string{"CLIENT", "TRACKINGINFO"}},
	"XINFO GROUPS":          {setup: [][]string{{"XGROUP", "CREATE", "xs", "g", "$", "MKSTREAM"}}, cmd: []string{"XINFO", "GROUPS", "xs"}},
	"XINFO CONSUMERS":       {setup: [][]string{{"XGROUP", "CREATE", "xs", "g", "$", "MKSTREAM"}, {"XGROUP", "CREATECONSUMER", "xs", "g", "c"}}, cmd: []string{"XINFO", "CONSUMERS", "xs", "g"}},
	"FUNCTION LIST":         {cmd: []string{"FUNCTION", "LIST"}, want: "[]"},
	"XINFO STREAM":          {setup: [][]string{{"XADD", "xi", "1-1", "a", "b"}}, cmd: []string{"XINFO", "STREAM", "xi"}},
	"INFO":                  {cmd: []string{"INFO", "keyspace"}},
	"CLIENT LIST":           {cmd: []string{"CLIENT", "LIST", "TYPE", "pubsub"}, want: "[]"},
	"CLIENT INFO":           {cmd: []string{"CLIENT", "INFO"}},
	"DEBUG OBJECT":          {setup: [][]string{{"SET", "do", "v"}}, cmd: []string{"DEBUG", "OBJECT", "do"}},
	"TIME":                  {cmd: []string{"TIME"}},
	"ZRANGE":                {setup: [][]string{{"ZADD", "z", "1", "a", "2", "b"}}, cmd: []string{"ZRANGE", "z", "0", "-1", "WITHSCORES"}, want: "[[{member a} {score 1}] [{member b} {score 2}]]"},
	"ZREVRANGE":             {setup: [][]string{{"ZADD", "z", "1", "a", "2", "b"}}, cmd: []string{"ZREVRANGE", "z", "0", "-1", "WITHSCORES"}, want: "[[{member b} {score 2}] [{member a} {score 1}]]"},
	"ZRANGEBYSCORE":         {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"}, want: "[[{member a} {score 1}]]"},
	"ZREVRANGEBYSCORE":      {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZREVRANGEBYSCORE", "z", "+inf", "-inf"}, want: "[a]"},
	"ZRANDMEMBER":           {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZRANDMEMBER", "z", "1", "WITHSCORES"}, want: "[[{member a} {score 1}]]"},
	"ZDIFF":                 {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZDIFF", "1", "z", "WITHSCORES"}, want: "[[{member a} {score 1}]]"},
	"ZINTER":                {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZINTER", "1", "z", "WITHSCORES"}, want: "[[{member a} {score 1}]]"},
	"ZUNION":                {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZUNION", "1", "z", "WITHSCORES"}, want: "[[{member a} {score 1}]]"},
	"ZPOPMIN":               {setup: [][]string{{"ZADD", "z", "1", "a", "2", "b"}}, cmd: []string{"ZPOPMIN", "z"}, want: "[[{member a} {score 1}]]"},
	"ZPOPMAX":               {setup: [][]string{{"ZADD", "z", "1", "a", "2", "b"}}, cmd: []string{"ZPOPMAX", "z", "2"}, want: "[[{member b} {score 2}] [{member a} {score 1}]]"},
	"BZPOPMIN":              {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"BZPOPMIN", "z", "1"}, want: "[{key z} {member a} {score 1}]"},
	"BZPOPMAX":              {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"BZPOPMAX", "z", "1"}, want: "[{key z} {member a} {score 1}]"},
	"ZMPOP":                 {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZMPOP", "1", "z", "MIN"}, want: "[{key z} {members [[{member a} {score 1}]]}]"},
	"BZMPOP":                {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"BZMPOP", "1", "1", "z", "MIN"}, want: "[{key z} {members [[{member a} {score 1}]]}]"},
	"ZRANK":                 {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZRANK", "z", "a"}, want: "0"},
	"ZREVRANK":              {setup: [][]string{{"ZADD", "z", "1", "a"}}, cmd: []string{"ZREVRANK", "z", "a"}, want: "0"},
	"XRANGE":                {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}}, cmd: []string{"XRANGE", "x", "-", "+"}, want: "[[{id 1-1} {fields [{f v}]}]]"},
	"XREVRANGE":             {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}}, cmd: []string{"XREVRANGE", "x", "+", "-"}, want: "[[{id 1-1} {fields [{f v}]}]]"},
	"XCLAIM":                {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}, {"XGROUP", "CREATE", "x", "g", "0"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}}, cmd: []string{"XCLAIM", "x", "g", "c2", "0", "1-1"}, want: "[[{id 1-1} {fields [{f v}]}]]"},
	"XREAD":                 {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}}, cmd: []string{"XREAD", "STREAMS", "x", "0"}, want: "[[{stream x} {entries [[{id 1-1} {fields [{f v}]}]]}]]"},
	"XREADGROUP":            {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}, {"XGROUP", "CREATE", "x", "g", "0"}}, cmd: []string{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}, want: "[[{stream x} {entries [[{id 1-1} {fields [{f v}]}]]}]]"},
	"XAUTOCLAIM":            {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}, {"XGROUP", "CREATE", "x", "g", "0"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}}, cmd: []string{"XAUTOCLAIM", "x", "g", "c2", "0", "0"}, want: "[{next 0-0} {entries [[{id 1-1} {fields [{f v}]}]]} {deleted []}]"},
	"XPENDING":              {setup: [][]string{{"XADD", "x", "1-1", "f", "v"}, {"XGROUP", "CREATE", "x", "g", "0"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}}, cmd: []string{"XPENDING", "x", "g"}, want: "[{count 1} {min 1-1} {max 1-1} {consumers [[{name c} {pending 1}]]}]"},
	"SCAN":                  {setup: [][]string{{"SET", "only", "1"}}, cmd: []string{"SCAN", "0", "COUNT", "100"}, want: "[{cursor 0} {keys [only]}]"},
	"SSCAN":                 {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SSCAN", "st", "0"}, want: "[{cursor 0} {members [m]}]"},
	"HSCAN":                 {setup: [][]string{{"HSET", "h", "f", "v"}}, cmd: []string{"HSCAN", "h", "0"}, want: "[{cursor 0} {fields [{f v}]}]"},
	"ZSCAN":                 {setup: [][]string{{"ZADD", "z", "1.5", "a"}}, cmd: []string{"ZSCAN", "z", "0"}, want: "[{cursor 0} {members [[{member a} {score 1.5}]]}]"},
	"GEOPOS":                {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEOPOS", "g", "Palermo", "Nowhere"}},
	"GEOSEARCH":             {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEOSEARCH", "g", "FROMLONLAT", "13", "38", "BYRADIUS", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"}},
	"GEORADIUS":             {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEORADIUS", "g", "13", "38", "200", "km", "WITHDIST"}},
	"GEORADIUSBYMEMBER":     {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEORADIUSBYMEMBER", "g", "Palermo", "200", "km", "WITHCOORD"}},
	"GEORADIUS_RO":          {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEORADIUS_RO", "g", "13", "38", "200", "km", "WITHHASH"}},
	"GEORADIUSBYMEMBER_RO":  {setup: [][]string{{"GEOADD", "g", "13.361389", "38.115556", "Palermo"}}, cmd: []string{"GEORADIUSBYMEMBER_RO", "g", "Palermo", "200", "km"}, want: "[Palermo]"},
	"SLOWLOG GET":           {cmd: []string{"SLOWLOG", "GET", "0"}, want: "[]"},
	"COMMAND INFO":          {cmd: []string{"COMMAND", "INFO", "get"}},
	"SMEMBERS":              {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SMEMBERS", "st"}, want: "[m]"},
	"SINTER":                {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SINTER", "st"}, want: "[m]"},
	"SUNION":                {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SUNION", "st"}, want: "[m]"},
	"SDIFF":                 {setup: [][]string{{"SADD", "st", "m"}}, cmd: []string{"SDIFF", "st"}, want: "[m]"},
	"HKEYS":                 {setup: [][]string{{"HSET", "h", "f", "v"}}, cmd: []string{"HKEYS", "h"}, want: "[f]"},
	"HVALS":                 {setup: [][]string{{"HSET", "h", "f", "v"}}, cmd: []string{"HVALS", "h"}, want: "[v]"},
	"LRANGE":                {setup: [][]string{{"RPUSH", "l", "a"}}, cmd: []string{"LRANGE", "l", "0", "-1"}, want: "[a]"},
	"KEYS":                  {setup: [][]string{{"SET", "kk", "v"}}, cmd: []string{"KEYS", "kk"}, want: "[kk]"},
	"MGET":                  {setup: [][]string{{"SET", "mg", "v"}}, cmd: []string{"MGET", "mg", "absent"}, want: "[v <nil>]"},
}

// notRunnable lists table entries a disposable test server cannot run,
// with the reason; their callbacks are covered by the shared helpers.
var notRunnable = map[string]string{
	"FLUSHALL":         "same callback as FLUSHDB",
	"RESTORE":          "needs a DUMP payload; same callback as SET",
	"MIGRATE":          "needs a second server",
	"CLIENT PAUSE":     "would pause the shared test server",
	"CLIENT UNPAUSE":   "paired with CLIENT PAUSE",
	"CONFIG REWRITE":   "the test server has no config file",
	"SCRIPT KILL":      "needs a running script",
	"FUNCTION KILL":    "needs a running function",
	"FUNCTION DELETE":  "needs a loaded library",
	"FUNCTION RESTORE": "needs a FUNCTION DUMP payload",
	"ACL LOAD":         "the test server has no ACL file",
	"ACL SAVE":         "the test server has no ACL file",
	"READONLY":         "cluster only",
	"MODULE LOAD":      "no module available",
	"MODULE UNLOAD":    "no module available",
	"BGREWRITEAOF":     "background I/O in a test",
	"SAVE":             "writes an RDB file",
	"CLUSTER FAILOVER": "cluster only",
	"COMMAND":          "huge reply; COMMAND INFO covers the same callback",
}

// shapeNaNSafe renders a shaped value for comparison, stable for NaN.
func render(v any) string {
	s := fmt.Sprint(textify(v))
	return strings.ReplaceAll(s, fmt.Sprint(math.NaN()), "NaN")
}

// textify turns []byte into string throughout, for readable output.
func textify(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = textify(e)
		}
		return out
	case callbacks.Map:
		out := make(callbacks.Map, len(x))
		for i, e := range x {
			out[i] = callbacks.Entry{Key: textify(e.Key), Value: textify(e.Value)}
		}
		return out
	}
	return v
}

func TestEveryCallbackCovered(t *testing.T) {
	for _, name := range callbacks.Default().Commands() {
		if _, ok := cases[name]; ok {
			continue
		}
		if _, ok := notRunnable[name]; ok {
			continue
		}
		t.Errorf("default callback %s has no RESP2/RESP3 parity case", name)
	}
}

// TestRESP2RESP3Parity runs each command on a fresh server twice, once per
// protocol, and requires the same shaped value.
func TestRESP2RESP3Parity(t *testing.T) {
	s := redistest.Start(t)
	reg := callbacks.Default()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out, skel [2]string
			for i, proto := range []string{"2", "3"} {
				c := open(t, s, proto)
				c.do(t, "FLUSHALL")
				for _, st := range tc.setup {
					if v := c.do(t, st...); v.IsError() {
						t.Fatalf("setup %v: %v", st, v)
					}
				}
				v := c.do(t, tc.cmd...)
				if v.IsError() {
					t.Fatalf("RESP%s %v: %v", proto, tc.cmd, v)
				}
				opts := callbacks.Options{Args: tc.cmd, WithScores: hasWithScores(tc.cmd)}
				got, err := reg.Shape(v, opts)
				if err != nil {
					t.Fatalf("RESP%s %v: shape %v: %v", proto, tc.cmd, v, err)
				}
				out[i] = render(got)
				skel[i] = fmt.Sprint(skeleton(got))
			}
			if volatile[name] {
				out[0], out[1] = skel[0], skel[1]
			}
			if out[0] != out[1] {
				t.Fatalf("%v:\nRESP2 %s\nRESP3 %s", tc.cmd, out[0], out[1])
			}
			if tc.want != "" && !strings.HasPrefix(out[1], tc.want) {
				t.Fatalf("%v: got %s, want %s", tc.cmd, out[1], tc.want)
			}
		})
	}
}

// volatile replies differ between two runs by nature (time, connection
// IDs, memory figures), so only their skeleton (object keys and value
// kinds) is compared.
var volatile = map[string]bool{
	"TIME": true, "CLIENT INFO": true, "MEMORY STATS": true, "INFO": true, "HELLO": true, "DEBUG OBJECT": true,
	"XINFO CONSUMERS": true, "XINFO STREAM": true,
}

func hasWithScores(args []string) bool {
	for _, a := range args {
		if strings.EqualFold(a, "WITHSCORES") {
			return true
		}
	}
	return false
}

func TestShapeTypes(t *testing.T) {
	reg := callbacks.Default()
	info, err := reg.Shape(resp.StringValue("# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:12\r\nmem_fragmentation_ratio:1.5\r\n"), callbacks.Options{Args: []string{"INFO"}})
	if err != nil {
		t.Fatal(err)
	}
	want := callbacks.Map{
		{Key: "keyspace", Value: callbacks.Map{{Key: "db0", Value: callbacks.Map{{Key: "keys", Value: int64(1)}, {Key: "expires", Value: int64(0)}, {Key: "avg_ttl", Value: int64(0)}}}}},
		{Key: "server", Value: callbacks.Map{{Key: "redis_version", Value: "7.0.15"}, {Key: "uptime_in_seconds", Value: int64(12)}, {Key: "mem_fragmentation_ratio", Value: 1.5}}},
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("INFO: got %#v", info)
	}
	if _, err := reg.Shape(resp.ArrayValue(), callbacks.Options{Args: []string{"INCRBYFLOAT"}}); err == nil || !strings.Contains(err.Error(), "float") {
		t.Fatalf("INCRBYFLOAT of an array: got %v, want a clear error", err)
	}
}

func TestRegistryIsolationAndNames(t *testing.T) {
	a := callbacks.Default()
	b := a.Clone()
	b.Set("hgetall", nil)
	if a.Get("HGETALL") == nil || b.Get("HGETALL") != nil {
		t.Fatal("Clone shares entries with the original")
	}
	if own := callbacks.Own(nil); own.Get("HGETALL") == nil {
		t.Fatal("Own(nil) is not the default table")
	}
	if own := callbacks.Own(b); own == b || own.Get("HGETALL") != nil {
		t.Fatal("Own(b) is not a copy of b")
	}
	if a.Lookup([]string{"config", "get", "x"}) == nil {
		t.Fatal("Lookup of a lower-case subcommand failed")
	}
	for _, n := range callbacks.Names() {
		if _, ok := callbacks.ByName(n); !ok {
			t.Errorf("ByName(%q) failed", n)
		}
	}
	if _, ok := callbacks.ByName("nope"); ok {
		t.Fatal("ByName accepted an unknown name")
	}
}

func TestGenericEveryKind(t *testing.T) {
	v := resp.Value{Kind: resp.Array, Elems: []resp.Value{
		resp.SimpleValue("OK"), resp.StringValue("b"), resp.IntValue(3), {Kind: resp.Double, Float: 1.5},
		{Kind: resp.Boolean, Bool: true}, {Kind: resp.BigNumber, Str: []byte("123456789012345678901234567890")},
		resp.NullValue(), resp.ErrorValue("ERR x"), {Kind: resp.Map, Elems: []resp.Value{resp.StringValue("k"), resp.IntValue(1)}},
		{Kind: resp.Set, Elems: []resp.Value{resp.StringValue("s")}},
	}}
	got := render(callbacks.Generic(v))
	want := "[OK b 3 1.5 true 123456789012345678901234567890 <nil> ERR x [{k 1}] [s]]"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// skeleton keeps the keys of objects and the kinds of values.
func skeleton(v any) any {
	switch x := v.(type) {
	case callbacks.Map:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(textify(e.Key), "=", skeleton(e.Value))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = skeleton(e)
		}
		return out
	case int64, float64:
		return "number"
	case []byte, string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}
