package pool

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Pool is a bounded pool of connections to one Redis database. It is safe
// for concurrent use.
//
// At most Config.PoolSize connections are open at once (idle or in use).
// [Pool.Get] reuses the most recently returned idle connection (LIFO, so
// surplus connections age out), skipping ones that are too old, idle too
// long or closed by the server, and dials when none is idle. When all are
// in use it waits up to Config.PoolTimeout, then fails with
// [ErrPoolTimeout]. [Pool.Put] returns a connection, closing it instead
// when it may hold unread data or broke.
type Pool struct {
	cfg    Config
	slots  chan struct{} // one token per open connection, PoolSize cap
	logger *slog.Logger

	mu     sync.Mutex
	idle   []*Conn
	closed bool

	hits, misses, timeouts, waits, stale atomic.Uint64
	waitNanos                            atomic.Int64
	total                                atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup
}

// withDefaults fills zero fields with their documented defaults.
func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = "tcp"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.Protocol == 0 {
		c.Protocol = 3
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 10 * runtime.GOMAXPROCS(0)
	}
	if c.MaxIdle <= 0 || c.MaxIdle > c.PoolSize {
		c.MaxIdle = c.PoolSize
	}
	if c.MinIdle > c.MaxIdle {
		c.MinIdle = c.MaxIdle
	}
	if c.MaxIdleTime <= 0 {
		c.MaxIdleTime = 30 * time.Minute
	}
	if c.PoolTimeout <= 0 {
		c.PoolTimeout = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Network {
	case "", "tcp", "unix":
	default:
		errs = append(errs, fmt.Errorf("pool: network %q: want tcp or unix", c.Network))
	}
	if c.Protocol != 0 && c.Protocol != 2 && c.Protocol != 3 {
		errs = append(errs, fmt.Errorf("pool: protocol %d: want 2 or 3", c.Protocol))
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("pool: db %d: must not be negative", c.DB))
	}
	if c.PoolSize < 0 || c.MinIdle < 0 || c.MaxIdle < 0 {
		errs = append(errs, errors.New("pool: sizes must not be negative"))
	}
	if c.Network == "unix" && c.TLS != nil {
		errs = append(errs, errors.New("pool: TLS over a unix socket is not supported"))
	}
	for i, args := range c.InitCommands {
		if len(args) == 0 {
			errs = append(errs, fmt.Errorf("pool: init command %d is empty", i))
		}
	}
	return errors.Join(errs...)
}

// String describes c with the password redacted.
func (c Config) String() string {
	c = c.withDefaults()
	scheme := "redis"
	if c.TLS != nil {
		scheme = "rediss"
	}
	user := ""
	if c.Username != "" || c.Password != "" {
		user = c.Username
		if c.Password != "" {
			user += ":xxxxx"
		}
		user += "@"
	}
	if c.Network == "unix" {
		return fmt.Sprintf("unix://%s%s?db=%d", user, c.Addr, c.DB)
	}
	return fmt.Sprintf("%s://%s%s/%d", scheme, user, c.Addr, c.DB)
}

// New returns a pool for cfg. It does not dial (so it succeeds while Redis
// is down); with MinIdle > 0 a background goroutine keeps that many idle
// connections open.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Pool{
		cfg:    cfg,
		slots:  make(chan struct{}, cfg.PoolSize),
		logger: cfg.Logger,
		stop:   make(chan struct{}),
	}
	if cfg.MinIdle > 0 || cfg.MaxIdleTime > 0 {
		p.wg.Add(1)
		go p.maintain()
	}
	return p, nil
}

// Config returns the configuration in effect, defaults applied.
func (p *Pool) Config() Config { return p.cfg }

// Get returns a connection: an idle one when there is a healthy one, else
// a new one. It waits for a free slot up to Config.PoolTimeout
// ([ErrPoolTimeout]) or until ctx ends (ctx's error), and fails with
// [ErrClosed] after Close.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	if err := p.waitTurn(ctx); err != nil {
		return nil, err
	}
	for {
		cn := p.popIdle()
		if cn == nil {
			break
		}
		if p.usable(cn, time.Now()) {
			p.hits.Add(1)
			return cn, nil
		}
		p.stale.Add(1)
		p.closeConn(cn)
	}
	p.misses.Add(1)
	cn, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	cn.pooled = true
	p.total.Add(1)
	return cn, nil
}

