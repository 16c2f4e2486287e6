package callbacks_test

import (
	"fmt"
	"testing"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/resp"
)

func benchShape(b *testing.B, v resp.Value, args ...string) {
	reg := callbacks.Default()
	opts := callbacks.Options{Args: args, WithScores: hasWithScores(args)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Shape(v, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func flat(n int, val func(i int) resp.Value) resp.Value {
	v := resp.Value{Kind: resp.Array}
	for i := range n {
		v.Elems = append(v.Elems, resp.StringValue(fmt.Sprint("field", i)), val(i))
	}
	return v
}

func BenchmarkHGETALL100(b *testing.B) {
	v := flat(100, func(int) resp.Value { return resp.StringValue("value") })
	v.Kind = resp.Map
	benchShape(b, v, "HGETALL", "h")
}

func BenchmarkZRANGEWithScores100(b *testing.B) {
	benchShape(b, flat(100, func(i int) resp.Value { return resp.StringValue(fmt.Sprint(i, ".5")) }), "ZRANGE", "z", "0", "-1", "WITHSCORES")
}

func BenchmarkXRANGE100(b *testing.B) {
	v := resp.Value{Kind: resp.Array}
	for i := range 100 {
		v.Elems = append(v.Elems, resp.ArrayValue(resp.StringValue(fmt.Sprint(i, "-0")), resp.ArrayValue(resp.StringValue("f"), resp.StringValue("v"))))
	}
	benchShape(b, v, "XRANGE", "s", "-", "+")
}

func BenchmarkINFO(b *testing.B) {
	benchShape(b, resp.StringValue("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:12\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"), "INFO")
}

func BenchmarkSCAN(b *testing.B) {
	keys := resp.Value{Kind: resp.Array}
	for i := range 10 {
		keys.Elems = append(keys.Elems, resp.StringValue(fmt.Sprint("key:", i)))
	}
	benchShape(b, resp.ArrayValue(resp.StringValue("17"), keys), "SCAN", "0")
}

func BenchmarkGenericGET(b *testing.B) { benchShape(b, resp.StringValue("value"), "GET", "k") }
