package sentinel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/background"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Config configures a [Client]. A zero field means the default stated in
// its comment.
type Config struct {
	// Sentinels are the sentinels' addresses (host:port). Required.
	Sentinels []string
	// MasterName is the name the sentinels monitor the primary under.
	// Required.
	MasterName string
	// Pool is the template for the primary's connection pool:
	// credentials, database, sizes, timeouts. Addr is replaced by the
	// primary's address.
	Pool pool.Config
	// SentinelUsername and SentinelPassword authenticate to the
	// sentinels; empty means no AUTH.
	SentinelUsername, SentinelPassword string
	// Callbacks is the callback table the client starts from; the client
	// takes its own copy. Default callbacks.Default().
	Callbacks *callbacks.Registry
	// MaxBlocking: see client.Config.MaxBlocking. Default 16.
	MaxBlocking int
	// Observe: see client.Config.Observe.
	Observe func(cmd string, d time.Duration, err error)
	// Logger receives primary switches and sentinel failures. Default:
	// discard.
	Logger *slog.Logger
	// CheckInterval is how often the sentinels are asked for the primary
	// even without a +switch-master event. Default 1s.
	CheckInterval time.Duration
	// ReadFromReplicas sends read-only commands (those COMMAND INFO flags
	// "readonly" and not "blocking", outside transactions and pipelines)
	// to the replicas the sentinels list (SENTINEL REPLICAS), in turn,
	// skipping those flagged s_down, o_down or disconnected. Without a
	// usable replica, or when it refuses the connection, the primary
	// answers. Replication is asynchronous: a read right after a write
	// may not see it. Default false: everything goes to the primary.
	ReadFromReplicas bool
	// MaxRetries bounds the retries of a command that did not run because
	// the primary refused the connection or answered READONLY (it was
	// demoted). Retries back off from 25ms up to 400ms. Default 8.
	MaxRetries int
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if len(c.Sentinels) == 0 {
		errs = append(errs, errors.New("sentinel: no sentinel address"))
	}
	for _, a := range c.Sentinels {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("sentinel: %q is not host:port", a))
		}
	}
	if c.MasterName == "" {
		errs = append(errs, errors.New("sentinel: no master name"))
	}
	return errors.Join(errs...)
}

// primary is the current primary and its client (also used for a
// replica and its client).
type primary struct {
	addr string
	c    *client.Client
}

// Client runs commands on the primary of a Sentinel-monitored Redis. It
// implements client.Backend and is safe for concurrent use.
//
// It asks the sentinels for the primary's address (SENTINEL
// GET-MASTER-ADDR-BY-NAME), listens for +switch-master on every sentinel,
// and checks again every CheckInterval and after errors. On a switch, new
// commands go to a new *client.Client for the new primary; the previous
// client stays open (pub/sub subscriptions made through it keep working
// on the old node, now a replica) until Close.
type Client struct {
	cfg  Config
	reg  *callbacks.Registry
	log  *slog.Logger
	cur  atomic.Pointer[primary]
	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	// replicas are the usable replicas' clients, with ReadFromReplicas;
	// next turns among them.
	replicas atomic.Pointer[[]primary]
	next     atomic.Uint64
	// roffsets is the latest replication offset seen per replica
	// address (int64), for ReplicasAt.
	roffsets sync.Map

	discoverMu sync.Mutex
	mu         sync.Mutex
	rclients   map[string]*client.Client // every replica client, by address
	retired    []*client.Client
	sentinels  []*client.Client
	subs       []*client.PubSub
	closed     bool
}

// New returns a Client for cfg. It does not wait for the sentinels: the
// primary is looked up in the background and, if still unknown, by the
// first command.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	reg := callbacks.Own(cfg.Callbacks)
	c := &Client{cfg: cfg, reg: reg, log: cfg.Logger, kick: make(chan struct{}, 1), done: make(chan struct{}), rclients: map[string]*client.Client{}}
	for _, a := range cfg.Sentinels {
		sc, err := client.New(client.Config{
			Pool: pool.Config{
				Addr: a, Username: cfg.SentinelUsername, Password: cfg.SentinelPassword,
				PoolSize: 2, DialTimeout: 2 * time.Second, PoolTimeout: 2 * time.Second,
				TLS: cfg.Pool.TLS,
			},
			Callbacks: callbacks.NewRegistry(),
			Logger:    c.log.With("addr", a),
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("sentinel: %s: %w", a, err)
		}
		c.sentinels = append(c.sentinels, sc)
		ps := sc.PubSub(client.PubSubConfig{PingInterval: 5 * time.Second, Buffer: 64})
		c.subs = append(c.subs, ps)
	}
	c.kick <- struct{}{}
	c.wg.Add(1 + len(c.subs))
	go c.watch()
	for _, ps := range c.subs {
		go c.listen(ps)
	}
	return c, nil
}

