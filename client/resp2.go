package client

import (
	"strings"

	"github.com/redis-gateway/redis-gateway/resp"
)

// RESP2View returns the reply to args as a RESP2 connection would have
// received it, although the pool speaks RESP3: maps become flat arrays,
// doubles become bulk strings, booleans integers (see [resp.ToRESP2]), and,
// for the commands whose RESP3 reply nests member/score pairs that RESP2
// sends flat (ZRANGE … WITHSCORES and its relatives, ZPOPMIN/ZPOPMAX with
// a count, ZRANDMEMBER … WITHSCORES, HRANDFIELD … WITHVALUES), the pairs
// are flattened again. Adapters that promise RESP2-shaped replies (the
// Upstash surface) use it.
func RESP2View(v Value, args []string) Value {
	v = resp.ToRESP2(v)
	if len(args) == 0 || v.Kind != resp.Array || !pairsNestedInRESP3(args) {
		return v
	}
	flat := make([]Value, 0, 2*len(v.Elems))
	for _, e := range v.Elems {
		if e.Kind != resp.Array || len(e.Elems) != 2 {
			return v // already flat (a RESP2 server, or a single pair)
		}
		flat = append(flat, e.Elems...)
	}
	return Value{Kind: resp.Array, Elems: flat}
}

// pairsNestedInRESP3 reports commands whose RESP3 reply is an array of
// two-element arrays where RESP2 has a flat array.
func pairsNestedInRESP3(args []string) bool {
	switch strings.ToUpper(args[0]) {
	case "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE",
		"ZUNION", "ZINTER", "ZDIFF", "ZRANDMEMBER":
		return hasToken(args, "WITHSCORES")
	case "HRANDFIELD":
		return hasToken(args, "WITHVALUES")
	case "ZPOPMIN", "ZPOPMAX":
		return len(args) > 2 // with a count
	}
	return false
}
