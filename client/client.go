package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Types re-exported so that callers (the HTTP layer) need not import the
// lower packages.
type (
	// Value is a raw RESP reply; see resp.Value.
	Value = resp.Value
	// Error is a Redis error reply; see resp.Error.
	Error = resp.Error
	// Map is an ordered JSON object produced by callbacks.
	Map = callbacks.Map
	// Entry is one key/value pair of a Map.
	Entry = callbacks.Entry
	// Number is a number written into JSON verbatim (RESP3 big numbers).
	Number = callbacks.Number
	// Func is a response callback; see callbacks.Func.
	Func = callbacks.Func
	// Options are the options passed to a response callback.
	Options = callbacks.Options
	// Registry is a table of response callbacks; see callbacks.Registry.
	Registry = callbacks.Registry
	// PoolStats is a snapshot of a connection pool's counters.
	PoolStats = pool.Stats
	// PoolConfig configures a connection pool; see pool.Config.
	PoolConfig = pool.Config
)

// Errors re-exported from the pool.
var (
	// ErrPoolTimeout: no connection became free within the pool timeout.
	ErrPoolTimeout = pool.ErrPoolTimeout
	// ErrClosed: the client (its pool) is closed.
	ErrClosed = pool.ErrClosed
	// ErrProtocol: the server sent bytes that are not valid RESP.
	ErrProtocol = resp.ErrProtocol
	// ErrLimit: a reply exceeded the configured limits.
	ErrLimit = resp.ErrLimit
)

// ParseURL parses a redis://, rediss:// or unix:// URL into a pool
// configuration; see pool.ParseURL.
func ParseURL(raw string) (PoolConfig, error) { return pool.ParseURL(raw) }

// CallbackByName returns the named response callback ("raw", "bool",
// "float", "object", "pairs", "info"…) for per-database overrides.
func CallbackByName(name string) (Func, bool) { return callbacks.ByName(name) }

// DefaultCallbacks returns a fresh copy of the default callback table, for
// shaping replies the same way whatever a database's overrides are.
func DefaultCallbacks() *Registry { return callbacks.Default() }

// CallbackNames lists the names [CallbackByName] accepts.
func CallbackNames() []string { return callbacks.Names() }

// Config configures a [Client]. A zero field means the default stated in
// its comment.
type Config struct {
	// Pool configures the connections: address, credentials, database,
	// pool size and timeouts.
	Pool pool.Config
	// Callbacks is the callback table the client starts from (the
	// "class-level" table). The client takes its own copy, so later
	// changes to either do not affect the other. Default
	// callbacks.Default().
	Callbacks *callbacks.Registry
	// MaxBlocking bounds the connections used at once by blocking
	// commands (BLPOP, XREAD BLOCK, WAIT…), which get their own pool so
	// they never hold up other commands. Over the bound, a blocking
	// command waits up to the pool timeout and then fails with
	// ErrPoolTimeout. Default 16.
	MaxBlocking int
	// Observe, when set, is called after every command with its upper-case
	// name, how long it took and its error (nil, a *Error, or a transport
	// error). It must be fast and safe for concurrent use; metrics use it.
	Observe func(cmd string, d time.Duration, err error)
	// Logger receives debug events. Default: discard.
	Logger *slog.Logger
	// AutoPipeline sends concurrent single commands (Do, DoRaw,
	// DoGeneric) over a few shared connections, many commands per write,
	// instead of a pooled connection each (see autopipe.go for the
	// guarantees). Blocking commands, scripts, DEBUG and KEYS, pipelines,
	// transactions and pub/sub keep using their own connections. Off by
	// default.
	AutoPipeline bool
	// AutoPipelineConns is the number of shared connections. Default 2.
	AutoPipelineConns int
	// AutoPipelineMinBusy, when above 0, makes auto-pipelining adaptive:
	// a command takes the shared connections only while at least this
	// many other quick commands are in flight (on pooled connections or
	// on the shared ones); below, it takes a pooled connection itself. At
	// low concurrency nothing would be batched, and a command's own
	// connection answers sooner (no hand over to writer and reader
	// goroutines); under load the commands in flight pass the bound and
	// the rest are batched. Counting the shared commands too keeps a load
	// that has started batching on the shared connections: commands
	// waiting there for their batch stay in the count, where counting
	// pooled ones alone sent every command that arrived while the pooled
	// connections happened to be empty back to a connection of its own.
	// For the same reason a command also joins the shared connections
	// while the last batch written carried at least this many commands,
	// whatever is in flight at that moment; the next smaller batch ends
	// that.
	AutoPipelineMinBusy int
	// AutoPipelineHealthTimeout is how long a shared connection may leave
	// a command without a reply, or a write unfinished, before it is
	// declared dead and replaced (every command written on it fails; those
	// that did not reach the network whole as not sent). Default 10s. A
	// command slower than this must not be auto-pipelined.
	AutoPipelineHealthTimeout time.Duration
	// ObserveBatch, when set, is called by each auto-pipelined connection
	// with the number of commands it wrote in one flush (metrics export it
	// as a histogram). It must be fast and safe for concurrent use.
	ObserveBatch func(n int)
}

