package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/redis-gateway/redis-gateway/acl"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/idempotency"
	"github.com/redis-gateway/redis-gateway/tokens"
)

// Config holds the HTTP layer's settings. A zero field means the default in
// its comment.
type Config struct {
	// BodyLimit is the largest request body in bytes (413 over it).
	// Default 8 MiB.
	BodyLimit int64
	// MaxPipeline is the most commands in one pipeline or transaction.
	// Default 1000.
	MaxPipeline int
	// CommandTimeout bounds each Redis command (or pipeline); blocking
	// commands get their own blocking time on top. Default 5s.
	CommandTimeout time.Duration
	// CORSOrigins lists the origins allowed to call the API from a
	// browser ("*" allows any). Default: none.
	CORSOrigins []string
	// SubscriberBuffer is how many undelivered messages each real-time
	// subscriber may have queued; past it, new messages for that
	// subscriber are dropped and it receives a "lagged" event with the
	// count. Default 256.
	SubscriberBuffer int
	// Tokens are the accepted bearer tokens. With none, every request is
	// allowed (the command keeps such a gateway on loopback).
	Tokens []Token
	// Signed, when set, also accepts signed tokens (JWTs) it verifies, and
	// enables POST /tokens to mint them. Nil: configured tokens only.
	Signed *tokens.Verifier
	// DangerousCommands need the admin level ("FLUSHALL", "CONFIG",
	// "SCRIPT KILL"…). Nil means DefaultDangerousCommands.
	DangerousCommands []string
	// MaxBlockingPerToken bounds the blocking commands (BLPOP, XREAD
	// BLOCK, stream tails…) one token below admin may have running at once
	// on one database. Default half of MaxStreamTails (at least 1).
	MaxBlockingPerToken int
	// MaxStreamTails bounds concurrent stream tails per database; each
	// holds a blocking connection. Default 16 (the client's default
	// MaxBlocking).
	MaxStreamTails int
	// Heartbeat is the interval of keep-alive comments on event streams
	// and pings on WebSockets. Default 15s.
	Heartbeat time.Duration
	// AllowedHosts are the Host names (or "name:port") answered besides
	// the loopback names; any other Host gets 403 FORBIDDEN_HOST. Enforced
	// with no tokens configured, and with tokens once it is non-empty.
	// Default: none (loopback only).
	AllowedHosts []string
	// MetricsRouteOff leaves /metrics off this handler, for a gateway that
	// serves [Metrics.Handler] on a separate address instead. Default
	// false: /metrics is served here (with tokens, to admin and metrics
	// tokens only).
	MetricsRouteOff bool
	// SyncWait bounds how long a read carrying a sync token waits for a
	// replica to reach the token's offset before it runs on the primary
	// (databases that read from replicas only). Default 50ms.
	SyncWait time.Duration
	// UpstashPrefix is where the Upstash-compatible surface is mounted
	// (UpstashPrefix + "/{db}"). Default "/upstash"; "off" disables it.
	UpstashPrefix string
	// IdempotencyTTL is how long the response to a request sent with an
	// Idempotency-Key is kept for its retries (package idempotency).
	// Default 24h.
	IdempotencyTTL time.Duration
	// IdempotencyLease is how long an in-flight idempotent request holds
	// its key without its gateway refreshing it: a duplicate learns within
	// it that the first request's gateway stopped. Default 10s.
	IdempotencyLease time.Duration
	// IdempotencySecret seals the stored responses, so that a token able
	// to read every key cannot read or forge another token's. Every
	// gateway sharing a Redis server must use the same. Default: each
	// database's ACLSecret (its Redis credentials).
	IdempotencySecret string
}

// Validate reports configuration errors (bad tokens, malformed CORS
// origins) that NewServer would otherwise panic on.
func (c Config) Validate() error {
	if _, err := trustedOrigins(c.CORSOrigins); err != nil {
		return err
	}
	_, err := newAuth(c.Tokens, c.DangerousCommands, c.Signed)
	return err
}

func (c Config) withDefaults() Config {
	if c.BodyLimit <= 0 {
		c.BodyLimit = 8 << 20
	}
	if c.MaxPipeline <= 0 {
		c.MaxPipeline = 1000
	}
	if c.UpstashPrefix == "" {
		c.UpstashPrefix = "/upstash"
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 5 * time.Second
	}
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 256
	}
	if c.MaxStreamTails <= 0 {
		c.MaxStreamTails = 16
	}
	if c.MaxBlockingPerToken <= 0 {
		c.MaxBlockingPerToken = max(1, c.MaxStreamTails/2)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.SyncWait <= 0 {
		c.SyncWait = 50 * time.Millisecond
	}
	return c
}

