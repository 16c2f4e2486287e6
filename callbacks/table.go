package callbacks

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Default returns a fresh copy of the default callback table. See the
// package documentation for what each entry returns.
func Default() *Registry {
	r := NewRegistry()
	m := map[string]Func{}
	set := func(fn Func, cmds ...string) {
		for _, c := range cmds {
			m[c] = fn
		}
	}
	set(okTrue, "MSET", "RENAME", "FLUSHDB", "FLUSHALL", "LSET", "LTRIM", "HMSET", "PSETEX", "SETEX",
		"RESTORE", "SWAPDB", "MIGRATE", "CLIENT SETNAME", "CLIENT PAUSE", "CLIENT UNPAUSE", "CONFIG SET",
		"CONFIG RESETSTAT", "CONFIG REWRITE", "SCRIPT FLUSH", "SCRIPT KILL", "FUNCTION FLUSH", "FUNCTION KILL",
		"FUNCTION DELETE", "FUNCTION RESTORE", "XGROUP SETID", "ACL SETUSER", "ACL LOAD", "ACL SAVE",
		"PFMERGE", "READONLY", "MODULE LOAD", "MODULE UNLOAD", "BGREWRITEAOF", "SAVE",
		"SLOWLOG RESET", "LATENCY RESET", "CLUSTER FAILOVER", "DEBUG SLEEP")
	set(setCmd, "SET")
	set(intBool, "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "SETNX", "HSETNX", "HEXISTS",
		"SISMEMBER", "SMOVE", "MOVE", "RENAMENX", "MSETNX", "COPY", "PFADD", "XGROUP CREATECONSUMER")
	set(boolList, "SMISMEMBER", "SCRIPT EXISTS")
	set(float, "INCRBYFLOAT", "HINCRBYFLOAT", "ZSCORE", "ZINCRBY", "GEODIST")
	set(floatList, "ZMSCORE")
	set(zadd, "ZADD")
	set(object, "HGETALL", "CONFIG GET", "ACL GETUSER", "LCS", "HELLO")
	set(deepPairs, "MEMORY STATS", "FUNCTION STATS")
	set(hrandfield, "HRANDFIELD")
	set(objectList, "ACL LOG", "CLIENT TRACKINGINFO", "XINFO GROUPS", "XINFO CONSUMERS", "FUNCTION LIST")
	set(xinfoStream, "XINFO STREAM")
	set(info, "INFO")
	set(clientList, "CLIENT LIST")
	set(clientInfo, "CLIENT INFO")
	set(debugObject, "DEBUG OBJECT")
	set(timeCmd, "TIME")
	set(zscores, "ZRANGE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANDMEMBER", "ZDIFF",
		"ZINTER", "ZUNION")
	set(zpop, "ZPOPMIN", "ZPOPMAX")
	set(bzpop, "BZPOPMIN", "BZPOPMAX")
	set(zmpop, "ZMPOP", "BZMPOP")
	set(zrank, "ZRANK", "ZREVRANK")
	set(streamEntries, "XRANGE", "XREVRANGE")
	set(xclaim, "XCLAIM")
	set(xread, "XREAD", "XREADGROUP")
	set(xautoclaim, "XAUTOCLAIM")
	set(xpending, "XPENDING")
	set(scanFunc("keys", false), "SCAN")
	set(scanFunc("members", false), "SSCAN")
	set(hscan, "HSCAN")
	set(zscan, "ZSCAN")
	set(geopos, "GEOPOS")
	set(geosearch, "GEOSEARCH", "GEORADIUS", "GEORADIUSBYMEMBER", "GEORADIUS_RO", "GEORADIUSBYMEMBER_RO")
	set(slowlog, "SLOWLOG GET")
	set(commandInfo, "COMMAND INFO", "COMMAND")
	set(generic, "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "LRANGE", "KEYS", "MGET")
	r.m.Store(&m)
	return r
}

// named lists the callbacks operators may select by name in config.
var named = map[string]Func{
	"raw":     generic,
	"bool":    anyBool,
	"ok":      okTrue,
	"int":     integer,
	"float":   float,
	"object":  object,
	"pairs":   pairList,
	"info":    info,
	"scan":    scanFunc("keys", false),
	"zscores": func(v resp.Value, o Options) (any, error) { o.WithScores = true; return zscores(v, o) },
	"stream":  streamEntries,
	"string":  text,
}

// ByName returns the named callback ("raw", "bool", "ok", "int", "float",
// "object", "pairs", "info", "scan", "zscores", "stream", "string").
func ByName(name string) (Func, bool) {
	fn, ok := named[strings.ToLower(name)]
	return fn, ok
}

// Names lists the names [ByName] accepts, sorted.
func Names() []string {
	out := make([]string, 0, len(named))
	for n := range named {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func generic(v resp.Value, _ Options) (any, error) { return Generic(v), nil }

// okTrue: +OK → true, null (a conditional write that did not happen) →
// false, anything else generic.
func okTrue(v resp.Value, _ Options) (any, error) {
	switch {
	case v.Kind == resp.SimpleString && string(v.Str) == "OK":
		return true, nil
	case v.IsNull():
		return false, nil
	}
	return Generic(v), nil
}

// setCmd: SET → true when set, false when NX/XX prevented it; with GET the
// old value (or null).
func setCmd(v resp.Value, o Options) (any, error) {
	for _, a := range o.Args[min(1, len(o.Args)):] {
		if strings.EqualFold(a, "GET") {
			return Generic(v), nil
		}
	}
	return okTrue(v, o)
}

// intBool: 1/0 → true/false.
func intBool(v resp.Value, o Options) (any, error) { return anyBool(v, o) }

func anyBool(v resp.Value, _ Options) (any, error) {
	switch v.Kind {
	case resp.Integer:
		return v.Int != 0, nil
	case resp.Boolean:
		return v.Bool, nil
	case resp.SimpleString:
		return string(v.Str) == "OK", nil
	case resp.Null:
		return false, nil
	case resp.BulkString:
		return string(v.Str) == "1" || strings.EqualFold(string(v.Str), "true"), nil
	}
	return nil, shapeError("bool", v, "integer or boolean")
}

func boolList(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("bool list", v, "array")
	}
	out := make([]any, len(v.Elems))
	for i, e := range v.Elems {
		b, err := anyBool(e, o)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func integer(v resp.Value, _ Options) (any, error) {
	switch v.Kind {
	case resp.Integer:
		return v.Int, nil
	case resp.Null:
		return nil, nil
	case resp.BulkString, resp.SimpleString:
		n, err := strconv.ParseInt(string(v.Str), 10, 64)
		if err == nil {
			return n, nil
		}
	}
	return nil, shapeError("int", v, "integer")
}

func float(v resp.Value, _ Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if f, ok := toFloat(v); ok {
		return f, nil
	}
	return nil, shapeError("float", v, "double or numeric string")
}

func floatList(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("float list", v, "array")
	}
	out := make([]any, len(v.Elems))
	for i, e := range v.Elems {
		f, err := float(e, o)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// zadd: the count of added (or changed) members, or the new score with INCR.
func zadd(v resp.Value, o Options) (any, error) {
	for _, a := range o.Args[min(2, len(o.Args)):] {
		if strings.EqualFold(a, "INCR") {
			return float(v, o)
		}
	}
	return Generic(v), nil
}

// object: a RESP3 map or a RESP2 flat array → Map (values generic).
func object(v resp.Value, _ Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	ps, ok := pairs(v)
	if !ok {
		return nil, shapeError("object", v, "map or flat array of pairs")
	}
	out := make(Map, 0, len(ps)/2)
	for i := 0; i+1 < len(ps); i += 2 {
		out = append(out, Entry{Key: Generic(ps[i]), Value: Generic(ps[i+1])})
	}
	return out, nil
}

// pairList: a map or flat pairs → [[key, value]…], for clients that need
// binary-safe keys or duplicates.
func pairList(v resp.Value, _ Options) (any, error) {
	ps, ok := pairs(v)
	if !ok {
		return nil, shapeError("pairs", v, "map or flat array of pairs")
	}
	out := make([]any, 0, len(ps)/2)
	for i := 0; i+1 < len(ps); i += 2 {
		out = append(out, []any{Generic(ps[i]), Generic(ps[i+1])})
	}
	return out, nil
}

// hrandfield: with WITHVALUES an object, else the generic member list.
func hrandfield(v resp.Value, o Options) (any, error) {
	for _, a := range o.Args[min(2, len(o.Args)):] {
		if strings.EqualFold(a, "WITHVALUES") {
			return object(v, o)
		}
	}
	return Generic(v), nil
}

// objectList: an array of maps (or flat arrays) → []Map. A plain OK (ACL
// LOG RESET) is true.
func objectList(v resp.Value, o Options) (any, error) {
	if v.Kind == resp.SimpleString {
		return okTrue(v, o)
	}
	if !v.IsAggregate() {
		return nil, shapeError("object list", v, "array")
	}
	out := make([]any, len(v.Elems))
	for i, e := range v.Elems {
		obj, err := deepObject(e)
		if err != nil {
			return nil, err
		}
		out[i] = obj
	}
	return out, nil
}

// deepObject converts a map (or flat pairs whose keys are strings) into a
// Map, recursing into values that are themselves maps.
func deepObject(v resp.Value) (any, error) {
	ps, ok := pairs(v)
	if !ok {
		return Generic(v), nil
	}
	out := make(Map, 0, len(ps)/2)
	for i := 0; i+1 < len(ps); i += 2 {
		val := ps[i+1]
		var conv any
		if val.Kind == resp.Map {
			c, err := deepObject(val)
			if err != nil {
				return nil, err
			}
			conv = c
		} else {
			conv = Generic(val)
		}
		out = append(out, Entry{Key: Generic(ps[i]), Value: conv})
	}
	return out, nil
}

// deepPairs: a map whose nested values are maps too (MEMORY STATS,
// FUNCTION STATS). Under RESP2 every nested array with text keys in even
// positions is read as a map, which is what these replies contain.
func deepPairs(v resp.Value, _ Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("object", v, "map")
	}
	return deepConvert(v), nil
}

func deepConvert(v resp.Value) any {
	if v.Kind == resp.BulkString && bytes.ContainsAny(v.Str, ".e") {
		// RESP2 sends these replies' doubles as strings.
		if f, ok := toFloat(v); ok {
			return f
		}
	}
	if !v.IsAggregate() {
		return Generic(v)
	}
	if ps, ok := pairs(v); ok && (v.Kind == resp.Map || textKeys(ps)) && len(ps) > 0 {
		out := make(Map, 0, len(ps)/2)
		for i := 0; i+1 < len(ps); i += 2 {
			out = append(out, Entry{Key: Generic(ps[i]), Value: deepConvert(ps[i+1])})
		}
		return out
	}
	out := make([]any, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = deepConvert(e)
	}
	return out
}

// textKeys reports whether every even element is a string.
func textKeys(ps []resp.Value) bool {
	for i := 0; i < len(ps); i += 2 {
		if !ps[i].IsText() {
			return false
		}
	}
	return true
}

// xinfoStream: XINFO STREAM → object, with first-entry and last-entry as
// {id, fields} and (FULL) entries as a list of them.
func xinfoStream(v resp.Value, o Options) (any, error) {
	ps, ok := pairs(v)
	if !ok {
		return nil, shapeError("xinfo stream", v, "map")
	}
	out := make(Map, 0, len(ps)/2)
	for i := 0; i+1 < len(ps); i += 2 {
		key := string(ps[i].Str)
		var val any
		switch key {
		case "first-entry", "last-entry":
			if ps[i+1].IsNull() {
				val = nil
			} else {
				e, err := entry(ps[i+1])
				if err != nil {
					return nil, err
				}
				val = e
			}
		case "entries":
			es, err := streamEntries(ps[i+1], o)
			if err != nil {
				return nil, err
			}
			val = es
		case "groups":
			if ps[i+1].IsAggregate() && len(ps[i+1].Elems) > 0 && ps[i+1].Elems[0].IsAggregate() {
				g, err := objectList(ps[i+1], o)
				if err != nil {
					return nil, err
				}
				val = g
			} else {
				val = Generic(ps[i+1])
			}
		default:
			val = Generic(ps[i+1])
		}
		out = append(out, Entry{Key: key, Value: val})
	}
	return out, nil
}

// info parses INFO text into {section: {field: value}}: numbers become
// numbers, "k=v,k=v" values (db0:keys=1,expires=0) nested objects.
// Sections are keyed in lower case ("server", "keyspace"); fields before
// any section header go under "default".
func info(v resp.Value, _ Options) (any, error) {
	if !v.IsText() {
		return nil, shapeError("info", v, "string")
	}
	var names []string
	var sections []Map
	for _, line := range strings.Split(string(v.Str), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "# ") {
			names = append(names, strings.ToLower(strings.TrimSpace(line[2:])))
			sections = append(sections, Map{})
			continue
		}
		if len(sections) == 0 {
			names = append(names, "default")
			sections = append(sections, Map{})
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		sections[len(sections)-1] = append(sections[len(sections)-1], Entry{Key: k, Value: infoValue(val)})
	}
	out := make(Map, len(names))
	for i, n := range names {
		out[i] = Entry{Key: n, Value: sections[i]}
	}
	return out, nil
}

// infoValue converts an INFO value: integer, float, nested k=v list, or
// text.
func infoValue(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xX") && s != "inf" && s != "nan" {
		return f
	}
	if strings.Contains(s, "=") && !strings.ContainsAny(s, " ") {
		m := Map{}
		for _, part := range strings.Split(s, ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return s
			}
			m = append(m, Entry{Key: k, Value: infoValue(v)})
		}
		return m
	}
	return s
}

// kvLine parses "k=v k=v" (CLIENT LIST/INFO lines) into a Map of strings
// and integers.
func kvLine(line string) Map {
	m := Map{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		var val any = v
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			val = n
		}
		m = append(m, Entry{Key: k, Value: val})
	}
	return m
}

func clientList(v resp.Value, _ Options) (any, error) {
	if !v.IsText() {
		return nil, shapeError("client list", v, "string")
	}
	out := []any{}
	for _, line := range strings.Split(strings.TrimSpace(string(v.Str)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, kvLine(line))
		}
	}
	return out, nil
}

