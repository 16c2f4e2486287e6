// Command gateway serves the redis-gateway HTTP API.
//
// With no configuration it starts an embedded in-memory Redis (nothing is
// persisted) and listens on 127.0.0.1:8080. Set REDIS_URL (or a config file
// with GATEWAY_CONFIG) to put it in front of a real Redis. Run
// `gateway --help` for every option, and `gateway healthcheck` to probe a
// running gateway (for container health checks).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
