package bench_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// The benchmarks in this file run the same commands through three Go
// clients against one shared redis-server, so that their ratios come from
// the same run on the same machine:
//
//   - gateway: this project's client (client.Client), replies shaped by the
//     default response callbacks, one pooled connection per command;
//   - gatewayauto: the same with Config.AutoPipeline;
//   - goredis: github.com/redis/go-redis/v9;
//   - rueidis: github.com/redis/rueidis (auto-pipelining).
//
// Every client runs with its defaults (RESP3; gateway and go-redis pools of
// 10 × GOMAXPROCS connections; rueidis multiplexes concurrent commands onto
// a few pipelined connections). Names follow benchstat's key=value form,
// e.g. BenchmarkGet/size=16/par=8/client=gateway, so
//
//	benchstat -col /client old.txt
//
// puts the three clients side by side.

var (
	sizes = []int{16, 4096}
	pars  = []int{1, 8, 64}
)

const (
	pipeLen    = 100
	hashFields = 100
)

// peer is one client under test, reduced to the operations measured here.
// Each function returns an error when the reply is not what the setup
// stored, so a misconfigured client cannot look fast by failing.
type peer struct {
	name    string
	get     func(ctx context.Context, key string, want int) error
	set     func(ctx context.Context, key, val string) error
	pipe    func(ctx context.Context, key string, n int) error
	hgetall func(ctx context.Context, key string, want int) error
	close   func()
}

// peers is set up once in TestMain and shared by every benchmark.
var peers []peer

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	s, err := redistest.StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: start redis-server:", err)
		return 1
	}
	defer s.Stop()
	ps, err := newPeers(s.Addr())
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer func() {
		for _, p := range ps {
			p.close()
		}
	}()
	peers = ps
	if err := seed(s.Addr()); err != nil {
		fmt.Fprintln(os.Stderr, "bench: seed:", err)
		return 1
	}
	return m.Run()
}

func newPeers(addr string) ([]peer, error) {
	gw, err := newGateway(addr, false)
	if err != nil {
		return nil, fmt.Errorf("gateway client: %w", err)
	}
	ga, err := newGateway(addr, true)
	if err != nil {
		gw.close()
		return nil, fmt.Errorf("gateway client (auto-pipelined): %w", err)
	}
	rc, err := newRueidis(addr)
	if err != nil {
		gw.close()
		ga.close()
		return nil, fmt.Errorf("rueidis client: %w", err)
	}
	return []peer{gw, ga, newGoRedis(addr), rc}, nil
}

// newGateway returns this project's client; auto turns on
// Config.AutoPipeline (name "gatewayauto"), which shares a few connections
// between concurrent single commands as rueidis does.
func newGateway(addr string, auto bool) (peer, error) {
	pc, err := client.ParseURL("redis://" + addr + "/0")
	if err != nil {
		return peer{}, err
	}
	c, err := client.New(client.Config{Pool: pc, AutoPipeline: auto})
	if err != nil {
		return peer{}, err
	}
	name := "gateway"
	if auto {
		name = "gatewayauto"
	}
	return peer{
		name: name,
		get: func(ctx context.Context, key string, want int) error {
			v, err := c.Do(ctx, "GET", key)
			if err != nil {
				return err
			}
			return checkLen(key, len(v.([]byte)), want)
		},
		set: func(ctx context.Context, key, val string) error {
			_, err := c.Do(ctx, "SET", key, val)
			return err
		},
		pipe: func(ctx context.Context, key string, n int) error {
			cmds := make([][]string, n)
			for i := range cmds {
				cmds[i] = []string{"INCR", key}
			}
			res, err := c.Pipe(ctx, cmds)
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Err != nil {
					return r.Err
				}
			}
			return nil
		},
		hgetall: func(ctx context.Context, key string, want int) error {
			v, err := c.Do(ctx, "HGETALL", key)
			if err != nil {
				return err
			}
			return checkLen(key, len(v.(client.Map)), want)
		},
		close: func() { c.Close() },
	}, nil
}

func newGoRedis(addr string) peer {
	c := redis.NewClient(&redis.Options{Addr: addr})
	return peer{
		name: "goredis",
		get: func(ctx context.Context, key string, want int) error {
			v, err := c.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			return checkLen(key, len(v), want)
		},
		set: func(ctx context.Context, key, val string) error {
			return c.Set(ctx, key, val, 0).Err()
		},
		pipe: func(ctx context.Context, key string, n int) error {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for range n {
					p.Incr(ctx, key)
				}
				return nil
			})
			return err
		},
		hgetall: func(ctx context.Context, key string, want int) error {
			v, err := c.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			return checkLen(key, len(v), want)
		},
		close: func() { c.Close() },
	}
}