func clientInfo(v resp.Value, _ Options) (any, error) {
	if !v.IsText() {
		return nil, shapeError("client info", v, "string")
	}
	return kvLine(strings.TrimSpace(string(v.Str))), nil
}

// debugObject parses "Value at:0x7f refcount:1 encoding:embstr …".
func debugObject(v resp.Value, _ Options) (any, error) {
	if !v.IsText() {
		return nil, shapeError("debug object", v, "string")
	}
	m := Map{}
	for _, f := range strings.Fields(string(v.Str)) {
		k, val, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		m = append(m, Entry{Key: k, Value: infoValue(val)})
	}
	return m, nil
}

// timeCmd: TIME → {seconds, microseconds}.
func timeCmd(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() || len(v.Elems) != 2 {
		return nil, shapeError("time", v, "array of 2")
	}
	s, err := integer(v.Elems[0], o)
	if err != nil {
		return nil, err
	}
	us, err := integer(v.Elems[1], o)
	if err != nil {
		return nil, err
	}
	return Map{{Key: "seconds", Value: s}, {Key: "microseconds", Value: us}}, nil
}

// memberScore builds {member, score}.
func memberScore(m, s resp.Value) (Map, error) {
	f, ok := toFloat(s)
	if !ok {
		return nil, shapeError("score", s, "double")
	}
	return Map{{Key: "member", Value: Generic(m)}, {Key: "score", Value: f}}, nil
}

