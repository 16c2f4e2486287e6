package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// BenchmarkGet measures GET of a 16-byte value through the pool, with the
// reply shaped by the callbacks, at the default parallelism (GOMAXPROCS)
// and at 8 and 64 goroutines per CPU.
func BenchmarkGet(b *testing.B) {
	s := redistest.Start(b)
	c := newClient(b, s, 0, nil)
	if _, err := c.Do(context.Background(), "SET", "bench", strings.Repeat("v", 16)); err != nil {
		b.Fatal(err)
	}
	for _, par := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("p%d", par), func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := c.Do(ctx, "GET", "bench"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSet measures SET of a 16-byte value.
func BenchmarkSet(b *testing.B) {
	s := redistest.Start(b)
	c := newClient(b, s, 0, nil)
	val := strings.Repeat("v", 16)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		key := fmt.Sprintf("bench:%d", n.Add(1))
		for pb.Next() {
			if _, err := c.Do(ctx, "SET", key, val); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPipeline100 measures a 100-command pipeline.
func BenchmarkPipeline100(b *testing.B) {
	s := redistest.Start(b)
	c := newClient(b, s, 0, nil)
	cmds := make([][]string, 100)
	for i := range cmds {
		cmds[i] = []string{"INCR", "pipe"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Pipe(context.Background(), cmds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFence measures one INCR on a pooled connection, unfenced and
// fenced (WATCH K + GET K, then MULTI, SET K, INCR, EXEC: one round trip
// more), sequentially, in the order plain, fenced, fenced, plain so that
// a drift of the shared machine hits both alike. Each fenced INCR has its
// own run key.
func BenchmarkFence(b *testing.B) {
	s := redistest.Start(b)
	c := newClient(b, s, 0, nil)
	ctx := context.Background()
	var n atomic.Int64
	for _, fenced := range []bool{false, true, true, false} {
		name := "plain"
		if fenced {
			name = "fenced"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cctx := ctx
				if fenced {
					cctx = client.WithFence(ctx, &client.Fence{Key: fmt.Sprintf("bench:fence:%d", n.Add(1)), Value: "a", TTL: time.Minute})
				}
				if _, err := c.DoRaw(cctx, "INCR", "bench:n"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