// Database is one URL prefix /db/{Name}, backed by its own client and pool.
type Database struct {
	// Name is the path segment: "0"…"15" or a configured name.
	Name string
	// Client runs the database's commands.
	Client client.Backend
	// Addr describes the Redis server for /databases, password redacted.
	Addr string
	// Server identifies the Redis server (or cluster, or Sentinel
	// group) behind the database, so that databases on the same server can
	// be told apart from others. Default: Addr.
	Server string
	// DB is the Redis database number behind Name, so that a token hears
	// keyspace notifications (__keyspace@DB__:…) of its own databases only.
	DB int
	// OpenScoped builds another backend of this database whose connections
	// run extra commands after the handshake: the gateway uses it to run
	// read and write tokens as Redis ACL users (package acl). Nil: no ACL
	// users, so scripts need admin and key-patterned tokens are refused.
	OpenScoped acl.Opener
	// OpenRESP2 builds another backend of this database on connections
	// that speak RESP2, each running init after the handshake (nil: the
	// database's own identity; a scope's ACL user otherwise). The Upstash
	// surface runs on such backends, opened on first use, so that Redis
	// itself writes the RESP2 replies it relays. Nil: the Upstash surface
	// answers 404 for this database.
	OpenRESP2 acl.Opener
	// ACLSecret is mixed into the passwords of the ACL users the gateway
	// creates; pass the database's Redis credentials (see acl.Password).
	ACLSecret string
}

// deps is what every handler maker receives.
type deps struct {
	logger  *slog.Logger
	cfg     Config
	dbs     map[string]*Database
	names   []string // sorted database names
	metrics *Metrics
	hubs    map[string]*hub          // pub/sub fan-out per database
	tails   map[string]chan struct{} // stream tail slots per database
	// defaults shapes replies the gateway itself parses (stream tails),
	// independent of per-database overrides.
	defaults *client.Registry
	auth     *authConfig
	// users holds each database's scope backends (Redis ACL users).
	users map[string]*acl.Users
	// resp2 holds each database's own RESP2 backend (Database.OpenRESP2),
	// for the Upstash surface.
	resp2 map[string]*lazyBackend
	// syncs holds each database's latest sync token (synctoken.go).
	syncs map[string]*syncTracker
	// blockers counts each token's running blocking commands.
	blockers blockers
	// scripts maps Lua scripts rewritten for the Upstash surface.
	scripts upstashScripts
	// closing is closed by Server.Close: long-lived streams (SSE,
	// WebSocket) send a final event and end.
	closing   chan struct{}
	closeOnce sync.Once
	// idem holds each database's idempotency records.
	idem map[string]*idempotency.Store
	// onClose holds cleanups registered by handlers at setup (pub/sub
	// hubs); Server.Close runs them.
	onClose []func()
}

// Server is the gateway's HTTP handler. It is safe for concurrent use.
type Server struct {
	http.Handler
	d   *deps
	mux *chi.Mux // the router under Handler (which adds the request context)
}

// Close ends long-lived streams (each gets a final event), closes the
// shared pub/sub connections, and returns once they are done. Ordinary
// requests are not affected: register Close with
// http.Server.RegisterOnShutdown so that Shutdown does not wait on streams
// forever. Calling it more than once is harmless.
func (s *Server) Close() {
	s.d.closeOnce.Do(func() {
		close(s.d.closing)
		for _, fn := range s.d.onClose {
			fn()
		}
	})
}