// scoredList reads [m, s, m, s] (RESP2) or [[m, s], …] (RESP3) into
// [{member, score}…].
func scoredList(v resp.Value) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("zscores", v, "array")
	}
	out := make([]any, 0, len(v.Elems))
	if isNested(v) {
		for _, p := range v.Elems {
			if len(p.Elems) != 2 {
				return nil, shapeError("zscores", p, "pair")
			}
			ms, err := memberScore(p.Elems[0], p.Elems[1])
			if err != nil {
				return nil, err
			}
			out = append(out, ms)
		}
		return out, nil
	}
	if len(v.Elems)%2 != 0 {
		return nil, shapeError("zscores", v, "even-length array")
	}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		ms, err := memberScore(v.Elems[i], v.Elems[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
	}
	return out, nil
}

// zscores: with WITHSCORES [{member, score}…], else the member list.
func zscores(v resp.Value, o Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !o.WithScores {
		return Generic(v), nil
	}
	return scoredList(v)
}

// zpop: ZPOPMIN/ZPOPMAX always carry scores.
func zpop(v resp.Value, _ Options) (any, error) { return scoredList(v) }

// bzpop: [key, member, score] → {key, member, score}; null on timeout.
func bzpop(v resp.Value, _ Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsAggregate() || len(v.Elems) != 3 {
		return nil, shapeError("bzpop", v, "array of 3")
	}
	ms, err := memberScore(v.Elems[1], v.Elems[2])
	if err != nil {
		return nil, err
	}
	return append(Map{{Key: "key", Value: Generic(v.Elems[0])}}, ms...), nil
}

