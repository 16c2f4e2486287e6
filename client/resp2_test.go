package client_test

import (
	"net"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// TestRESP2ViewMatchesRESP2 runs each command twice against a real server,
// once through the client (RESP3) converted with RESP2View and once on a
// plain RESP2 connection, and wants the same reply.
func TestRESP2ViewMatchesRESP2(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ctx := t.Context()
	for _, setup := range [][]string{
		{"ZADD", "z", "1.5", "a", "2", "b", "inf", "c", "-3.25", "d"},
		{"ZADD", "z2", "1", "a", "5", "e"},
		{"HSET", "h", "f1", "v1", "f2", "v2"},
		{"SADD", "s", "x"},
		{"SET", "str", "v"},
		{"XADD", "st", "1-1", "k", "v"},
		// Twins for the commands that change data: the client pops from
		// one, the RESP2 connection from the other.
		{"ZADD", "pop1", "1", "a", "2", "b", "3", "c"},
		{"ZADD", "pop2", "1", "a", "2", "b", "3", "c"},
	} {
		if _, err := c.Do(ctx, setup...); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	for _, args := range [][]string{
		{"ZRANGE", "z", "0", "-1", "WITHSCORES"},
		{"ZRANGE", "z", "0", "-1"},
		{"ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"},
		{"ZREVRANGE", "z", "0", "1", "withscores"},
		{"ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "2"},
		{"ZUNION", "2", "z", "z2", "WITHSCORES"},
		{"ZINTER", "2", "z", "z2", "WITHSCORES"},
		{"ZDIFF", "2", "z", "z2", "WITHSCORES"},
		{"ZRANDMEMBER", "z", "-3", "WITHSCORES"},
		{"ZSCORE", "z", "a"},
		{"ZSCORE", "z", "c"},
		{"ZMSCORE", "z", "a", "nope"},
		{"ZPOPMIN", "pop1"},
		{"ZPOPMAX", "pop1", "2"},
		{"ZRANDMEMBER", "z", "1", "WITHSCORES"},
		{"HGETALL", "h"},
		{"HRANDFIELD", "h", "-2", "WITHVALUES"},
		{"SMEMBERS", "s"},
		{"SISMEMBER", "s", "x"},
		{"GET", "str"},
		{"GET", "absent"},
		{"EXISTS", "str"},
		{"CONFIG", "GET", "maxmemory-policy"},
		{"XRANGE", "st", "-", "+"},
		{"EVAL", "return {1, 'two', {3}}", "0"},
		{"EVAL", "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')", "1", "z"},
	} {
		if args[0] == "ZRANDMEMBER" || args[0] == "HRANDFIELD" {
			// Random replies: compare the shape only.
			v, err := c.DoRaw(ctx, args...)
			if err != nil {
				t.Fatal(err)
			}
			got := client.RESP2View(v, args)
			want := redistest.Exchange(t, raw, args...)
			if got.Kind != resp.Array || len(got.Elems) != len(want.Elems) {
				t.Errorf("%v: RESP2View %v, RESP2 %v: different shapes", args, got, want)
			}
			for _, e := range got.Elems {
				if e.Kind != resp.BulkString {
					t.Errorf("%v: element %v is not a bulk string", args, e)
				}
			}
			continue
		}
		v, err := c.DoRaw(ctx, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		got := client.RESP2View(v, args)
		rawArgs := append([]string(nil), args...)
		if rawArgs[1] == "pop1" {
			rawArgs[1] = "pop2"
		}
		want := redistest.Exchange(t, raw, rawArgs...)
		if got.String() != want.String() {
			t.Errorf("%v:\n RESP2View %v\n RESP2     %v", args, got, want)
		}
	}
}
