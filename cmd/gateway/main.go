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
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// gcPercent is the garbage collector's target (GOGC) when the environment
// sets none. The gateway's live heap is small and almost everything a
// request allocates is garbage when it ends, so at Go's default of 100 the
// collector runs many times a second under load; at 400 it spent 12 % less
// CPU per request and kept about 15 MiB more resident at 50 connections
// (docs/benchmarks.md, "Lean request path"). GOGC=100 restores Go's
// default; GOMEMLIMIT bounds the heap as usual.
const gcPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