// zmpop: [key, [[m, s]…]] → {key, members: [{member, score}]}.
func zmpop(v resp.Value, _ Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsAggregate() || len(v.Elems) != 2 {
		return nil, shapeError("zmpop", v, "array of 2")
	}
	ms, err := scoredList(v.Elems[1])
	if err != nil {
		return nil, err
	}
	return Map{{Key: "key", Value: Generic(v.Elems[0])}, {Key: "members", Value: ms}}, nil
}

// zrank: the rank, or with WITHSCORE {rank, score}.
func zrank(v resp.Value, _ Options) (any, error) {
	if v.IsAggregate() && len(v.Elems) == 2 {
		f, ok := toFloat(v.Elems[1])
		if !ok {
			return nil, shapeError("zrank", v, "[rank, score]")
		}
		return Map{{Key: "rank", Value: v.Elems[0].Int}, {Key: "score", Value: f}}, nil
	}
	return Generic(v), nil
}

// entry reads [id, [f, v…]] into {id, fields}. A null field list (an
// entry deleted while pending) gives fields null.
func entry(v resp.Value) (Map, error) {
	if !v.IsAggregate() || len(v.Elems) != 2 {
		return nil, shapeError("stream entry", v, "[id, fields]")
	}
	var fields any
	if !v.Elems[1].IsNull() {
		f, err := object(v.Elems[1], Options{})
		if err != nil {
			return nil, err
		}
		fields = f
	}
	return Map{{Key: "id", Value: string(v.Elems[0].Str)}, {Key: "fields", Value: fields}}, nil
}

