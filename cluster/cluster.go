package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
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
	// Addrs are seed nodes (host:port), any of the cluster's nodes; the
	// client learns the others from the slot map. Required.
	Addrs []string
	// Pool is the template for every node's connection pool: credentials,
	// TLS, sizes and timeouts. Addr is replaced per node and DB must be 0
	// (a cluster has only database 0).
	Pool pool.Config
	// Callbacks is the callback table the client starts from; the client
	// takes its own copy. Default callbacks.Default().
	Callbacks *callbacks.Registry
	// MaxBlocking bounds blocking commands per node; see
	// client.Config.MaxBlocking. Default 16.
	MaxBlocking int
	// Observe is passed to every node's client; see client.Config.Observe.
	Observe func(cmd string, d time.Duration, err error)
	// Logger receives topology changes and refresh failures. Default:
	// discard.
	Logger *slog.Logger
	// MaxRedirects bounds the MOVED and ASK redirections followed for one
	// command. Default 5.
	MaxRedirects int
	// MaxRetries bounds the retries of one command that a node refused
	// without running it (TRYAGAIN, CLUSTERDOWN) or that could not be sent
	// because its node refused the connection. Retries back off from
	// RetryBackoff, doubling up to 16 × RetryBackoff. Default 8.
	MaxRetries int
	// RetryBackoff is the first retry delay. Default 25ms.
	RetryBackoff time.Duration
	// RefreshInterval is how often the slot map is re-read even when
	// nothing went wrong. Default 10s.
	RefreshInterval time.Duration
	// ReadFromReplicas sends read-only commands (those COMMAND INFO
	// flags "readonly" and not "blocking", outside transactions and
	// pipelines, with keys) to a replica of their slot's primary, in
	// turn among its replicas, and every node connection sends READONLY
	// once after its handshake. A shard without a healthy replica, or a
	// replica that refuses the connection, leaves the command to the
	// primary. Replication is asynchronous: a read right after a write
	// may not see it. Default false: everything goes to primaries.
	ReadFromReplicas bool
	// MinRefreshInterval is the least time between two refreshes triggered
	// by redirections or errors, so a burst of MOVED replies costs one
	// refresh. Default 100ms.
	MinRefreshInterval time.Duration
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if len(c.Addrs) == 0 {
		errs = append(errs, errors.New("cluster: no seed address"))
	}
	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("cluster: seed %q is not host:port", a))
		}
	}
	if c.Pool.DB != 0 {
		errs = append(errs, fmt.Errorf("cluster: database %d: a Redis Cluster has only database 0", c.Pool.DB))
	}
	if c.Pool.Network != "" && c.Pool.Network != "tcp" {
		errs = append(errs, fmt.Errorf("cluster: network %q: cluster nodes are reached over tcp", c.Pool.Network))
	}
	return errors.Join(errs...)
}

// node is one cluster node: a client (with its own pools) and a small
// pool for ASK redirections, which need ASKING and the command on one
// connection.
type node struct {
	addr string
	c    *client.Client
	ask  *pool.Pool
}

// Client runs commands on a Redis Cluster. It implements client.Backend
// and is safe for concurrent use.
//
// Each command goes to the primary serving its keys' slot, through that
// node's own *client.Client. Commands whose keys hash to different slots
// fail with a CROSSSLOT *client.Error before anything is sent; keyless
// commands (PING, INFO, DBSIZE, SCAN, PUBLISH…) go to the primary serving
// slot 0, so that they, and a SCAN's successive cursors, always reach the
// same node. MOVED and ASK replies are followed (at most MaxRedirects per
// command); TRYAGAIN, CLUSTERDOWN and refused connections are retried
// with backoff (at most MaxRetries), because in each case the command did
// not run. A command whose bytes may have reached a node is never resent.
type Client struct {
	cfg  Config
	reg  *callbacks.Registry
	log  *slog.Logger
	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	refreshMu sync.Mutex // one refresh at a time

	mu        sync.RWMutex
	slots     [SlotCount]string // primary address per slot; "" unknown
	primaries []string
	replicas  map[string][]string // primary → healthy replicas, with ReadFromReplicas
	next      atomic.Uint64       // round robin among a shard's replicas
	nodes     map[string]*node
	closed    bool

	specs keySpecs
}