// NewServer returns the gateway's HTTP handler: every route of
// routes.go behind the middleware (recovery, request IDs, access log,
// metrics, CORS). dbs must have distinct names. A nil logger discards; a
// nil metrics records nothing. It panics on a configuration that
// Config.Validate rejects.
func NewServer(logger *slog.Logger, cfg Config, dbs []*Database, metrics *Metrics) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger, flushFailures := summarizeFailures(logger, failureLogInterval)
	d := &deps{logger: logger, cfg: cfg.withDefaults(), dbs: map[string]*Database{}, metrics: metrics, hubs: map[string]*hub{}, users: map[string]*acl.Users{}, resp2: map[string]*lazyBackend{}, syncs: map[string]*syncTracker{}, tails: map[string]chan struct{}{}, idem: map[string]*idempotency.Store{}, defaults: client.DefaultCallbacks(), closing: make(chan struct{})}
	auth, err := newAuth(d.cfg.Tokens, d.cfg.DangerousCommands, d.cfg.Signed)
	if err != nil {
		panic(err) // documented: callers validate first
	}
	d.auth = auth
	for _, db := range dbs {
		if _, dup := d.dbs[db.Name]; dup {
			panic(fmt.Sprintf("api: database %q configured twice", db.Name)) // programming error at startup
		}
		if db.Server == "" {
			db.Server = db.Addr
		}
		d.dbs[db.Name] = db
		d.names = append(d.names, db.Name)
		h := newHub(db, logger, metrics, d.cfg.SubscriberBuffer, d.cfg.CommandTimeout)
		d.hubs[db.Name] = h
		d.onClose = append(d.onClose, h.close)
		secret := d.cfg.IdempotencySecret
		if secret == "" {
			secret = db.ACLSecret
		}
		store := idempotency.New(idempotency.Config{Backend: db.Client, TTL: d.cfg.IdempotencyTTL, Lease: d.cfg.IdempotencyLease, Secret: secret})
		d.idem[db.Name] = store
		// a scope's ACL user may write its own run keys (the fences of its
		// keyed requests), nothing else of the store's prefix
		u := acl.New(acl.Config{Admin: db.Client, Open: db.OpenScoped, OpenRESP2: db.OpenRESP2, Secret: db.ACLSecret, Logger: logger.With("db", db.Name), FencePrefix: store.FencePrefix()})
		d.users[db.Name] = u
		metrics.watchScopes(db.Name, u.Stats)
		d.onClose = append(d.onClose, func() { u.Close() })
		own := &lazyBackend{db: db.Name, open: db.OpenRESP2}
		d.resp2[db.Name] = own
		metrics.watchRESP2(db.Name, own.stats)
		d.syncs[db.Name] = &syncTracker{}
		d.onClose = append(d.onClose, own.close)
		d.tails[db.Name] = make(chan struct{}, d.cfg.MaxStreamTails)
	}
	d.onClose = append(d.onClose, flushFailures)
	sort.Slice(d.names, func(i, j int) bool { return dbLess(d.names[i], d.names[j]) })
	metrics.watch(dbs)
	r := chi.NewRouter()
	addRoutes(r, d)
	return &Server{Handler: withRequestContext(r), d: d, mux: r}
}

// dbLess orders numbered databases numerically, before named ones.
func dbLess(a, b string) bool {
	na, ea := atoiStrict(a)
	nb, eb := atoiStrict(b)
	switch {
	case ea && eb:
		return na < nb
	case ea != eb:
		return ea
	}
	return a < b
}

