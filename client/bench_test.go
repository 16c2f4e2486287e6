package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

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