// Client runs commands against one Redis database through a pool of
// connections. It is safe for concurrent use by many goroutines: a
// connection is taken from the pool only while a command runs and is
// returned right after. Its state (pool and callback table) never changes
// as a side effect of running commands; [Client.SetResponseCallback] is
// the only mutator and is safe to call while commands run.
//
// Pipelines, transactions and pub/sub get their own objects
// ([Client.Pipeline], [Client.Transaction], [Client.PubSub]).
type Client struct {
	pool     *pool.Pool
	blocking *pool.Pool
	reg      *callbacks.Registry
	observe  func(string, time.Duration, error)
	logger   *slog.Logger
	infos    commandInfoCache
	ap       *autoPipe    // nil unless Config.AutoPipeline
	minBusy  int32        // Config.AutoPipelineMinBusy
	busy     atomic.Int32 // quick commands in flight now, pooled or shared (with ap only)
}

// New returns a Client for cfg. It does not dial: connections are made on
// first use (or in the background for Pool.MinIdle), so New succeeds while
// Redis is down and the client recovers by itself once it is up.
func New(cfg Config) (*Client, error) {
	if cfg.MaxBlocking <= 0 {
		cfg.MaxBlocking = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Pool.Logger == nil {
		cfg.Pool.Logger = cfg.Logger
	}
	reg := callbacks.Own(cfg.Callbacks)
	p, err := pool.New(cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	bcfg := cfg.Pool
	bcfg.PoolSize = cfg.MaxBlocking
	bcfg.MinIdle = 0
	bcfg.MaxIdle = 0
	bp, err := pool.New(bcfg)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("client: blocking pool: %w", err)
	}
	c := &Client{pool: p, blocking: bp, reg: reg, observe: cfg.Observe, logger: cfg.Logger}
	if cfg.AutoPipeline {
		n := cfg.AutoPipelineConns
		if n <= 0 {
			n = 2
		}
		health := cfg.AutoPipelineHealthTimeout
		if health <= 0 {
			health = 10 * time.Second
		}
		logger := cfg.Logger
		c.ap = newAutoPipe(p, n, health, func(msg string, err error) { logger.Debug(msg, "err", err) })
		c.ap.observeBatch(cfg.ObserveBatch)
		c.minBusy = int32(max(cfg.AutoPipelineMinBusy, 0))
	}
	return c, nil
}

// SetResponseCallback sets the callback that shapes replies to cmd
// ("HGETALL", or "CONFIG GET" for a subcommand) for this client only; other
// clients built from the same table are not affected. A nil fn restores the
// generic conversion. It is safe to call while other goroutines run
// commands: they see either the old or the new callback.
func (c *Client) SetResponseCallback(cmd string, fn Func) { c.reg.Set(cmd, fn) }

// Do runs one command and returns its reply shaped by the response
// callbacks (see package callbacks for the value types). A Redis error
// reply is returned as a *Error; a refused command wraps
// ErrForbiddenCommand; a transport failure is returned wrapped, with
// context errors (context.DeadlineExceeded, context.Canceled) kept for
// errors.Is.
func (c *Client) Do(ctx context.Context, args ...string) (any, error) {
	v, err := c.DoRaw(ctx, args...)
	if err != nil {
		return nil, err
	}
	return c.Shape(v, args)
}

// DoGeneric runs one command and converts its reply with the generic
// conversion, skipping the callback table (the "raw" view).
func (c *Client) DoGeneric(ctx context.Context, args ...string) (any, error) {
	v, err := c.DoRaw(ctx, args...)
	if err != nil {
		return nil, err
	}
	return callbacks.Generic(v), nil
}

// Shape applies this client's response callback for args to a raw reply.
func (c *Client) Shape(v Value, args []string) (any, error) {
	return c.reg.Shape(v, OptionsFor(args))
}

// OptionsFor derives callback options from a command: WithScores is set
// when the arguments hold a WITHSCORES token.
func OptionsFor(args []string) Options {
	return Options{Args: args, WithScores: len(args) > 1 && hasToken(args, "WITHSCORES")}
}

// DoRaw runs one command and returns the unshaped reply. A Redis error
// reply is returned both as the Value and as a *Error. A failure before
// anything was written matches [ErrNotSent]; any other transport failure
// may come after the command reached Redis.
func (c *Client) DoRaw(ctx context.Context, args ...string) (Value, error) {
	if err := CheckCommand(args); err != nil {
		return Value{}, err
	}
	return c.doRaw(ctx, args, c.shared(args), time.Time{})
}

// shared reports whether args go over the auto-pipelined connections now.
func (c *Client) shared(args []string) bool {
	return c.ap != nil && autoPipelinable(args) && (c.minBusy == 0 || c.busy.Load() >= c.minBusy || c.ap.batching(c.minBusy))
}

// doRaw is DoRaw over the shared connections or a pooled one. deadline,
// when not zero, bounds a shared command's wait (a pooled command's
// deadline is in ctx).
func (c *Client) doRaw(ctx context.Context, args []string, shared bool, deadline time.Time) (Value, error) {
	if f, err := fenceFor(ctx, args); err != nil {
		return Value{}, fmt.Errorf("client: %s: %w", upper(args[0]), err)
	} else if f != nil {
		ctx, cancel := withDeadline(ctx, deadline)
		defer cancel()
		return c.fencedRaw(ctx, f, args)
	}
	if shared {
		return c.doAutoPipelined(ctx, args, deadline)
	}
	start := time.Now()
	p, cn, err := c.conn(ctx, args, start)
	if err != nil {
		return Value{}, err
	}
	var v Value
	if quick(args) {
		// A socket deadline alone: no cancellation watch, whose
		// allocations and wakeups cost more than a quick command.
		if c.ap != nil {
			c.busy.Add(1)
		}
		bounded := cn.Bound(ctx)
		v, err = exchange(cn, args)
		err = keepOutcome(err, cn.Unbound(ctx, bounded, err))
		if c.ap != nil {
			c.busy.Add(-1)
		}
	} else {
		done := cn.Watch(ctx)
		v, err = exchange(cn, args)
		if werr := done(); werr != nil && err != nil {
			err = keepOutcome(err, werr) // the cancellation explains the I/O error
		}
	}
	p.Put(cn, err)
	return c.finish(args, start, v, err)
}

// quick reports commands that answer at once (not blocking, not scripts,
// functions, DEBUG or KEYS: those autoPipelinable refuses too). On a pooled
// connection they run under the context's deadline without a watch for
// its cancellation: a caller who leaves waits out microseconds, not a
// command that may run for seconds.
func quick(args []string) bool { return autoPipelinable(args) }

// conn takes a pooled connection for args (from the blocking pool for
// blocking commands). A failure is recorded and returned wrapped as a
// command that was not sent.
func (c *Client) conn(ctx context.Context, args []string, start time.Time) (*pool.Pool, *pool.Conn, error) {
	p := c.pool
	if IsBlocking(args) {
		p = c.blocking
	}
	cn, err := p.Get(ctx)
	if err == nil && ctx.Err() != nil {
		p.Put(cn, nil) // nothing written: the connection is clean
		err = ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("client: %s: %w", upper(args[0]), notSent(err))
		c.observed(args, start, err)
		return nil, nil, err
	}
	return p, cn, nil
}

// finish records a command's outcome and returns it as DoRaw does: a
// transport error wrapped with the command name, a Redis error reply both
// as the Value and as a *Error.
func (c *Client) finish(args []string, start time.Time, v Value, err error) (Value, error) {
	if err != nil {
		err = fmt.Errorf("client: %s: %w", upper(args[0]), err)
		c.observed(args, start, err)
		return Value{}, err
	}
	rerr := v.Err()
	c.observed(args, start, rerr)
	if rerr != nil {
		return v, rerr
	}
	return v, nil
}

func (c *Client) observed(args []string, start time.Time, err error) {
	if c.observe != nil {
		c.observe(commandName(args), time.Since(start), err)
	}
}

// commandName returns the upper-case command name, with the subcommand for
// container commands ("CONFIG GET").
func commandName(args []string) string {
	name := upper(args[0])
	if len(args) > 1 {
		switch name {
		case "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "FUNCTION", "LATENCY",
			"MEMORY", "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XINFO", "XGROUP":
			return name + " " + upper(args[1])
		}
	}
	return name
}

// exchange writes one command and reads its reply. The returned error is a
// transport error only: a Redis error reply comes back as a Value.
//
// A failed write is marked [ErrNotSent] when the command did not reach the
// network whole.
func exchange(cn *pool.Conn, args []string) (Value, error) {
	if err := writeOne(cn, args); err != nil {
		return Value{}, err
	}
	return readReply(cn)
}

// readReply reads the next reply, skipping RESP3 push frames (which a
// pooled connection only sees if the server sends out-of-band data).
func readReply(cn *pool.Conn) (Value, error) {
	for {
		v, err := cn.Read()
		if err != nil {
			return Value{}, err
		}
		if v.Kind != resp.Push {
			return v, nil
		}
	}
}

// Ping runs PING and reports an error when Redis does not answer.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.DoRaw(ctx, "PING")
	return err
}