func newRueidis(addr string) (peer, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		return peer{}, err
	}
	return peer{
		name: "rueidis",
		get: func(ctx context.Context, key string, want int) error {
			v, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString()
			if err != nil {
				return err
			}
			return checkLen(key, len(v), want)
		},
		set: func(ctx context.Context, key, val string) error {
			return c.Do(ctx, c.B().Set().Key(key).Value(val).Build()).Error()
		},
		pipe: func(ctx context.Context, key string, n int) error {
			cmds := make(rueidis.Commands, n)
			for i := range cmds {
				cmds[i] = c.B().Incr().Key(key).Build()
			}
			for _, r := range c.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			return nil
		},
		hgetall: func(ctx context.Context, key string, want int) error {
			v, err := c.Do(ctx, c.B().Hgetall().Key(key).Build()).AsStrMap()
			if err != nil {
				return err
			}
			return checkLen(key, len(v), want)
		},
		close: c.Close,
	}, nil
}

func checkLen(key string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: got length %d, want %d", key, got, want)
	}
	return nil
}

// seed stores the values the read benchmarks expect, through its own
// gateway client.
func seed(addr string) error {
	pc, err := client.ParseURL("redis://" + addr + "/0")
	if err != nil {
		return err
	}
	c, err := client.New(client.Config{Pool: pc})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	for _, size := range sizes {
		if _, err := c.Do(ctx, "SET", getKey(size), strings.Repeat("v", size)); err != nil {
			return err
		}
	}
	args := []string{"HSET", hashKey}
	for i := range hashFields {
		args = append(args, "field"+strconv.Itoa(i), strings.Repeat("h", 16))
	}
	_, err = c.Do(ctx, args...)
	return err
}

const hashKey = "bench:hash100"

func getKey(size int) string { return "bench:get:" + strconv.Itoa(size) }

// TestPeersAgree runs each operation once through every client, so that a
// broken client fails fast instead of producing a meaningless number.
func TestPeersAgree(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			ctx := t.Context()
			for _, size := range sizes {
				if err := p.get(ctx, getKey(size), size); err != nil {
					t.Errorf("GET size %d: %v", size, err)
				}
				if err := p.set(ctx, "bench:set:"+p.name, strings.Repeat("s", size)); err != nil {
					t.Errorf("SET size %d: %v", size, err)
				}
			}
			if err := p.pipe(ctx, "bench:pipe:"+p.name, pipeLen); err != nil {
				t.Errorf("pipeline: %v", err)
			}
			if err := p.hgetall(ctx, hashKey, hashFields); err != nil {
				t.Errorf("HGETALL: %v", err)
			}
		})
	}
}

// BenchmarkGet reads a 16 B and a 4 KiB value. SetParallelism(par) runs
// par × GOMAXPROCS goroutines.
func BenchmarkGet(b *testing.B) {
	for _, size := range sizes {
		for _, par := range pars {
			for _, p := range peers {
				b.Run(fmt.Sprintf("size=%d/par=%d/client=%s", size, par, p.name), func(b *testing.B) {
					key := getKey(size)
					b.ReportAllocs()
					b.SetParallelism(par)
					b.RunParallel(func(pb *testing.PB) {
						ctx := context.Background()
						for pb.Next() {
							if err := p.get(ctx, key, size); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	}
}

// BenchmarkSet writes a 16 B and a 4 KiB value, every goroutine to the
// same key (Redis runs commands one at a time either way).
func BenchmarkSet(b *testing.B) {
	for _, size := range sizes {
		val := strings.Repeat("s", size)
		for _, par := range pars {
			for _, p := range peers {
				b.Run(fmt.Sprintf("size=%d/par=%d/client=%s", size, par, p.name), func(b *testing.B) {
					key := "bench:set:" + p.name
					b.ReportAllocs()
					b.SetParallelism(par)
					b.RunParallel(func(pb *testing.PB) {
						ctx := context.Background()
						for pb.Next() {
							if err := p.set(ctx, key, val); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	}
}

// BenchmarkPipeline sends 100 INCRs in one round trip from one goroutine.
// Each iteration builds its commands, as a caller would.
func BenchmarkPipeline(b *testing.B) {
	for _, p := range peers {
		b.Run(fmt.Sprintf("cmds=%d/client=%s", pipeLen, p.name), func(b *testing.B) {
			key := "bench:pipe:" + p.name
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.pipe(ctx, key, pipeLen); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHGetAll reads a 100-field hash into a Go value from one
// goroutine: client.Map (ordered, via the HGETALL callback) for the
// gateway, map[string]string for go-redis (HGetAll().Result()) and
// rueidis (AsStrMap).
func BenchmarkHGetAll(b *testing.B) {
	for _, p := range peers {
		b.Run(fmt.Sprintf("fields=%d/client=%s", hashFields, p.name), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.hgetall(ctx, hashKey, hashFields); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
