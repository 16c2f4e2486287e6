package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/redis-gateway/redis-gateway/acl"
	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/asynclog"
	"github.com/redis-gateway/redis-gateway/internal/embedded"
	"github.com/redis-gateway/redis-gateway/internal/gcheadroom"
	"github.com/redis-gateway/redis-gateway/internal/jsonlog"
	"github.com/redis-gateway/redis-gateway/tokens"
)

// closeWhenDraining answers every HTTP/1 request with Connection: close
// once draining is set, so that clients stop reusing their keep-alive
// connections before Shutdown closes the idle ones (HTTP/2 gets a GOAWAY
// from Shutdown instead).
func closeWhenDraining(next http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() && r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// errHelp is returned after --help or --version printed what was asked.
var errHelp = errors.New("help requested")

// run is the whole program: main only wires the OS into it, and tests call
// it directly. It returns when ctx is cancelled (after a graceful
// shutdown) or on a startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "healthcheck" {
		return healthcheck(ctx, args[2:], getenv, stdout)
	}
	cfg, err := loadConfig(args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Log lines are batched and written by one goroutine (access-log
	// lines at every request would otherwise cost a write system call
	// each); Close writes out the rest when run returns.
	logw := asynclog.New(stderr, asynclog.Config{})
	defer logw.Close()
	logger := newLogger(cfg, logw)
	// A least headroom is the default garbage-collector policy; an
	// operator's GOGC replaces it (docs/benchmarks.md, "A least headroom
	// for the garbage collector").
	if getenv("GOGC") == "" {
		defer gcheadroom.Start(uint64(cfg.GCHeadroomMiB) << 20).Stop()
	}
	setMemoryLimit(logger)

	if cfg.RedisURL == "" && len(cfg.NamedDatabases) == 0 {
		mr, err := embedded.Start()
		if err != nil {
			return err
		}
		defer mr.Close()
		cfg.RedisURL = "redis://" + mr.Addr()
		logger.Warn("no REDIS_URL configured: serving an embedded in-memory Redis; nothing is persisted", "addr", mr.Addr())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "gateway_log_dropped_lines_total",
		Help: "Log lines dropped because the log output could not keep up (its buffer was full).",
	}, func() float64 { return float64(logw.Dropped()) }))
	metrics := api.NewMetrics(reg, reg)

	dbs, err := openDatabases(cfg, logger, metrics)
	if err != nil {
		return err
	}
	defer func() {
		for _, db := range dbs {
			db.Client.Close()
		}
	}()
	checkReachable(ctx, dbs, logger)

	acfg, err := apiConfig(cfg)
	if err != nil {
		return err
	}
	if len(acfg.Tokens) == 0 && acfg.Signed == nil {
		logger.Warn("no tokens configured: every request is allowed; the gateway refuses non-loopback addresses unless insecure_no_auth is set, Host headers other than loopback names and allowed_hosts, and cross-site browser requests")
	}
	handler := api.NewServer(logger, acfg, dbs, metrics)

	var draining atomic.Bool
	srv := &http.Server{
		Handler:           closeWhenDraining(handler, &draining),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(handler.Close) // end event streams so Shutdown can finish
	defer handler.Close()
	ln, err := net.Listen("tcp", cfg.Addr) // fail now if the port is taken
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	logger.Info("listening", "addr", ln.Addr().String(), "databases", len(dbs), "version", version)
	if !isLoopback(cfg.Addr) && len(acfg.Tokens) == 0 && acfg.Signed == nil {
		logger.Warn("listening on a non-loopback address without authentication (insecure_no_auth)", "allowed_hosts", cfg.AllowedHosts)
		if len(cfg.AllowedHosts) == 0 {
			logger.Warn("no allowed_hosts: requests are answered only for loopback Host names (localhost, 127.0.0.1, [::1]); list the names clients use")
		}
	}
	logw.Flush() // the startup lines are out before the gateway says it listens
	fmt.Fprintf(stdout, "redis-gateway %s listening on %s\n", version, url)

	if cfg.MetricsAddr != "" {
		stopOps, err := serveOps(cfg.MetricsAddr, logger, metrics.Handler(), cfg.PprofAddr == cfg.MetricsAddr)
		if err != nil {
			return err
		}
		defer stopOps()
	}
	if cfg.PprofAddr != "" && cfg.PprofAddr != cfg.MetricsAddr {
		stopPprof, err := servePprof(cfg.PprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			// ServeTLS offers h2 by ALPN (TLSNextProto and Protocols are
			// left unset), so a browser's event streams share one
			// connection instead of six per origin (TestRunHTTP2). No
			// h2c on the plain listener: browsers never use it and a proxy
			// in front needs none (README, TLS and HTTP/2).
			serveErr <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			// a stray "%" in a path is answered as problem+json, not
			// net/http's plain text (api.ProblemListener)
			serveErr <- srv.Serve(api.ProblemListener(ln))
		}
	}()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDrain > 0 {
		// Shutdown closes idle keep-alive connections at once, and a
		// request a client sends on one at that instant is lost (EOF,
		// ECONNRESET). Serve on for a moment instead, telling each client
		// to close its connection after the answer.
		draining.Store(true)
		logger.Info("draining", "for", cfg.ShutdownDrain.String())
		t := time.NewTimer(cfg.ShutdownDrain)
		select {
		case <-t.C:
		case err := <-serveErr:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown incomplete: closing remaining connections", "err", err)
		srv.Close()
	}
	logger.Info("stopped")
	return nil
}

// apiConfig maps the configuration onto the HTTP layer's.
func apiConfig(cfg Config) (api.Config, error) {
	ac := api.Config{
		BodyLimit:           cfg.BodyLimit,
		MaxPipeline:         cfg.MaxPipeline,
		CommandTimeout:      cfg.CommandTimeout,
		CORSOrigins:         cfg.CORSOrigins,
		AllowedHosts:        cfg.AllowedHosts,
		MetricsRouteOff:     cfg.MetricsAddr != "",
		DangerousCommands:   cfg.DangerousCommands,
		SubscriberBuffer:    cfg.SubscriberBuffer,
		MaxStreamTails:      cfg.MaxStreamTails,
		MaxBlockingPerToken: cfg.MaxBlockingPerToken,
		Heartbeat:           cfg.Heartbeat,
		UpstashPrefix:       cfg.UpstashPrefix,
		SyncWait:            cfg.SyncWait,
		IdempotencyTTL:      cfg.IdempotencyTTL,
		IdempotencySecret:   cfg.IdempotencySecret,
	}
	for _, t := range cfg.Tokens {
		level, err := api.ParseLevel(t.Level)
		if err != nil {
			return ac, fmt.Errorf("token %s: %w", t.Name, err)
		}
		ac.Tokens = append(ac.Tokens, api.Token{
			Name: t.Name, Secret: t.Token, SHA256: t.TokenSHA256, Databases: t.Databases,
			Level: level, RateLimit: t.RateLimit, Burst: t.Burst,
			Keys: t.Keys, Channels: t.Channels, RedisUser: t.RedisUser, RedisPassword: t.RedisPassword, Mint: t.Mint,
		})
	}
	if cfg.SignedTokenSecret != "" || cfg.SignedTokenJWKS != "" {
		v, err := tokens.NewVerifier(tokens.Config{
			HMACSecret: []byte(cfg.SignedTokenSecret), JWKSFile: cfg.SignedTokenJWKS,
			Audience: cfg.SignedTokenAudience, MaxLifetime: cfg.SignedTokenMaxLifetime,
		})
		if err != nil {
			return ac, err
		}
		ac.Signed = v
	}
	return ac, ac.Validate()
}

// loadConfig builds the configuration from defaults, the YAML file, the
// environment and the flags, in that order, and validates it.
func loadConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (Config, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (env GATEWAY_CONFIG)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	values := make(map[string]*string, len(options))
	for _, o := range options {
		values[o.flag] = fs.String(o.flag, "", fmt.Sprintf("%s (env %s, default %q)", o.help, o.env, o.def))
	}
	// The flag package's own output (the error, then the whole help) is
	// replaced: --help prints the table, a mistyped flag one line naming
	// the nearest flag.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return cfg, errHelp
		}
		return cfg, flagError(err, fs)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintln(stdout, "redis-gateway", version)
		return cfg, errHelp
	}
	path := *configPath
	if path == "" {
		path = getenv("GATEWAY_CONFIG")
	}
	if path != "" {
		if err := loadFile(&cfg, path); err != nil {
			return cfg, err
		}
	}
	var errs []error
	for _, o := range options {
		if v := getenv(o.env); v != "" {
			if err := o.set(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.env, err))
			}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range options {
		if set[o.flag] {
			if err := o.set(&cfg, *values[o.flag]); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", o.flag, err))
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// flagError rewrites the flag package's "flag provided but not defined:
// -x" as a sentence that suggests the nearest known flag.
func flagError(err error, fs *flag.FlagSet) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return fmt.Errorf("%w (gateway --help lists every flag)", err)
	}
	name = strings.TrimLeft(name, "-")
	var known []string
	fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
	if best, ok := nearest(name, known); ok {
		return fmt.Errorf("unknown flag --%s: did you mean --%s? (gateway --help lists every flag)", name, best)
	}
	return fmt.Errorf("unknown flag --%s (gateway --help lists every flag)", name)
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a typo (at most a third of s's length, at least 1,
// away). Flag and key names are short, so the quadratic distance is
// cheap; a library would be more code to vet than these lines.
func nearest(s string, candidates []string) (string, bool) {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := editDistance(s, c); d <= bestD && (best == "" || d < editDistance(s, best)) {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// usage prints every option with its environment variable and default.
func usage(w io.Writer) {
	fmt.Fprintf(w, "redis-gateway %s: HTTP/JSON gateway for Redis\n\n", version)
	fmt.Fprintln(w, "Usage: gateway [flags]            serve")
	fmt.Fprintln(w, "       gateway healthcheck [url]  exit 0 when the gateway's /healthz answers 200")
	fmt.Fprintln(w, "\nSources, later ones win: defaults, YAML file (--config / GATEWAY_CONFIG), environment, flags.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENVIRONMENT\tYAML KEY\tDEFAULT\tMEANING")
	fmt.Fprintln(tw, "--config\tGATEWAY_CONFIG\t\t\tYAML configuration file")
	for _, o := range options {
		fmt.Fprintf(tw, "--%s\t%s\t%s\t%s\t%s\n", o.flag, o.env, o.yamlKey(), o.def, o.help)
	}
	tw.Flush()
}

// newLogger returns the gateway's logger, writing JSON (or text) lines at
// the configured level to w. Records at warn and above wake w's writing
// goroutine, so that they are written at once rather than within the
// batching interval.
func newLogger(cfg Config, w *asynclog.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(wakeOnWarn{slog.NewTextHandler(w, opts), w})
	}
	// jsonlog writes slog's JSON lines, byte for byte, at half the cost
	// for flat records such as the access line (docs/benchmarks.md)
	return slog.New(wakeOnWarn{jsonlog.New(w, opts), w})
}

// wakeOnWarn is a slog.Handler that has its batching writer write out a
// record of level warn or above at once.
type wakeOnWarn struct {
	slog.Handler
	w *asynclog.Writer
}

func (h wakeOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Wake()
	}
	return err
}

func (h wakeOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return wakeOnWarn{h.Handler.WithAttrs(as), h.w}
}

func (h wakeOnWarn) WithGroup(name string) slog.Handler {
	return wakeOnWarn{h.Handler.WithGroup(name), h.w}
}

// openDatabases builds one client per database: the numbered ones on
// REDIS_URL (database number replaced), then the named ones. Clients dial
// lazily, so a Redis that is down at start is not fatal: /readyz reports
// it and requests get 503 until it is up.
func openDatabases(cfg Config, logger *slog.Logger, metrics *api.Metrics) ([]*api.Database, error) {
	var dbs []*api.Database
	closeAll := func() {
		for _, db := range dbs {
			db.Client.Close()
		}
	}
	// build opens one backend of a database; init runs on each of its new
	// connections after the handshake (nil for the database's own
	// backend, a scope's ACL user for the others). proto is the RESP
	// version its connections speak: 3, or 2 for the Upstash surface.
	build := func(name, url string, db int, overrides map[string]string, autoPipeline bool, init [][]string, proto int) (b client.Backend, addr, server string, redisDB int, secret string, err error) {
		if scaledURL(url) { // redis+cluster://, redis+sentinel:// (backends.go)
			if b, addr, err = openScaled(cfg, name, url, db, init, proto, logger, metrics); err != nil {
				return nil, "", "", 0, "", err
			}
			redisDB, secret, server = max(db, 0), url, strings.SplitN(url, "?", 2)[0]
		} else {
			pc, err := client.ParseURL(url)
			if err != nil {
				return nil, "", "", 0, "", err
			}
			if db >= 0 {
				pc.DB = db
			}
			applyPoolConfig(cfg, &pc)
			pc.InitCommands = init
			pc.Protocol = proto
			c, err := client.New(client.Config{
				Pool:              pc,
				MaxBlocking:       cfg.MaxBlocking,
				Observe:           metrics.Observer(name),
				ObserveBatch:      metrics.BatchObserver(name),
				Logger:            logger.With("db", name),
				AutoPipeline:      autoPipeline,
				AutoPipelineConns: cfg.AutoPipelineConns,
				// adaptive: shared connections only once four commands are
				// in flight on pooled ones (docs/architecture.md)
				AutoPipelineMinBusy: autoPipelineMinBusy,
			})
			if err != nil {
				return nil, "", "", 0, "", err
			}
			b, addr, server, redisDB, secret = c, pc.String(), pc.Network+"://"+pc.Addr, pc.DB, pc.Username+"\x00"+pc.Password
		}
		for cmd, cb := range overrides {
			fn, ok := client.CallbackByName(cb)
			if !ok {
				b.Close()
				return nil, "", "", 0, "", fmt.Errorf("callback for %s: unknown callback %q (known: %s)", cmd, cb, strings.Join(client.CallbackNames(), ", "))
			}
			b.SetResponseCallback(cmd, fn)
		}
		return b, addr, server, redisDB, secret, nil
	}
	open := func(name, url string, db int, overrides map[string]string, autoPipeline bool) error {
		b, addr, server, redisDB, secret, err := build(name, url, db, overrides, autoPipeline, nil, 3)
		if err != nil {
			return fmt.Errorf("database %s: %w", name, err)
		}
		opener := func(proto int) acl.Opener {
			return func(init [][]string) (client.Backend, error) {
				b, _, _, _, _, err := build(name, url, db, overrides, autoPipeline, init, proto)
				return b, err
			}
		}
		dbs = append(dbs, &api.Database{Name: name, Client: b, Addr: addr, Server: server, DB: redisDB, OpenScoped: opener(3), OpenRESP2: opener(2), ACLSecret: secret})
		return nil
	}
	for i := range cfg.Databases {
		name := strconv.Itoa(i)
		if err := open(name, cfg.RedisURL, i, cfg.Callbacks[name], cfg.AutoPipeline); err != nil {
			closeAll()
			return nil, err
		}
	}
	for name, nd := range cfg.NamedDatabases {
		overrides := nd.Callbacks
		if overrides == nil {
			overrides = cfg.Callbacks[name]
		}
		ap := cfg.AutoPipeline
		if nd.AutoPipeline != nil {
			ap = *nd.AutoPipeline
		}
		if err := open(name, nd.URL, -1, overrides, ap); err != nil {
			closeAll()
			return nil, err
		}
	}
	for name := range cfg.Callbacks {
		if _, err := strconv.Atoi(name); err != nil {
			if _, ok := cfg.NamedDatabases[name]; !ok {
				closeAll()
				return nil, fmt.Errorf("callbacks: no database named %q", name)
			}
		}
	}
	return dbs, nil
}

// checkReachable pings each Redis server behind dbs once (concurrently,
// for at most 2 s) and logs a warning for each that does not answer, so
// that a Redis down at start shows in the log at start, not at the first
// request. The gateway starts anyway: clients dial lazily, /readyz reports
// the server, and requests get 503 until it answers.
func checkReachable(ctx context.Context, dbs []*api.Database, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, db := range dbs {
		server := db.Server
		if server == "" {
			server = db.Addr
		}
		if seen[server] {
			continue
		}
		seen[server] = true
		wg.Go(func() {
			if err := db.Client.Ping(ctx); err != nil {
				logger.Warn("Redis does not answer at start: requests to its databases get 503 UPSTREAM_UNAVAILABLE until it does", "db", db.Name, "addr", db.Addr, "err", err)
			}
		})
	}
	wg.Wait()
}

// healthcheck GETs /healthz of a running gateway (default: the configured
// address) and fails unless it answers 200. Container health checks use it
// because the runtime image has no curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	url := ""
	if len(args) > 0 {
		url = args[0]
	}
	if url == "" {
		addr := getenv("GATEWAY_ADDR")
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		url = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// setMemoryLimit makes 90 % of the cgroup's memory limit (a container's)
// the runtime's soft memory limit, so that near it the collector works
// harder, the GC headroom shrinks, and the kernel does not kill the
// process. GOMEMLIMIT in the environment, or AUTOMEMLIMIT=off, leaves the
// runtime's limit alone; AUTOMEMLIMIT=0.8 sets another ratio
// (github.com/KimMachineGun/automemlimit reads both).
func setMemoryLimit(logger *slog.Logger) {
	limit, err := memlimit.Set()
	switch {
	case errors.Is(err, memlimit.ErrNoCgroup):
		// not in a cgroup (not Linux): nothing to follow
	case err != nil:
		logger.Warn("the cgroup's memory limit was not applied as GOMEMLIMIT", "err", err)
	case limit < math.MaxInt64:
		logger.Info("GOMEMLIMIT set from the cgroup's memory limit", "bytes", limit)
	}
}