// Stats returns a snapshot of the main connection pool's counters.
func (c *Client) Stats() PoolStats { return c.pool.Stats() }

// BlockingStats returns a snapshot of the counters of the pool used by
// blocking commands.
func (c *Client) BlockingStats() PoolStats { return c.blocking.Stats() }

// PoolConfig returns the pool configuration in effect (defaults applied).
func (c *Client) PoolConfig() PoolConfig { return c.pool.Config() }

// Close closes the client's pools. Commands in flight finish; later ones
// fail with ErrClosed.
func (c *Client) Close() error {
	if c.ap != nil {
		c.ap.close()
	}
	return errors.Join(c.pool.Close(), c.blocking.Close())
}

// withDeadline is ctx bounded by deadline, for a command that was to take
// the shared connections under it (doRaw's deadline) but runs elsewhere.
func withDeadline(ctx context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return ctx, noCancel
	}
	return context.WithDeadline(ctx, deadline)
}

// doAutoPipelined is DoRaw over the shared connections, waiting until
// deadline at most (zero: ctx alone bounds the wait). It counts in busy
// like a quick pooled command, so that the adaptive bound sees every
// command in flight: once commands are batched they stay batched while
// the load lasts, instead of falling back to pooled connections as soon
// as the pooled ones empty.
func (c *Client) doAutoPipelined(ctx context.Context, args []string, deadline time.Time) (Value, error) {
	start := time.Now()
	if c.minBusy > 0 {
		c.busy.Add(1)
	}
	v, err := c.ap.doUntil(ctx, args, deadline)
	if c.minBusy > 0 {
		c.busy.Add(-1)
	}
	if err != nil && v.Kind != 0 {
		err = nil // a Redis error reply: finish reports it from v
	}
	return c.finish(args, start, v, err)
}