// streamEntries: XRANGE/XREVRANGE → [{id, fields}…].
func streamEntries(v resp.Value, _ Options) (any, error) {
	if v.IsNull() {
		return []any{}, nil
	}
	if !v.IsAggregate() {
		return nil, shapeError("stream", v, "array")
	}
	out := make([]any, 0, len(v.Elems))
	for _, e := range v.Elems {
		if e.IsNull() {
			out = append(out, nil)
			continue
		}
		m, err := entry(e)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// xclaim: entries, or IDs with JUSTID.
func xclaim(v resp.Value, o Options) (any, error) {
	for _, a := range o.Args {
		if strings.EqualFold(a, "JUSTID") {
			return Generic(v), nil
		}
	}
	return streamEntries(v, o)
}

// xread: RESP2 [[name, entries]…] or RESP3 {name: entries} →
// [{stream, entries}…]; null when nothing arrived.
func xread(v resp.Value, o Options) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	var ps []resp.Value
	if v.Kind == resp.Map {
		ps = v.Elems
	} else if v.IsAggregate() {
		for _, s := range v.Elems {
			if len(s.Elems) != 2 {
				return nil, shapeError("xread", s, "[stream, entries]")
			}
			ps = append(ps, s.Elems...)
		}
	} else {
		return nil, shapeError("xread", v, "array or map")
	}
	out := make([]any, 0, len(ps)/2)
	for i := 0; i+1 < len(ps); i += 2 {
		es, err := streamEntries(ps[i+1], o)
		if err != nil {
			return nil, err
		}
		out = append(out, Map{{Key: "stream", Value: Generic(ps[i])}, {Key: "entries", Value: es}})
	}
	return out, nil
}

// xautoclaim: [next, entries, deleted] → {next, entries, deleted}.
func xautoclaim(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() || len(v.Elems) < 2 {
		return nil, shapeError("xautoclaim", v, "array")
	}
	var entries any
	var err error
	justID := false
	for _, a := range o.Args {
		if strings.EqualFold(a, "JUSTID") {
			justID = true
		}
	}
	if justID {
		entries = Generic(v.Elems[1])
	} else if entries, err = streamEntries(v.Elems[1], o); err != nil {
		return nil, err
	}
	out := Map{{Key: "next", Value: string(v.Elems[0].Str)}, {Key: "entries", Value: entries}}
	if len(v.Elems) > 2 {
		out = append(out, Entry{Key: "deleted", Value: Generic(v.Elems[2])})
	} else {
		out = append(out, Entry{Key: "deleted", Value: []any{}})
	}
	return out, nil
}

// xpending: the summary {count, min, max, consumers: [{name, pending}]} or,
// with a range, [{id, consumer, idle_ms, deliveries}…].
func xpending(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("xpending", v, "array")
	}
	if len(o.Args) > 3 { // extended form
		out := make([]any, 0, len(v.Elems))
		for _, e := range v.Elems {
			if len(e.Elems) != 4 {
				return nil, shapeError("xpending", e, "array of 4")
			}
			out = append(out, Map{
				{Key: "id", Value: string(e.Elems[0].Str)},
				{Key: "consumer", Value: Generic(e.Elems[1])},
				{Key: "idle_ms", Value: e.Elems[2].Int},
				{Key: "deliveries", Value: e.Elems[3].Int},
			})
		}
		return out, nil
	}
	if len(v.Elems) != 4 {
		return nil, shapeError("xpending", v, "array of 4")
	}
	consumers := []any{}
	for _, c := range v.Elems[3].Elems {
		if len(c.Elems) != 2 {
			continue
		}
		n, _ := integer(c.Elems[1], o)
		consumers = append(consumers, Map{{Key: "name", Value: Generic(c.Elems[0])}, {Key: "pending", Value: n}})
	}
	str := func(x resp.Value) any {
		if x.IsNull() {
			return nil
		}
		return string(x.Str)
	}
	return Map{
		{Key: "count", Value: v.Elems[0].Int},
		{Key: "min", Value: str(v.Elems[1])},
		{Key: "max", Value: str(v.Elems[2])},
		{Key: "consumers", Value: consumers},
	}, nil
}

