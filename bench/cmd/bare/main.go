// Command bare is the ceiling of Go's HTTP stack on this machine: a
// net/http server that answers every request with the same 15-byte JSON
// body and does nothing else (no router, no middleware, no Redis). The
// peer benchmark (scripts/bench-peers.sh) loads it with wrk next to the
// gateway, so gateway/bare is the share of plain net/http throughput that
// the gateway keeps.
//
// Usage:
//
//	bare -addr 127.0.0.1:8081
package main

import (
	"io"
	"net/http"
	"strconv"

	"github.com/redis-gateway/redis-gateway/bench/internal/peer"
)

// body is what the gateway sends for GET /db/0/strings/k when k holds "xxx",
// less the encoder's trailing newline.
var body = []byte(`{"value":"xxx"}`)

func main() { peer.Main("bare", "127.0.0.1:8081", false, setup) }

// setup returns the handler writing the fixed body.
func setup(peer.Flags, io.Writer) (http.Handler, func(), error) {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	}), nil, nil
}