// autoPipelinable reports commands that may share a connection: not
// blocking ones, not those that may run long (MayRunLong), and not those
// whose arguments exceed one batch's bound (apBytes, 1 MiB): either would
// hold up every command queued behind them, the last while its write
// alone crosses the network.
func autoPipelinable(args []string) bool {
	return !IsBlocking(args) && !MayRunLong(args) && argBytes(args) <= apBytes
}

// longRangeSpan is the widest index range (stop − start) that a range
// read may ask for and still count as quick.
const longRangeSpan = 1000

// MayRunLong reports commands whose cost is not bounded by their
// arguments, so that Redis may spend milliseconds or more on them: scripts
// and functions, DEBUG, KEYS, SORT, whole-collection reads (SMEMBERS,
// HGETALL, HKEYS, HVALS), set algebra (SUNION, SINTER, SDIFF and their
// sorted-set forms, *STORE included), FLUSHDB/FLUSHALL, SAVE, MIGRATE;
// index ranges wider than 1000 or open-ended (LRANGE k 0 -1, ZRANGE k 0 -1),
// score and lex ranges without LIMIT, XRANGE/XREVRANGE without COUNT; and
// any command of more than 1000 arguments. They keep using the pool when
// auto-pipelining is on (they would delay every command queued behind
// them on a shared connection), and keep the cancellation watch (a caller
// who leaves interrupts them).
func MayRunLong(args []string) bool {
	if len(args) > 1000 {
		return true
	}
	switch upper(args[0]) {
	case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "DEBUG", "KEYS", "SCRIPT", "FUNCTION",
		"SORT", "SORT_RO", "SMEMBERS", "HGETALL", "HKEYS", "HVALS",
		"SUNION", "SINTER", "SDIFF", "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE", "SINTERCARD",
		"ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD",
		"FLUSHDB", "FLUSHALL", "SAVE", "MIGRATE":
		return true
	case "LRANGE", "ZREVRANGE":
		return len(args) < 4 || wideRange(args[2], args[3])
	case "ZRANGE":
		if len(args) < 4 {
			return true
		}
		if hasToken(args[3:], "BYSCORE") || hasToken(args[3:], "BYLEX") {
			return !hasToken(args[3:], "LIMIT")
		}
		return wideRange(args[2], args[3])
	case "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZRANGESTORE":
		return len(args) < 4 || !hasToken(args[3:], "LIMIT")
	case "XRANGE", "XREVRANGE":
		return len(args) < 4 || !hasToken(args[3:], "COUNT")
	}
	return false
}

// wideRange reports an index range over longRangeSpan elements, or one
// that counts from the end (its size is unknown).
func wideRange(start, stop string) bool {
	a, err1 := strconv.ParseInt(start, 10, 64)
	b, err2 := strconv.ParseInt(stop, 10, 64)
	if err1 != nil || err2 != nil {
		return false // Redis refuses it at once
	}
	if a < 0 || b < 0 {
		return true
	}
	return b-a > longRangeSpan
}

// IsTransport reports whether err is a failure to reach or talk to Redis
// (dial, I/O, protocol), as opposed to a Redis error reply, a refused
// command, a pool timeout or a context error.
func IsTransport(err error) bool {
	if err == nil {
		return false
	}
	var re *Error
	switch {
	case errors.As(err, &re),
		errors.Is(err, ErrForbiddenCommand),
		errors.Is(err, ErrEmptyCommand),
		errors.Is(err, ErrPoolTimeout),
		errors.As(err, new(*callbacks.ShapeError)),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}