func atoiStrict(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

type ctxKey int

const ctxState ctxKey = iota

// reqState is what the middleware learns about a request, stored in its
// context once (by front) and filled in place by later middleware,
// so that each step does not copy the request to add one value.
type reqState struct {
	sw    statusWriter // the observing middleware's writer, allocated with the state
	id    string
	idHdr [1]string    // X-Request-Id's header value, allocated with the state
	hdrs  replyHeaders // ETag's and Content-Length's header values (replyEncoder.send)
	query url.Values   // parsed once, by queryOf
	db    *Database    // set by withDatabase
	p     *principal   // set by authenticate
	sync  *syncState   // set by syncTokens, to syncMem
	// syncMem and syncW are syncTokens' state and writer, allocated with
	// the request state.
	syncMem syncState
	syncW   syncWriter
	// failure is the last error written for the request (by writeError
	// or upstashError), read by the idempotency middleware.
	failure *apiError
	// fence is the run key fence of a keyed request (set by the
	// idempotency middleware; see fencedContext).
	fence *client.Fence
}

// stateOf returns the request's state, or an empty one outside the router.
func stateOf(ctx context.Context) *reqState {
	if st, ok := ctx.Value(ctxState).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// queryOf returns the request's query parameters, parsed once per request
// (r.URL.Query parses the raw query again at every call).
func queryOf(r *http.Request) url.Values {
	st, ok := r.Context().Value(ctxState).(*reqState)
	if !ok {
		return r.URL.Query()
	}
	if st.query == nil && r.URL.RawQuery != "" {
		st.query = r.URL.Query() // (no query: nil, which reads as empty)
	}
	return st.query
}

// RequestID returns the request's ID ("" when none was assigned).
func RequestID(ctx context.Context) string { return stateOf(ctx).id }

// requestContext is the context every request runs under: its parent's,
// plus the gateway's request state and chi's route context, in one
// allocation. chi uses a route context it finds instead of making its own
// (a context.WithValue and a request copy), and the state needs no
// context.WithValue either: together three allocations fewer per request.
type requestContext struct {
	context.Context
	st   reqState
	rctx *chi.Context // from routeContexts, as chi pools its own
}

// routeContexts recycles chi route contexts (their slices keep their
// capacity), as chi's Mux does with the ones it makes itself. Only the
// route context is recycled: the request state lives as long as anything
// holds the request's context.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// Value answers the request state's and chi's keys itself.
func (c *requestContext) Value(key any) any {
	switch key {
	case ctxState:
		return &c.st
	case chi.RouteCtxKey:
		return c.rctx
	}
	return c.Context.Value(key)
}

// withRequestContext runs mux under a new requestContext.
func withRequestContext(mux *chi.Mux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := routeContexts.Get().(*chi.Context)
		rctx.Reset()
		rctx.Routes = mux
		c := &requestContext{Context: r.Context(), rctx: rctx}
		mux.ServeHTTP(w, r.WithContext(c))
		routeContexts.Put(rctx)
	})
}

// requestID returns the client's X-Request-ID when it is sane, or a new
// random one.
func requestID(r *http.Request) string {
	var id string
	if v := r.Header["X-Request-Id"]; len(v) > 0 { // canonical key: no Header.Get canonicalisation
		id = v[0]
	}
	if !saneID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	return id
}

func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// front is the outermost middleware, the work of four in one layer:
//
//   - it takes X-Request-ID from the client when it is sane, or makes one,
//     and echoes it in the response and the request state (made here when
//     the router runs outside a requestContext);
//   - it makes chi match on the escaped path, so that %2F stays inside a
//     path segment (handlers read segments with pathParam);
//   - it turns a handler panic into a 500 problem, once; a deliberate abort
//     (http.ErrAbortHandler) is re-panicked;
//   - it wraps the writer once to learn the status and size, then records
//     the request in the metrics and writes one access-log line: request
//     ID, method, route pattern (not the path: keys stay out of logs and
//     label values), status, size, duration. A request whose handler
//     panicked is recorded with the status it was answered with.
func front(logger *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			st, ok := r.Context().Value(ctxState).(*reqState)
			if !ok {
				st = &reqState{}
				r = r.WithContext(context.WithValue(r.Context(), ctxState, st))
			}
			st.id = requestID(r)
			st.idHdr[0] = st.id
			w.Header()["X-Request-Id"] = st.idHdr[:]
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RoutePath = r.URL.EscapedPath()
			}
			sw := &st.sw
			*sw = statusWriter{ResponseWriter: w}
			serveRecovering(next, sw, r, logger)
			observeRequest(logger, m, r, sw, start)
		})
	}
}

// serveRecovering runs next, and answers a panic in it with a 500
// INTERNAL problem (the panic value is logged, not sent), unless the request was a protocol upgrade; it re-panics
// http.ErrAbortHandler.
func serveRecovering(next http.Handler, w http.ResponseWriter, r *http.Request, logger *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.Error("handler panicked", "req_id", RequestID(r.Context()), "err", fmt.Sprint(v))
			if r.Header.Get("Connection") != "Upgrade" {
				// a 500 INTERNAL, said so: an error classify does not know
				// would read as a lost Redis connection (502 CONNECTION_LOST)
				writeError(w, r, logger, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}
	}()
	next.ServeHTTP(w, r)
}

// errorWriter renders an error in the format of one surface of the API.
type errorWriter func(w http.ResponseWriter, r *http.Request, err error)

// problem renders err as problem+json (the REST surface).
func (d *deps) problem(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, d.logger, err)
}

// withDatabase resolves {db} to its *Database, or answers 404
// UNKNOWN_DATABASE.
func withDatabase(d *deps) func(http.Handler) http.Handler { return withDatabaseWith(d, d.problem) }

