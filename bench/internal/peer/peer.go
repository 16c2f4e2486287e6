// Package peer holds what the benchmark's peer servers (bench/cmd/bare,
// naive and floor) share: their command line, how they listen, serve and
// stop, so that the only difference between them is their handler.
package peer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Flags is a peer's command line.
type Flags struct {
	// Addr is the listen address (-addr).
	Addr string
	// Redis is the Redis address, database 0 (-redis; only for the peers
	// that fetch the value).
	Redis string
}

// Setup builds a peer's handler from its flags; cleanup (nil: none) runs
// once the server has stopped.
type Setup func(f Flags, stderr io.Writer) (h http.Handler, cleanup func(), err error)

// Main runs a peer: it parses -addr (default addr) and, when withRedis,
// -redis, builds the handler with setup and serves it until SIGINT or
// SIGTERM. It exits 1 after printing its error.
func Main(name, addr string, withRedis bool, setup Setup) {
	if err := run(name, addr, withRedis, setup); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(name, addr string, withRedis bool, setup Setup) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var f Flags
	fs.StringVar(&f.Addr, "addr", addr, "listen address")
	if withRedis {
		fs.StringVar(&f.Redis, "redis", "127.0.0.1:6379", "Redis address (host:port), database 0")
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	h, cleanup, err := setup(f, os.Stderr)
	if err != nil {
		return err
	}
	if cleanup != nil {
		defer cleanup()
	}
	return Serve(ctx, name, f.Addr, h)
}

// Serve listens on addr first, so a busy port fails at once, then serves h
// until ctx is done and shuts down within 5 s. name prefixes its errors.
// Every peer runs the same http.Server settings.
func Serve(ctx context.Context, name, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	return nil
}