// scanFunc shapes [cursor, [items]] → {cursor, <field>: [items]}.
func scanFunc(field string, _ bool) Func {
	return func(v resp.Value, _ Options) (any, error) {
		if !v.IsAggregate() || len(v.Elems) != 2 {
			return nil, shapeError("scan", v, "[cursor, items]")
		}
		return Map{{Key: "cursor", Value: string(v.Elems[0].Str)}, {Key: field, Value: Generic(v.Elems[1])}}, nil
	}
}

// hscan: {cursor, fields: {field: value}} (or a field list with NOVALUES).
func hscan(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() || len(v.Elems) != 2 {
		return nil, shapeError("hscan", v, "[cursor, items]")
	}
	for _, a := range o.Args {
		if strings.EqualFold(a, "NOVALUES") {
			return Map{{Key: "cursor", Value: string(v.Elems[0].Str)}, {Key: "fields", Value: Generic(v.Elems[1])}}, nil
		}
	}
	fields, err := object(v.Elems[1], o)
	if err != nil {
		return nil, err
	}
	return Map{{Key: "cursor", Value: string(v.Elems[0].Str)}, {Key: "fields", Value: fields}}, nil
}

// zscan: {cursor, members: [{member, score}]}.
func zscan(v resp.Value, _ Options) (any, error) {
	if !v.IsAggregate() || len(v.Elems) != 2 {
		return nil, shapeError("zscan", v, "[cursor, items]")
	}
	ms, err := scoredList(v.Elems[1])
	if err != nil {
		return nil, err
	}
	return Map{{Key: "cursor", Value: string(v.Elems[0].Str)}, {Key: "members", Value: ms}}, nil
}

