// Command naive is what a first attempt at a Redis-over-HTTP gateway looks
// like: net/http's ServeMux, go-redis with its defaults, and
// json.NewEncoder(w).Encode(map[string]any{"value": v}). It serves only
//
//	GET /db/0/strings/{key}   200 {"value":"…"}, 404 when the key is absent
//
// The peer benchmark (scripts/bench-peers.sh) loads it with wrk next to the
// gateway, so gateway/naive says what the gateway's routing, middleware,
// callbacks and problem documents cost (or save) against the obvious
// program.
//
// Usage:
//
//	naive -addr 127.0.0.1:8082 -redis 127.0.0.1:6380
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/redis-gateway/redis-gateway/bench/internal/peer"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8082", "listen address")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "Redis address (host:port), database 0")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	mux := http.NewServeMux()
	mux.Handle("GET /db/0/strings/{key}", handleGet(logger, rdb))
	return peer.Serve(ctx, "naive", *addr, mux)
}

// handleGet serves GET /db/0/strings/{key}.
func handleGet(logger *slog.Logger, rdb *redis.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := rdb.Get(r.Context(), r.PathValue("key")).Result()
		if errors.Is(err, redis.Nil) {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		if err != nil {
			logger.Error("get", "err", err)
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(map[string]any{"value": v}); err != nil {
			logger.Info("write", "err", err)
		}
	})
}
