package client_test

import (
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
)

func TestMayRunLong(t *testing.T) {
	long := []string{
		"EVAL return 1 0", "fcall f 0", "KEYS *", "SORT l", "SMEMBERS s", "hgetall h",
		"SUNIONSTORE d a b", "ZINTER 2 a b", "FLUSHDB", "FLUSHALL ASYNC",
		"LRANGE l 0 -1", "LRANGE l -10 -1", "LRANGE l 0 5000", "ZRANGE z 0 -1", "ZREVRANGE z 0 -1 WITHSCORES",
		"ZRANGE z 0 +inf BYSCORE", "ZRANGEBYSCORE z -inf +inf", "ZRANGEBYLEX z - +",
		"XRANGE s - +", "XREVRANGE s + -",
	}
	quick := []string{
		"GET k", "SET k v", "INCR n", "HGET h f", "LRANGE l 0 9", "LRANGE l 100 1100", "ZRANGE z 0 99 WITHSCORES",
		"ZRANGE z 0 +inf BYSCORE LIMIT 0 10", "ZRANGEBYSCORE z -inf +inf LIMIT 0 10",
		"XRANGE s - + COUNT 10", "MGET a b c", "ZRANGE BYSCORE 0 10", // a key named BYSCORE
		"LRANGE l x y", // refused by Redis at once
	}
	for _, c := range long {
		if !client.MayRunLong(strings.Fields(c)) {
			t.Errorf("%q: not long", c)
		}
	}
	for _, c := range quick {
		if client.MayRunLong(strings.Fields(c)) {
			t.Errorf("%q: long", c)
		}
	}
	many := append([]string{"MGET"}, make([]string, 1001)...)
	if !client.MayRunLong(many) {
		t.Error("an MGET of 1001 keys: not long")
	}
}