// watch looks the primary up every CheckInterval and when kicked.
func (c *Client) watch() {
	defer c.wg.Done()
	background.Loop{
		Name:    "sentinel watcher",
		Every:   c.cfg.CheckInterval,
		Timeout: 3 * time.Second,
		Kick:    c.kick,
		Done:    c.done,
		Logger:  c.log,
		Run: func(ctx context.Context) {
			if _, err := c.discover(ctx); err != nil {
				c.log.Warn("sentinel: primary lookup failed", "err", err)
			}
		},
	}.Go()
}

// listen follows +switch-master on one sentinel.
func (c *Client) listen(ps *client.PubSub) {
	defer c.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sentinel listener panicked", "err", fmt.Sprint(r))
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.done
		cancel()
	}()
	if err := ps.Subscribe(ctx, "+switch-master"); err != nil {
		return // closed
	}
	for m := range ps.Messages() {
		if m.Kind != client.KindMessage {
			continue
		}
		// "<name> <old-ip> <old-port> <new-ip> <new-port>"
		f := strings.Fields(string(m.Payload))
		if len(f) == 5 && f[0] == c.cfg.MasterName {
			c.switchTo(net.JoinHostPort(f[3], f[4]))
		}
	}
}

// discover asks the sentinels, in order, for the primary's address and
// switches to it. It returns the current primary.
func (c *Client) discover(ctx context.Context) (*primary, error) {
	c.discoverMu.Lock()
	defer c.discoverMu.Unlock()
	var errs []error
	for i, sc := range c.sentinels {
		v, err := sc.DoRaw(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", c.cfg.MasterName)
		if err == nil && (len(v.Elems) != 2 || v.IsNull()) {
			err = fmt.Errorf("sentinel does not know master %q", c.cfg.MasterName)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.cfg.Sentinels[i], err))
			continue
		}
		p := c.switchTo(net.JoinHostPort(string(v.Elems[0].Str), string(v.Elems[1].Str)))
		if c.cfg.ReadFromReplicas {
			if err := c.lookupReplicas(ctx, sc, p); err != nil {
				c.log.Warn("sentinel: replica lookup failed", "addr", c.cfg.Sentinels[i], "err", err)
			}
		}
		return p, nil
	}
	return nil, fmt.Errorf("sentinel: no sentinel answered for %q: %w", c.cfg.MasterName, errors.Join(errs...))
}

