package cluster_test

import (
	"strconv"
	"testing"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// BenchmarkGet compares GET through a single-node client.Client and
// through a cluster.Client (key lookup, slot hash, node choice), both on
// loopback redis-servers, in parallel. docs/scaling.md records the
// numbers.
func BenchmarkGet(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
	}
	run := func(b *testing.B, be client.Backend) {
		ctx := b.Context()
		for _, k := range keys {
			if _, err := be.Do(ctx, "SET", k, "value"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := be.Do(ctx, "GET", keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("Single", func(b *testing.B) {
		s := redistest.Start(b)
		pc, err := client.ParseURL(s.URL(0))
		if err != nil {
			b.Fatal(err)
		}
		c, err := client.New(client.Config{Pool: pc})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		run(b, c)
	})
	b.Run("Cluster", func(b *testing.B) {
		rc := redistest.StartCluster(b, redistest.ClusterConfig{})
		run(b, newClient(b, rc, cluster.Config{}))
	})
}