// geopos: [[lon, lat] | null…] with numbers.
func geopos(v resp.Value, o Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("geopos", v, "array")
	}
	out := make([]any, len(v.Elems))
	for i, e := range v.Elems {
		if e.IsNull() || len(e.Elems) != 2 {
			continue
		}
		c, err := coord(e)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func coord(e resp.Value) ([]any, error) {
	lon, ok1 := toFloat(e.Elems[0])
	lat, ok2 := toFloat(e.Elems[1])
	if !ok1 || !ok2 {
		return nil, shapeError("coordinates", e, "[lon, lat]")
	}
	return []any{lon, lat}, nil
}

// geosearch: with WITHDIST/WITHHASH/WITHCOORD, [{member, dist?, hash?,
// coord?}…] in that order of options; else the member list.
func geosearch(v resp.Value, o Options) (any, error) {
	var dist, hash, crd bool
	for _, a := range o.Args {
		switch strings.ToUpper(a) {
		case "WITHDIST":
			dist = true
		case "WITHHASH":
			hash = true
		case "WITHCOORD":
			crd = true
		}
	}
	if !dist && !hash && !crd {
		return Generic(v), nil
	}
	if !v.IsAggregate() {
		return nil, shapeError("geosearch", v, "array")
	}
	out := make([]any, 0, len(v.Elems))
	for _, e := range v.Elems {
		if len(e.Elems) < 2 {
			return nil, shapeError("geosearch", e, "array")
		}
		m := Map{{Key: "member", Value: Generic(e.Elems[0])}}
		i := 1
		if dist && i < len(e.Elems) {
			f, _ := toFloat(e.Elems[i])
			m = append(m, Entry{Key: "dist", Value: f})
			i++
		}
		if hash && i < len(e.Elems) {
			m = append(m, Entry{Key: "hash", Value: e.Elems[i].Int})
			i++
		}
		if crd && i < len(e.Elems) {
			c, err := coord(e.Elems[i])
			if err != nil {
				return nil, err
			}
			m = append(m, Entry{Key: "coord", Value: c})
		}
		out = append(out, m)
	}
	return out, nil
}

// slowlog: [{id, start_time, duration_us, command, client_address,
// client_name}…].
func slowlog(v resp.Value, _ Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("slowlog", v, "array")
	}
	out := make([]any, 0, len(v.Elems))
	for _, e := range v.Elems {
		if len(e.Elems) < 4 {
			return nil, shapeError("slowlog entry", e, "array of 6")
		}
		m := Map{
			{Key: "id", Value: e.Elems[0].Int},
			{Key: "start_time", Value: e.Elems[1].Int},
			{Key: "duration_us", Value: e.Elems[2].Int},
			{Key: "command", Value: Generic(e.Elems[3])},
		}
		if len(e.Elems) >= 6 {
			m = append(m, Entry{Key: "client_address", Value: Generic(e.Elems[4])}, Entry{Key: "client_name", Value: Generic(e.Elems[5])})
		}
		out = append(out, m)
	}
	return out, nil
}

// commandInfo: COMMAND / COMMAND INFO → [{name, arity, flags, first_key,
// last_key, step, acl_categories}…] (null for unknown commands).
func commandInfo(v resp.Value, _ Options) (any, error) {
	if !v.IsAggregate() {
		return nil, shapeError("command info", v, "array")
	}
	out := make([]any, 0, len(v.Elems))
	for _, e := range v.Elems {
		if e.IsNull() || len(e.Elems) < 6 {
			out = append(out, nil)
			continue
		}
		flags := make([]any, 0, len(e.Elems[2].Elems))
		for _, f := range e.Elems[2].Elems {
			flags = append(flags, string(f.Str))
		}
		m := Map{
			{Key: "name", Value: string(e.Elems[0].Str)},
			{Key: "arity", Value: e.Elems[1].Int},
			{Key: "flags", Value: flags},
			{Key: "first_key", Value: e.Elems[3].Int},
			{Key: "last_key", Value: e.Elems[4].Int},
			{Key: "step", Value: e.Elems[5].Int},
		}
		if len(e.Elems) > 6 {
			cats := make([]any, 0, len(e.Elems[6].Elems))
			for _, c := range e.Elems[6].Elems {
				cats = append(cats, string(c.Str))
			}
			m = append(m, Entry{Key: "acl_categories", Value: cats})
		}
		out = append(out, m)
	}
	return out, nil
}

// text: a bulk or simple string as bytes; anything else is an error.
func text(v resp.Value, _ Options) (any, error) {
	switch {
	case v.IsNull():
		return nil, nil
	case v.IsText():
		return v.Str, nil
	}
	return nil, shapeError("string", v, "string")
}