// waitTurn takes a slot, waiting as go-redis does: on the slot, ctx, or the
// pool timeout.
func (p *Pool) waitTurn(ctx context.Context) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	start := time.Now()
	p.waits.Add(1)
	defer func() { p.waitNanos.Add(int64(time.Since(start))) }()
	// The context's deadline bounds the wait too, even for a context
	// whose Done does not fire at its deadline (the client's timer-free
	// command deadline).
	wait, byDeadline := p.cfg.PoolTimeout, false
	if dl, ok := ctx.Deadline(); ok {
		if until := time.Until(dl); until < wait {
			wait, byDeadline = max(until, 0), true
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		if byDeadline {
			return context.DeadlineExceeded
		}
		p.timeouts.Add(1)
		return ErrPoolTimeout
	}
}

func (p *Pool) popIdle() *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	cn := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	cn.inPool = false
	return cn
}

// usable reports whether an idle connection may be handed out.
func (p *Pool) usable(cn *Conn, now time.Time) bool {
	if cn.Broken() {
		return false
	}
	if p.cfg.MaxLifetime > 0 && now.Sub(cn.createdAt) >= p.cfg.MaxLifetime {
		return false
	}
	if p.cfg.MaxIdleTime > 0 && now.Sub(cn.usedAt) >= p.cfg.MaxIdleTime {
		return false
	}
	if err := cn.alive(); err != nil {
		p.logger.Debug("pool: idle connection is dead", "addr", p.cfg.Addr, "err", err)
		return false
	}
	return true
}

// Put returns cn after use. err is the outcome of what ran on it: nil or a
// Redis error reply (*resp.Error) lets a clean connection back into the
// pool; anything else (I/O, protocol, timeout, cancellation) closes it, so
// that a reply still on the wire can never reach the next user.
func (p *Pool) Put(cn *Conn, err error) {
	if cn == nil || !cn.pooled {
		if cn != nil {
			cn.Close()
		}
		return
	}
	if !reusable(err) || !cn.clean() ||
		(p.cfg.MaxLifetime > 0 && time.Since(cn.createdAt) >= p.cfg.MaxLifetime) {
		p.stale.Add(1)
		p.release(cn)
		return
	}
	cn.usedAt = time.Now()
	p.mu.Lock()
	if cn.inPool {
		p.mu.Unlock()
		return // put twice: ignore the second
	}
	if p.closed || len(p.idle) >= p.cfg.MaxIdle {
		p.mu.Unlock()
		p.release(cn)
		return
	}
	cn.inPool = true
	p.idle = append(p.idle, cn)
	p.mu.Unlock()
	<-p.slots
}

// reusable applies the go-redis rule: only a clean outcome or a Redis error
// reply leaves the connection in a known state.
func reusable(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, resp.ErrProtocol) || errors.Is(err, resp.ErrLimit) {
		return false
	}
	var re *resp.Error
	return errors.As(err, &re)
}

// release closes a connection taken from the pool and frees its slot.
func (p *Pool) release(cn *Conn) {
	p.closeConn(cn)
	cn.pooled = false
	<-p.slots
}

func (p *Pool) closeConn(cn *Conn) {
	_ = cn.Close()
	p.total.Add(-1)
}

// Dial returns a new handshaken connection that the pool does not count or
// keep: the caller owns it and closes it with [Conn.Close]. Pub/sub uses
// it for its dedicated connection.
func (p *Pool) Dial(ctx context.Context) (*Conn, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return p.dial(ctx)
}