// lookupReplicas asks sentinel sc for the replicas (SENTINEL REPLICAS)
// and keeps those it does not flag s_down, o_down or disconnected, whose
// link to the primary is not down, and which are not the primary p. On
// an error the previous list stays.
func (c *Client) lookupReplicas(ctx context.Context, sc *client.Client, p *primary) error {
	v, err := sc.DoRaw(ctx, "SENTINEL", "REPLICAS", c.cfg.MasterName)
	if err != nil {
		return err
	}
	var addrs []string
	for _, r := range v.Elems {
		f := map[string]string{}
		for i := 0; i+1 < len(r.Elems); i += 2 {
			f[string(r.Elems[i].Str)] = string(r.Elems[i+1].Str)
		}
		if f["ip"] == "" || f["port"] == "" || f["master-link-status"] == "err" {
			continue
		}
		usable := true
		for _, flag := range strings.Split(f["flags"], ",") {
			switch flag {
			case "s_down", "o_down", "disconnected":
				usable = false
			}
		}
		if a := net.JoinHostPort(f["ip"], f["port"]); usable && (p == nil || a != p.addr) {
			addrs = append(addrs, a)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	list := make([]primary, 0, len(addrs))
	for _, a := range addrs {
		rc := c.rclients[a]
		if rc == nil {
			pc := c.cfg.Pool
			pc.Addr = a
			pc.Network = "tcp"
			if rc, err = client.New(client.Config{
				Pool:        pc,
				Callbacks:   callbacks.NewRegistry(), // shaped by this client's table
				MaxBlocking: c.cfg.MaxBlocking,
				Observe:     c.cfg.Observe,
				Logger:      c.log.With("addr", a),
			}); err != nil {
				return fmt.Errorf("client for replica %s: %w", a, err)
			}
			// Kept until Close: a replica that leaves the list may still
			// be serving a command.
			c.rclients[a] = rc
		}
		list = append(list, primary{addr: a, c: rc})
	}
	c.replicas.Store(&list)
	return nil
}

// Replicas returns the addresses of the replicas reads may go to: with
// ReadFromReplicas, those of the latest SENTINEL REPLICAS answer that are
// usable; none without.
func (c *Client) Replicas() []string {
	list := c.replicas.Load()
	if list == nil {
		return nil
	}
	out := make([]string, len(*list))
	for i, r := range *list {
		out[i] = r.addr
	}
	return out
}

// replicaFor returns the replica client that should serve args with
// ReadFromReplicas, or nil for the primary: commands Redis does not flag
// readonly, blocking ones, and no usable replica.
func (c *Client) replicaFor(ctx context.Context, args []string) *client.Client {
	if !c.cfg.ReadFromReplicas || client.FenceFrom(ctx) != nil {
		return nil // a fenced command sets its run key: the primary's
	}
	list := c.replicas.Load()
	if list == nil || len(*list) == 0 {
		return nil
	}
	ci, err := c.CommandInfo(ctx, args)
	if err != nil || !ci.Has("readonly") || ci.Has("blocking") {
		return nil // the primary answers, or reports the failure
	}
	candidates := *list
	if allowed, ok := client.ReplicasFrom(ctx); ok {
		// a read-your-writes token: only replicas known to have reached it
		candidates = make([]primary, 0, len(allowed))
		for _, r := range *list {
			if slices.Contains(allowed, r.addr) {
				candidates = append(candidates, r)
			}
		}
		if len(candidates) == 0 {
			return nil
		}
	}
	return candidates[c.next.Add(1)%uint64(len(candidates))].c
}

// ReadsFromReplicas reports whether reads may go to a replica now: with
// ReadFromReplicas and at least one usable replica.
func (c *Client) ReadsFromReplicas() bool {
	list := c.replicas.Load()
	return c.cfg.ReadFromReplicas && list != nil && len(*list) > 0
}

// ReplicationOffset returns the primary's replication offset (the second
// element of its ROLE reply).
func (c *Client) ReplicationOffset(ctx context.Context) (int64, error) {
	p, err := c.current(ctx)
	if err != nil {
		return 0, err
	}
	return roleOffset(ctx, p.c, 1)
}

// roleOffset runs ROLE on c and returns the offset at index at: 1 for a
// primary ("master", offset, replicas), 4 for a replica ("slave", host,
// port, state, offset).
func roleOffset(ctx context.Context, c *client.Client, at int) (int64, error) {
	v, err := c.DoRaw(ctx, "ROLE")
	if err != nil {
		return 0, err
	}
	if len(v.Elems) <= at || v.Elems[at].Kind != resp.Integer {
		return 0, fmt.Errorf("%w: ROLE reply without an offset", client.ErrProtocol)
	}
	return v.Elems[at].Int, nil
}

// syncPoll is how often ReplicasAt asks the replicas again.
const syncPoll = 2 * time.Millisecond

// ReplicasAt returns the usable replicas whose offset (from their ROLE
// reply, remembered per replica so that one caught up is not asked again
// for older offsets) has reached offset, asking again every few
// milliseconds for up to wait while none has. A replica that cannot be
// asked counts as behind.
func (c *Client) ReplicasAt(ctx context.Context, offset int64, wait time.Duration) []string {
	list := c.replicas.Load()
	if list == nil || len(*list) == 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for {
		var at []string
		for _, r := range *list {
			known, _ := c.roffsets.Load(r.addr)
			seen, _ := known.(int64)
			if seen < offset {
				off, err := roleOffset(ctx, r.c, 4)
				if err != nil {
					continue
				}
				c.roffsets.Store(r.addr, off)
				seen = off
			}
			if seen >= offset {
				at = append(at, r.addr)
			}
		}
		if len(at) > 0 || !time.Now().Add(syncPoll).Before(deadline) {
			return at
		}
		t := time.NewTimer(syncPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// notRunOnReplica reports errors that prove a replica did not run the
// command, so the primary may: a refused connection, or a replica still
// loading or cut off from its primary (replica-serve-stale-data no).
func notRunOnReplica(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var re *client.Error
	return errors.As(err, &re) && (re.Code == "LOADING" || re.Code == "MASTERDOWN")
}

// switchTo makes addr the primary, building its client, unless it
// already is. It returns the current primary.
func (c *Client) switchTo(addr string) *primary {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	if old != nil && old.addr == addr || c.closed {
		return old
	}
	pc := c.cfg.Pool
	pc.Addr = addr
	pc.Network = "tcp"
	nc, err := client.New(client.Config{
		Pool:        pc,
		Callbacks:   callbacks.NewRegistry(), // shaped by this client's table
		MaxBlocking: c.cfg.MaxBlocking,
		Observe:     c.cfg.Observe,
		Logger:      c.log.With("addr", addr),
	})
	if err != nil {
		c.log.Error("sentinel: client for new primary", "addr", addr, "err", err)
		return old
	}
	p := &primary{addr: addr, c: nc}
	c.cur.Store(p)
	if old != nil {
		c.retired = append(c.retired, old.c)
		c.log.Warn("sentinel: primary switched", "from", old.addr, "addr", addr)
	}
	return p
}

// current returns the primary, looking it up if still unknown.
func (c *Client) current(ctx context.Context) (*primary, error) {
	if p := c.cur.Load(); p != nil {
		return p, nil
	}
	return c.discover(ctx)
}

// Addr returns the current primary's address, or "" while unknown.
func (c *Client) Addr() string {
	if p := c.cur.Load(); p != nil {
		return p.addr
	}
	return ""
}

// retry runs fn on the current primary, again (after a new lookup) while
// it fails without having run: a refused connection, or READONLY from a
// demoted primary.
func (c *Client) retry(ctx context.Context, fn func(*client.Client) error) error {
	backoff := 25 * time.Millisecond
	for attempt := 0; ; attempt++ {
		p, err := c.current(ctx)
		if err != nil {
			return err
		}
		err = fn(p.c)
		if err == nil || !notRun(err) || attempt >= c.cfg.MaxRetries {
			if client.IsTransport(err) {
				c.triggerCheck()
			}
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(backoff*2, 400*time.Millisecond)
		if _, derr := c.discover(ctx); derr != nil {
			c.log.Debug("sentinel: lookup after error failed", "err", derr)
		}
	}
}

// notRun reports errors that prove the command did not run.
func notRun(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var te *client.TxError
	if errors.As(err, &te) {
		for _, r := range te.Results {
			if e, ok := r.Err.(*client.Error); ok && e.Code == "READONLY" {
				return true
			}
		}
		return false
	}
	var re *client.Error
	return errors.As(err, &re) && re.Code == "READONLY"
}

func (c *Client) triggerCheck() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// DoRaw runs one command on the primary, or a read-only one on a replica
// with ReadFromReplicas, and returns the unshaped reply.
func (c *Client) DoRaw(ctx context.Context, args ...string) (client.Value, error) {
	if err := client.CheckCommand(args); err != nil {
		return client.Value{}, err
	}
	if rc := c.replicaFor(ctx, args); rc != nil {
		v, err := rc.DoRaw(ctx, args...)
		if !notRunOnReplica(err) {
			if client.IsTransport(err) {
				c.triggerCheck()
			}
			return v, err
		}
		c.triggerCheck() // the primary answers below
	}
	var v client.Value
	err := c.retry(ctx, func(pc *client.Client) error {
		var err error
		v, err = pc.DoRaw(ctx, args...)
		return err
	})
	return v, err
}

// GenericReply reports whether this client shapes the reply to args with
// the generic conversion (no callback, or the "raw" one), so that
// visiting it loses nothing Do would give.
func (c *Client) GenericReply(args []string) bool { return c.reg.Generic(args) }

// DoVisit runs one command where DoRaw would (a replica for a read with
// ReadFromReplicas, else the primary, again after a failover) and hands
// its reply to vis while it is read (client.Client.DoVisit), so that a
// large reply streams instead of being held as values. A command is
// retried only after an error that comes before any of its reply was
// visited: a refused dial, or a top-level error reply (READONLY from a
// demoted primary, LOADING or MASTERDOWN from a replica), which DoVisit
// returns as an error and never visits.
func (c *Client) DoVisit(ctx context.Context, vis client.Visitor, args ...string) error {
	if err := client.CheckCommand(args); err != nil {
		return err
	}
	if rc := c.replicaFor(ctx, args); rc != nil {
		err := rc.DoVisit(ctx, vis, args...)
		if !notRunOnReplica(err) {
			if client.IsTransport(err) {
				c.triggerCheck()
			}
			return err
		}
		c.triggerCheck() // the primary answers below
	}
	return c.retry(ctx, func(pc *client.Client) error { return pc.DoVisit(ctx, vis, args...) })
}

var _ client.Visiting = (*Client)(nil)

// Fences reports true: commands run under client.WithFence go to the
// primary's client, which fences them.
func (c *Client) Fences() bool { return true }

// Do runs one command and shapes its reply.
func (c *Client) Do(ctx context.Context, args ...string) (any, error) {
	v, err := c.DoRaw(ctx, args...)
	if err != nil {
		return nil, err
	}
	return c.reg.Shape(v, client.OptionsFor(args))
}

// DoGeneric runs one command and converts its reply generically.
func (c *Client) DoGeneric(ctx context.Context, args ...string) (any, error) {
	v, err := c.DoRaw(ctx, args...)
	if err != nil {
		return nil, err
	}
	return callbacks.Generic(v), nil
}

// Pipe runs cmds as one pipeline on the primary; see client.Client.Pipe.
func (c *Client) Pipe(ctx context.Context, cmds [][]string) ([]client.Result, error) {
	var res []client.Result
	err := c.retry(ctx, func(pc *client.Client) error {
		var err error
		res, err = pc.Pipe(ctx, cmds)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].Value, res[i].Err = c.reg.Shape(res[i].Raw, client.OptionsFor(cmds[i]))
	}
	return res, nil
}

// Transaction runs cmds in MULTI/EXEC on the primary; see
// client.Client.Transaction.
func (c *Client) Transaction(ctx context.Context, watch []string, cmds [][]string) ([]client.Result, error) {
	var res []client.Result
	err := c.retry(ctx, func(pc *client.Client) error {
		var err error
		res, err = pc.Transaction(ctx, watch, cmds)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range res {
		res[i].Value, res[i].Err = c.reg.Shape(res[i].Raw, client.OptionsFor(cmds[i]))
	}
	return res, nil
}

// PubSub returns a subscription through the current primary's client. A
// subscription made before a switch stays on the old node.
func (c *Client) PubSub(cfg client.PubSubConfig) *client.PubSub {
	p, err := c.current(context.Background())
	if err != nil {
		// No primary known yet: subscribe through the first sentinel's
		// lookup later is not possible with a concrete PubSub, so use a
		// client on the template address; it reconnects until it answers.
		return c.fallback().PubSub(cfg)
	}
	return p.c.PubSub(cfg)
}

// fallback returns some data client when no primary is known.
func (c *Client) fallback() *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.retired) > 0 {
		return c.retired[len(c.retired)-1]
	}
	nc, _ := client.New(client.Config{Pool: c.cfg.Pool})
	c.retired = append(c.retired, nc)
	return nc
}

// SetResponseCallback changes reply shaping for this client only.
func (c *Client) SetResponseCallback(cmd string, fn client.Func) { c.reg.Set(cmd, fn) }

// CommandInfo describes a command as the primary reports it.
func (c *Client) CommandInfo(ctx context.Context, args []string) (client.CommandInfo, error) {
	p, err := c.current(ctx)
	if err != nil {
		return client.CommandInfo{}, err
	}
	return p.c.CommandInfo(ctx, args)
}

// CachedCommandInfo returns CommandInfo's answer for args when the
// current primary's client has it cached; false while no primary is
// known (see client.Client.CachedCommandInfo).
func (c *Client) CachedCommandInfo(args []string) (client.CommandInfo, bool) {
	if p := c.cur.Load(); p != nil {
		return p.c.CachedCommandInfo(args)
	}
	return client.CommandInfo{}, false
}

// Ping checks that the primary answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.DoRaw(ctx, "PING")
	return err
}

// Stats returns the current primary's pool counters.
func (c *Client) Stats() client.PoolStats {
	if p := c.cur.Load(); p != nil {
		return p.c.Stats()
	}
	return client.PoolStats{}
}

// Close stops watching the sentinels and closes every client.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.done)
	for _, ps := range c.subs {
		ps.Close()
	}
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	if p := c.cur.Load(); p != nil {
		errs = append(errs, p.c.Close())
	}
	for _, cl := range c.rclients {
		errs = append(errs, cl.Close())
	}
	for _, cl := range append(c.retired, c.sentinels...) {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}

var _ client.Backend = (*Client)(nil)
var _ client.ReplicaReader = (*Client)(nil)
