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
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/redis-gateway/redis-gateway/bench/internal/peer"
)

// body is what the gateway sends for GET /db/0/strings/k when k holds "xxx",
// less the encoder's trailing newline.
var body = []byte(`{"value":"xxx"}`)

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
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	return peer.Serve(ctx, "bare", *addr, h)
}