// dial connects and runs the handshake within DialTimeout.
func (p *Pool) dial(ctx context.Context) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, p.cfg.Network, p.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("pool: dial %s: %w", p.cfg.Addr, err)
	}
	if p.cfg.TLS != nil {
		tc := tls.Client(nc, p.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("pool: tls handshake with %s: %w", p.cfg.Addr, err)
		}
		nc = tc
	}
	cn := newConn(nc, p.cfg.Limits)
	done := cn.Watch(ctx)
	err = p.handshake(cn)
	if err == nil {
		err = p.initCommands(cn)
	}
	if werr := done(); werr != nil && err != nil {
		err = werr
	}
	if err != nil {
		cn.Close()
		return nil, fmt.Errorf("pool: handshake with %s: %w", p.cfg.Addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return cn, nil
}

// handshake negotiates the protocol, authenticates, names the connection
// and selects the database, once.
func (p *Pool) handshake(cn *Conn) error {
	cfg := p.cfg
	if cfg.Protocol == 3 {
		args := []string{"HELLO", "3"}
		if cfg.Password != "" {
			user := cfg.Username
			if user == "" {
				user = "default"
			}
			args = append(args, "AUTH", user, cfg.Password)
		}
		if cfg.ClientName != "" {
			args = append(args, "SETNAME", cfg.ClientName)
		}
		v, err := roundTrip(cn, args...)
		if err != nil {
			return err
		}
		if e := v.Err(); e == nil {
			cn.proto = 3
			return p.selectDB(cn)
		} else if re := e.(*resp.Error); !helloUnknown(re) {
			return re
		}
		// An old server without HELLO: fall back to RESP2.
	}
	if cfg.Password != "" {
		args := []string{"AUTH", cfg.Password}
		if cfg.Username != "" {
			args = []string{"AUTH", cfg.Username, cfg.Password}
		}
		if err := okReply(cn, args...); err != nil {
			return err
		}
	}
	if cfg.ClientName != "" {
		if err := okReply(cn, "CLIENT", "SETNAME", cfg.ClientName); err != nil {
			return err
		}
	}
	cn.proto = 2
	return p.selectDB(cn)
}

// initCommands runs Config.InitCommands on a handshaken connection.
func (p *Pool) initCommands(cn *Conn) error {
	for _, args := range p.cfg.InitCommands {
		if err := okReply(cn, args...); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
	}
	return nil
}

func (p *Pool) selectDB(cn *Conn) error {
	if p.cfg.DB == 0 {
		return nil
	}
	return okReply(cn, "SELECT", fmt.Sprint(p.cfg.DB))
}

// helloUnknown reports an error that means the server does not speak HELLO
// (Redis < 6) rather than an authentication failure.
func helloUnknown(e *resp.Error) bool {
	return e.Code == "NOPROTO" || e.Code == "ERR" && strings.Contains(strings.ToLower(e.Msg), "unknown command")
}

func roundTrip(cn *Conn, args ...string) (resp.Value, error) {
	if err := cn.WriteCommand(args...); err != nil {
		return resp.Value{}, err
	}
	if err := cn.Flush(); err != nil {
		return resp.Value{}, err
	}
	return cn.Read()
}

func okReply(cn *Conn, args ...string) error {
	v, err := roundTrip(cn, args...)
	if err != nil {
		return err
	}
	return v.Err()
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	total := int(p.total.Load())
	return Stats{
		Hits:         p.hits.Load(),
		Misses:       p.misses.Load(),
		Timeouts:     p.timeouts.Load(),
		WaitCount:    p.waits.Load(),
		WaitDuration: time.Duration(p.waitNanos.Load()),
		TotalConns:   total,
		IdleConns:    idle,
		InUse:        max(total-idle, 0),
		StaleConns:   p.stale.Load(),
	}
}

// Close closes the idle connections and makes later Gets fail with
// [ErrClosed]. Connections in use are closed when they are returned. It
// waits for the background maintenance goroutine.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	// p.cfg is read without the lock by dials in flight: leave it alone;
	// Put sees p.closed and closes what comes back.
	p.mu.Unlock()
	close(p.stop)
	for _, cn := range idle {
		p.closeConn(cn)
	}
	p.wg.Wait()
	return nil
}

// maintain closes idle connections past MaxIdleTime and keeps MinIdle open.
func (p *Pool) maintain() {
	defer p.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			p.logger.Error("pool: maintenance panicked", "err", fmt.Sprint(r))
		}
	}()
	interval := min(p.cfg.MaxIdleTime/2, time.Second)
	if interval <= 0 {
		interval = time.Second
	}
	if p.cfg.MinIdle > 0 {
		interval = min(interval, 100*time.Millisecond)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.reapIdle()
		p.fillIdle()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *Pool) reapIdle() {
	now := time.Now()
	p.mu.Lock()
	var dead []*Conn
	keep := p.idle[:0]
	for _, cn := range p.idle {
		if now.Sub(cn.usedAt) >= p.cfg.MaxIdleTime || (p.cfg.MaxLifetime > 0 && now.Sub(cn.createdAt) >= p.cfg.MaxLifetime) {
			cn.inPool = false
			dead = append(dead, cn)
			continue
		}
		keep = append(keep, cn)
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
	p.mu.Unlock()
	for _, cn := range dead {
		p.stale.Add(1)
		p.closeConn(cn)
	}
}

// fillIdle dials until MinIdle connections are idle (if slots allow).
func (p *Pool) fillIdle() {
	for {
		p.mu.Lock()
		need := !p.closed && len(p.idle) < p.cfg.MinIdle
		p.mu.Unlock()
		if !need {
			return
		}
		select {
		case p.slots <- struct{}{}:
		default:
			return // all slots busy: nothing to top up
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.DialTimeout)
		cn, err := p.dial(ctx)
		cancel()
		if err != nil {
			<-p.slots
			p.logger.Debug("pool: min idle dial failed", "addr", p.cfg.Addr, "err", err)
			return
		}
		cn.pooled = true
		p.total.Add(1)
		p.Put(cn, nil)
	}
}
