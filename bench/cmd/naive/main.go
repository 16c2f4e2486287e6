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
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/redis-gateway/redis-gateway/bench/internal/peer"
)

func main() { peer.Main("naive", "127.0.0.1:8082", true, setup) }

// setup builds the go-redis client and the one route.
func setup(f peer.Flags, stderr io.Writer) (http.Handler, func(), error) {
	rdb := redis.NewClient(&redis.Options{Addr: f.Redis})
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	mux := http.NewServeMux()
	mux.Handle("GET /db/0/strings/{key}", handleGet(logger, rdb))
	return mux, func() { rdb.Close() }, nil
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