// withDatabaseWith is withDatabase with failures rendered by fail.
func withDatabaseWith(d *deps, fail errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, err := url.PathUnescape(chi.URLParam(r, "db"))
			db, ok := d.dbs[name]
			if err != nil || !ok {
				fail(w, r, errorf(http.StatusNotFound, CodeUnknownDatabase, "no database named %q is configured; GET /databases lists them", name))
				return
			}
			if !allowedDatabase(r, name) {
				fail(w, r, errorf(http.StatusForbidden, CodeForbiddenDatabase, "this token may not use database %q", name))
				return
			}
			stateOf(r.Context()).db = db
			next.ServeHTTP(w, r)
		})
	}
}

// database returns the request's database (set by withDatabase).
func database(r *http.Request) *Database {
	return stateOf(r.Context()).db
}

// pathParam returns a path parameter unescaped exactly once. With
// ?key_encoding=base64 the segment is base64 (standard or URL alphabet)
// and is decoded too, so keys may hold any bytes.
func pathParam(r *http.Request, name string) (string, error) {
	raw := chi.URLParam(r, name)
	s, err := url.PathUnescape(raw)
	if err != nil {
		return "", errValidation("a path segment is not validly escaped", FieldError{Field: name, Message: "has an invalid %-escape"})
	}
	switch queryOf(r).Get("key_encoding") {
	case "", "utf8":
		return s, nil
	case "base64":
		b, err := decodeBase64(s)
		if err != nil {
			return "", errValidation("a path segment is not valid base64", FieldError{Field: name, Message: "is not valid base64 (the request asked for key_encoding=base64)"})
		}
		return string(b), nil
	}
	return "", errValidation("unknown key encoding", FieldError{Field: "key_encoding", Message: "must be utf8 or base64"})
}

// commandContext bounds one command (or pipeline) by the command timeout,
// plus the blocking time of a blocking command. A blocking command of a
// token below admin takes one of the token's blocking slots on the
// database until cancel; over Config.MaxBlockingPerToken it fails with 503
// POOL_TIMEOUT before anything is sent, so that one token cannot hold
// every blocking connection of a database.
func (d *deps) commandContext(ctx context.Context, cmds ...[]string) (context.Context, context.CancelFunc, error) {
	ctx = fencedContext(d.syncContext(ctx, cmds...))
	for _, args := range cmds {
		if _, ok := client.BlockingTimeout(args); ok {
			release, err := d.blockers.hold(ctx, d.cfg.MaxBlockingPerToken)
			if err != nil {
				return nil, nil, err
			}
			c, cancel := d.timeoutContext(ctx, cmds...)
			return c, func() { cancel(); release() }, nil
		}
	}
	c, cancel := d.timeoutContext(ctx, cmds...)
	return c, cancel, nil
}

// fencedContext attaches the request's fence (set by the idempotency
// middleware for a keyed request) to ctx, so that the request's commands
// run fenced (client.WithFence); without one it returns ctx. Only the
// calls that run the request's commands take it: lookups of the gateway's
// own (COMMAND INFO, replication offsets, ACL users) do not.
func fencedContext(ctx context.Context) context.Context {
	if f := stateOf(ctx).fence; f != nil {
		return client.WithFence(ctx, f)
	}
	return ctx
}

// timeoutContext is commandContext without the blocking slots.
func (d *deps) timeoutContext(ctx context.Context, cmds ...[]string) (context.Context, context.CancelFunc) {
	timeout := d.cfg.CommandTimeout
	for _, args := range cmds {
		if block, ok := client.BlockingTimeout(args); ok {
			if block == 0 {
				return context.WithCancel(ctx) // blocks until data or the client leaves
			}
			timeout += block
		}
	}
	return context.WithTimeout(ctx, timeout)
}

// do runs one command on the request's database with the command timeout
// and returns the shaped reply.
func (d *deps) do(r *http.Request, args ...string) (any, error) {
	b, err := d.prepare(r, args)
	if err != nil {
		return nil, err
	}
	if td, ok := b.(timedDoer); ok && !client.IsBlocking(args) {
		// The client owns the deadline: no context timer per command.
		return td.DoWithin(fencedContext(d.syncContext(r.Context(), args)), d.cfg.CommandTimeout, args...)
	}
	ctx, cancel, err := d.commandContext(r.Context(), args)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return b.Do(ctx, args...)
}

