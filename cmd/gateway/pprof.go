package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves the runtime profiles of net/http/pprof on their own
// listener, apart from the API (so they are never exposed with it), until
// the returned function is called.
func servePprof(addr string, logger *slog.Logger) (stop func(), err error) {
	return serveOps(addr, logger, nil, true)
}

// serveOps serves operator endpoints on their own listener until the
// returned function is called: /metrics when metrics is not nil (with no
// access check: the listener is the access control), and the pprof
// profiles when pprof is set.
func serveOps(addr string, logger *slog.Logger, metrics http.Handler, withPprof bool) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		logger.Warn("serving pprof profiles", "addr", ln.Addr().String())
	}
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
		logger.Info("serving metrics", "addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