// New returns a Client for cfg. Like client.New it does not wait for the
// cluster: the slot map is read in the background right away, and
// commands sent before it arrives go to a seed node and follow its
// redirections.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 5
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 8
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 25 * time.Millisecond
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 10 * time.Second
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	reg := callbacks.Own(cfg.Callbacks)
	c := &Client{
		cfg:   cfg,
		reg:   reg,
		log:   cfg.Logger,
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		nodes: map[string]*node{},
	}
	c.kick <- struct{}{} // first refresh right away
	c.wg.Add(1)
	go c.refresher()
	return c, nil
}

// refresher re-reads the slot map every RefreshInterval and when kicked,
// at most once per MinRefreshInterval.
func (c *Client) refresher() {
	defer c.wg.Done()
	background.Loop{
		Name:    "cluster refresher",
		Every:   c.cfg.RefreshInterval,
		Gap:     c.cfg.MinRefreshInterval,
		Timeout: 5 * time.Second,
		Kick:    c.kick,
		Done:    c.done,
		Logger:  c.log,
		Run: func(ctx context.Context) {
			if err := c.Refresh(ctx); err != nil {
				c.log.Warn("cluster slot map refresh failed", "err", err)
			}
		},
	}.Go()
}

// triggerRefresh asks the refresher for a refresh soon, without waiting.
func (c *Client) triggerRefresh() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// node returns the node for addr, creating its client on first use.
func (c *Client) node(addr string) *node {
	c.mu.RLock()
	n := c.nodes[addr]
	c.mu.RUnlock()
	if n != nil {
		return n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n = c.nodes[addr]; n != nil {
		return n
	}
	pc := c.cfg.Pool
	pc.Network = "tcp"
	pc.Addr = addr
	pc.DB = 0
	if c.cfg.ReadFromReplicas {
		// Any node may serve reads as a replica, now or after a failover;
		// READONLY changes nothing on a primary.
		pc.InitCommands = append(pc.InitCommands[:len(pc.InitCommands):len(pc.InitCommands)], []string{"READONLY"})
	}
	nc, err := client.New(client.Config{
		Pool:        pc,
		Callbacks:   callbacks.NewRegistry(), // replies are shaped by the cluster client's table
		MaxBlocking: c.cfg.MaxBlocking,
		Observe:     c.cfg.Observe,
		Logger:      c.log.With("addr", addr),
	})
	ap := pc
	ap.PoolSize, ap.MinIdle, ap.MaxIdle = 4, 0, 0
	var ask *pool.Pool
	if err == nil {
		ask, err = pool.New(ap)
	}
	if err != nil {
		// The template was validated once; a per-node failure can only
		// come from the address, which a node reported: keep the error
		// visible on every use rather than panic.
		c.log.Error("cluster: node client", "addr", addr, "err", err)
		nc, _ = client.New(client.Config{Pool: pool.Config{Addr: "0.0.0.0:0"}})
		ask, _ = pool.New(pool.Config{Addr: "0.0.0.0:0"})
	}
	if c.closed {
		nc.Close()
		ask.Close()
	}
	n = &node{addr: addr, c: nc, ask: ask}
	c.nodes[addr] = n
	return n
}

// addrFor returns the primary for slot (-1: keyless, the owner of slot
// 0), or a seed while the map is unknown.
func (c *Client) addrFor(slot int) string {
	if slot < 0 {
		slot = 0
	}
	c.mu.RLock()
	a := c.slots[slot]
	c.mu.RUnlock()
	if a == "" {
		c.triggerRefresh()
		return c.cfg.Addrs[0]
	}
	return a
}

// anyNode returns the client of the keyless-command node.
func (c *Client) anyNode() *client.Client { return c.node(c.addrFor(-1)).c }

// moved records a MOVED answer at once, so the retry and other requests
// go to the new owner before the full refresh lands.
func (c *Client) moved(slot int, addr string) {
	if slot < 0 || slot >= SlotCount {
		return
	}
	c.mu.Lock()
	c.slots[slot] = addr
	c.mu.Unlock()
	c.triggerRefresh()
}

// SetResponseCallback changes reply shaping for this client only; safe
// while commands run.
func (c *Client) SetResponseCallback(cmd string, fn client.Func) { c.reg.Set(cmd, fn) }

// Do runs one command on the node serving its keys and shapes the reply.
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

// DoRaw runs one command on the node serving its keys, following
// redirections, and returns the unshaped reply. Errors are as for
// client.Client.DoRaw, plus a CROSSSLOT *client.Error for keys in
// different slots.
func (c *Client) DoRaw(ctx context.Context, args ...string) (client.Value, error) {
	if err := client.CheckCommand(args); err != nil {
		return client.Value{}, err
	}
	slot, err := c.commandSlot(ctx, args)
	if err != nil {
		return client.Value{}, err
	}
	return c.dispatch(ctx, slot, args, func(addr string, asking bool) (client.Value, error) {
		if asking {
			return c.askExchange(ctx, c.node(addr), args)
		}
		return c.node(addr).c.DoRaw(ctx, args...)
	})
}

// dispatch runs a command with exec (once on the node at addr, after
// ASKING when asking is set): on a replica when replicaFor names one,
// falling back to the primary when the replica did not run it, else on
// the slot's primary, redirected and retried by runWith.
func (c *Client) dispatch(ctx context.Context, slot int, args []string, exec func(addr string, asking bool) (client.Value, error)) (client.Value, error) {
	if ra := c.replicaFor(ctx, slot, args); ra != "" {
		v, err := exec(ra, false)
		var re *client.Error
		switch {
		case refused(err):
			// Nothing was sent: the primary serves it.
			c.triggerRefresh()
		case errors.As(err, &re) && (re.Code == "LOADING" || re.Code == "MASTERDOWN"):
			// A replica still syncing refused it without running it.
		case errors.As(err, &re) && retryable(re.Code):
			// MOVED from a replica: the slot moved (or the node no
			// longer replicates it). Followed as for a primary.
			return c.rerunWith(ctx, slot, re, func(addr string, asking bool) (client.Value, error) {
				return c.runWith(ctx, slot, addr, asking, exec)
			})
		default:
			if client.IsTransport(err) {
				c.triggerRefresh()
			}
			return v, err
		}
	}
	return c.runWith(ctx, slot, c.addrFor(slot), false, exec)
}

// GenericReply reports whether this client shapes the reply to args with
// the generic conversion (no callback, or the "raw" one), so that
// visiting it loses nothing Do would give.
func (c *Client) GenericReply(args []string) bool { return c.reg.Generic(args) }

// DoVisit runs one command where DoRaw would and hands its reply to vis
// while it is read (client.Client.DoVisit), so that a large reply
// streams instead of being held as values. Redirects and retries are
// DoRaw's: each follows an error that comes before any of the reply was
// visited (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING and MASTERDOWN are
// top-level error replies, which a visit returns as the error and never
// hands to the visitor; a refused dial sent nothing). The command sent
// after an ASK (with ASKING first, on the node's ASK pool) is read whole
// and then walked: it is rare, and only for the slot being migrated.
func (c *Client) DoVisit(ctx context.Context, vis client.Visitor, args ...string) error {
	if err := client.CheckCommand(args); err != nil {
		return err
	}
	slot, err := c.commandSlot(ctx, args)
	if err != nil {
		return err
	}
	_, err = c.dispatch(ctx, slot, args, func(addr string, asking bool) (client.Value, error) {
		if asking {
			v, err := c.askExchange(ctx, c.node(addr), args)
			if err != nil {
				return v, err
			}
			return client.Value{}, resp.Walk(v, vis)
		}
		return client.Value{}, c.node(addr).c.DoVisit(ctx, vis, args...)
	})
	return err
}

var _ client.Visiting = (*Client)(nil)

// replicaFor returns the replica that should serve args with
// ReadFromReplicas, or "" for the primary: keyless commands (which must
// stay on one node, for SCAN cursors), commands Redis does not flag
// readonly, blocking ones, and shards without a known replica.
func (c *Client) replicaFor(ctx context.Context, slot int, args []string) string {
	if !c.cfg.ReadFromReplicas || slot < 0 {
		return ""
	}
	c.mu.RLock()
	rs := c.replicas[c.slots[slot]]
	c.mu.RUnlock()
	if len(rs) == 0 {
		return ""
	}
	ci, err := c.CommandInfo(ctx, args)
	if err != nil || !ci.Has("readonly") || ci.Has("blocking") {
		return "" // the primary answers, or reports the failure
	}
	if allowed, ok := client.ReplicasFrom(ctx); ok {
		// a read-your-writes token: only replicas known to have reached
		// it (the cluster client checks none, so the primary answers
		// unless the caller named replicas)
		rs = slices.DeleteFunc(slices.Clone(rs), func(a string) bool { return !slices.Contains(allowed, a) })
		if len(rs) == 0 {
			return ""
		}
	}
	return rs[c.next.Add(1)%uint64(len(rs))]
}

// run sends args to addr (after ASKING when asking) and follows the
// cluster's answers: MOVED and ASK to another node, TRYAGAIN, CLUSTERDOWN
// and refused connections after a backoff.
func (c *Client) run(ctx context.Context, slot int, addr string, asking bool, args []string) (client.Value, error) {
	return c.runWith(ctx, slot, addr, asking, func(addr string, asking bool) (client.Value, error) {
		if asking {
			return c.askExchange(ctx, c.node(addr), args)
		}
		return c.node(addr).c.DoRaw(ctx, args...)
	})
}

// runWith is run's loop around exec, which runs the command once on the
// node at addr (after ASKING when asking is set).
func (c *Client) runWith(ctx context.Context, slot int, addr string, asking bool, exec func(addr string, asking bool) (client.Value, error)) (client.Value, error) {
	redirects, retries := 0, 0
	backoff := c.cfg.RetryBackoff
	for {
		v, err := exec(addr, asking)
		asking = false
		var re *client.Error
		switch {
		case err == nil:
			return v, nil
		case errors.As(err, &re):
			switch re.Code {
			case "MOVED", "ASK":
				s, to, ok := redirect(re, addr)
				if !ok || redirects >= c.cfg.MaxRedirects {
					return v, err
				}
				redirects++
				if re.Code == "MOVED" {
					c.moved(s, to)
				} else {
					asking = true
				}
				addr = to
				continue
			case "TRYAGAIN", "CLUSTERDOWN":
				if re.Code == "CLUSTERDOWN" {
					c.triggerRefresh()
				}
			default:
				return v, err
			}
		case refused(err):
			c.triggerRefresh()
		default:
			if client.IsTransport(err) {
				c.triggerRefresh() // the node may be gone; do not resend
			}
			return v, err
		}
		if retries >= c.cfg.MaxRetries {
			return v, err
		}
		retries++
		if werr := sleep(ctx, backoff); werr != nil {
			return v, err
		}
		backoff = min(backoff*2, 16*c.cfg.RetryBackoff)
		if slot >= 0 || addr == "" {
			addr = c.addrFor(slot)
		}
	}
}

// refused reports a failure to connect: nothing was sent, so the command
// may go again once the slot map says where.
func refused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// askExchange sends ASKING and args on one connection of the node's ASK
// pool, as an ASK redirection requires, and returns the command's reply.
func (c *Client) askExchange(ctx context.Context, n *node, args []string) (client.Value, error) {
	cn, err := n.ask.Get(ctx)
	if err != nil {
		return client.Value{}, fmt.Errorf("cluster: %s: %w", args[0], err)
	}
	done := cn.Watch(ctx)
	vals, err := exchangeAll(cn, [][]string{{"ASKING"}, args})
	if werr := done(); werr != nil && err != nil {
		err = werr
	}
	n.ask.Put(cn, err)
	if err != nil {
		return client.Value{}, fmt.Errorf("cluster: %s: %w", args[0], err)
	}
	if e := vals[0].Err(); e != nil {
		return vals[0], e
	}
	return vals[1], vals[1].Err()
}

// exchangeAll writes every command, flushes once and reads one reply per
// command, skipping RESP3 push frames.
func exchangeAll(cn *pool.Conn, cmds [][]string) ([]client.Value, error) {
	for _, args := range cmds {
		if err := cn.WriteCommand(args...); err != nil {
			return nil, err
		}
	}
	if err := cn.Flush(); err != nil {
		return nil, err
	}
	out := make([]client.Value, 0, len(cmds))
	for len(out) < len(cmds) {
		v, err := cn.Read()
		if err != nil {
			return nil, err
		}
		if v.Kind == resp.Push {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// CommandInfo describes a command, as the node serving keyless commands
// reports it (every node runs the same server version).
func (c *Client) CommandInfo(ctx context.Context, args []string) (client.CommandInfo, error) {
	return c.anyNode().CommandInfo(ctx, args)
}

// CachedCommandInfo returns CommandInfo's answer for args when the node
// CommandInfo asks has it cached (see client.Client.CachedCommandInfo).
func (c *Client) CachedCommandInfo(args []string) (client.CommandInfo, bool) {
	return c.anyNode().CachedCommandInfo(args)
}

// Ping checks that every primary answers; it returns the first failure.
// With no slot map yet, it refreshes first.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.RLock()
	primaries := append([]string(nil), c.primaries...)
	c.mu.RUnlock()
	if len(primaries) == 0 {
		if err := c.Refresh(ctx); err != nil {
			return err
		}
		c.mu.RLock()
		primaries = append([]string(nil), c.primaries...)
		c.mu.RUnlock()
	}
	for _, a := range primaries {
		if err := c.node(a).c.Ping(ctx); err != nil {
			return fmt.Errorf("cluster: node %s: %w", a, err)
		}
	}
	return nil
}

// Stats returns the sum of every node's main pool counters.
func (c *Client) Stats() client.PoolStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var s client.PoolStats
	for _, n := range c.nodes {
		s.Add(n.c.Stats())
	}
	return s
}

// Nodes returns the addresses of the primaries in the current slot map.
func (c *Client) Nodes() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.primaries...)
}

// Replicas returns the healthy replicas of primary that reads may go to:
// those of the current slot map with ReadFromReplicas, none without.
func (c *Client) Replicas(primary string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.replicas[primary]...)
}

// PubSub returns a subscription on the node serving keyless commands.
// Classic SUBSCRIBE/PUBLISH messages are broadcast over the cluster bus,
// so one node sees every channel. The subscription stays on that node: if
// it fails, the PubSub keeps reconnecting to it (see client.PubSub).
func (c *Client) PubSub(cfg client.PubSubConfig) *client.PubSub {
	return c.anyNode().PubSub(cfg)
}

// Close stops the refresher and closes every node's pools. Commands in
// flight finish; later ones fail.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.done)
	c.wg.Wait()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.c.Close(), n.ask.Close())
	}
	return errors.Join(errs...)
}

var _ client.Backend = (*Client)(nil)

// KeySlot returns the hash slot of key (see [Slot]). The HTTP layer uses
// it to split commands that may only name keys of one slot, such as the
// XREAD of a multiplexed event stream.
func (c *Client) KeySlot(key string) int { return Slot(key) }