// respondCommand runs a command and writes {"result": …}: through
// client.DoVisit, encoding the reply while it is read, when the backend
// can and the reply is shaped generically (raw, or a command without a
// callback); otherwise through the callbacks (Do) or the generic
// conversion (DoGeneric). Both give the same JSON; the visit never holds
// the reply as values, which keeps a 100,000-key MGET's memory a small
// multiple of its body.
func (d *deps) respondCommand(w http.ResponseWriter, r *http.Request, raw bool, args []string) {
	b, err := d.prepare(r, args)
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	if vw, ok := b.(visitWithin); ok && (raw || vw.GenericReply(args)) && !client.IsBlocking(args) {
		// the client owns the deadline: no context timer per command
		respondWith(w, r, d.logger, http.StatusOK, `{"result":`, "}", func(e *valueEncoder) error {
			return vw.DoVisitWithin(fencedContext(d.syncContext(r.Context(), args)), d.cfg.CommandTimeout, &replyVisitor{e: e}, args...)
		})
		return
	}
	ctx, cancel, err := d.commandContext(r.Context(), args)
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	defer cancel()
	vb, ok := b.(client.Visiting)
	if !ok || !(raw || vb.GenericReply(args)) {
		var v any
		if raw {
			v, err = b.DoGeneric(ctx, args...)
		} else {
			v, err = b.Do(ctx, args...)
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"result":`, v)
		return
	}
	respondWith(w, r, d.logger, http.StatusOK, `{"result":`, "}", func(e *valueEncoder) error {
		return vb.DoVisit(ctx, &replyVisitor{e: e}, args...)
	})
}

// transaction runs commands in MULTI/EXEC after WATCH on the request's
// database.
//
// When pv is not nil and the backend can (client.TransactionVisit), the
// replies go to pv while they are read, visited reports it, and the
// Results are nil.
func (d *deps) transaction(r *http.Request, watch []string, cmds [][]string, pv client.PipeVisitor) (res []client.Result, visited bool, err error) {
	b, err := d.prepare(r, cmds...)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel, err := d.commandContext(r.Context(), cmds...)
	if err != nil {
		return nil, false, err
	}
	defer cancel()
	// Redis discards a transaction holding an unknown command (EXECABORT);
	// refusing it here gives every server that answer, the embedded one
	// included, before anything is sent
	for _, args := range cmds {
		if ci, err := database(r).Client.CommandInfo(ctx, args); err == nil && !ci.Known {
			return nil, false, errorf(http.StatusBadRequest, "EXECABORT", "EXECABORT Transaction discarded because of previous errors: unknown command %q; nothing ran", args[0])
		}
	}
	if tv, ok := b.(txVisiting); ok && pv != nil {
		return nil, true, tv.TransactionVisit(ctx, watch, cmds, pv)
	}
	res, err = b.Transaction(ctx, watch, cmds)
	return res, false, err
}

// timedDoer is a backend that applies a command timeout itself
// (client.Client.DoWithin).
type timedDoer interface {
	DoWithin(ctx context.Context, timeout time.Duration, args ...string) (any, error)
}

// visitWithin is a backend that visits replies under a command timeout
// it applies itself (client.Client.DoVisitWithin).
type visitWithin interface {
	GenericReply(args []string) bool
	DoVisitWithin(ctx context.Context, timeout time.Duration, vis client.Visitor, args ...string) error
}

// txVisiting is a backend that streams a transaction's replies.
type txVisiting interface {
	TransactionVisit(ctx context.Context, watch []string, cmds [][]string, pv client.PipeVisitor) error
}

// runDefault runs a command shaped by the default callbacks (not the
// database's overrides), for replies the gateway itself reads.
func (d *deps) runDefault(r *http.Request, args ...string) (any, error) {
	b, err := d.prepare(r, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := d.commandContext(r.Context(), args)
	if err != nil {
		return nil, err
	}
	defer cancel()
	v, err := b.DoRaw(ctx, args...)
	if err != nil {
		return nil, err
	}
	return d.defaults.Shape(v, client.OptionsFor(args))
}

// pipe runs commands as one pipeline on the request's database.
func (d *deps) pipe(r *http.Request, cmds [][]string) ([]client.Result, error) {
	b, err := d.prepare(r, cmds...)
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := d.commandContext(r.Context(), cmds...)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return b.Pipe(ctx, cmds)
}
