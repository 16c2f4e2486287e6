package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Message kinds delivered by a [PubSub].
const (
	KindMessage      = "message"      // a message on a subscribed channel
	KindPMessage     = "pmessage"     // a message matched by a pattern
	KindSubscribe    = "subscribe"    // SUBSCRIBE confirmed
	KindUnsubscribe  = "unsubscribe"  // UNSUBSCRIBE confirmed
	KindPSubscribe   = "psubscribe"   // PSUBSCRIBE confirmed
	KindPUnsubscribe = "punsubscribe" // PUNSUBSCRIBE confirmed
	// KindReconnected is sent after the connection to Redis was lost and
	// re-established and every subscription renewed: messages published
	// in between were missed.
	KindReconnected = "reconnected"
)

// Message is one event from a [PubSub].
type Message struct {
	// Kind is one of the Kind… constants.
	Kind string
	// Channel is the channel the message was published on, or the channel
	// (un)subscribed.
	Channel string
	// Pattern is the matching pattern for pmessage and (p)unsubscribe
	// events on patterns.
	Pattern string
	// Payload is the message body, byte for byte.
	Payload []byte
	// Count is the number of subscriptions after a (un)subscribe event.
	Count int64
}

// PubSubConfig tunes a [PubSub]. A zero field means its default.
type PubSubConfig struct {
	// PingInterval is how long the connection may be silent before the
	// PubSub sends PING; if the PING is not answered within another
	// interval the connection is treated as dead and replaced. Default
	// 15s.
	PingInterval time.Duration
	// Buffer is the capacity of the Messages channel. Default 1024.
	Buffer int
}

// PubSub is a subscription on a dedicated connection (not one of the
// pool's). It reconnects by itself with backoff when the connection is
// lost, renews every subscription, and then delivers a KindReconnected
// message.
//
// Subscribe, PSubscribe, Unsubscribe, PUnsubscribe and Close may be called
// from any goroutine; the Messages channel should have a single reader,
// which must keep up: while the channel is full the PubSub stops reading
// from Redis. Close ends the PubSub and closes the channel.
type PubSub struct {
	c    *Client
	cfg  PubSubConfig
	msgs chan Message
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex // guards everything below, and writes on cn
	cn       *pool.Conn
	channels map[string]struct{}
	patterns map[string]struct{}
	// pending holds, per requested name not yet confirmed by Redis, a
	// channel closed when the confirmation arrives (see WaitSubscribed).
	pending map[pendingKey]chan struct{}
	started bool
	closed  bool
}

// PubSub returns a PubSub that connects on its first subscription.
func (c *Client) PubSub(cfg PubSubConfig) *PubSub {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1024
	}
	return &PubSub{
		c:        c,
		cfg:      cfg,
		msgs:     make(chan Message, cfg.Buffer),
		done:     make(chan struct{}),
		channels: map[string]struct{}{},
		patterns: map[string]struct{}{},
		pending:  map[pendingKey]chan struct{}{},
	}
}

// pendingKey names a subscription awaiting confirmation.
type pendingKey struct {
	pattern bool
	name    string
}

// ErrNotSubscribed is returned by [PubSub.WaitSubscribed] for a name that
// is not (or no longer) subscribed.
var ErrNotSubscribed = errors.New("client: not subscribed")

// WaitSubscribed blocks until Redis has confirmed the subscription to name
// (a pattern when pattern is true) on the current connection, so that a
// message published afterwards is delivered. It returns at once when the
// subscription is already confirmed, ErrNotSubscribed when name was never
// subscribed or was unsubscribed while waiting, and ctx's error or
// ErrPubSubClosed when those end first. After a reconnect, subscriptions
// count as unconfirmed until Redis confirms them again.
func (ps *PubSub) WaitSubscribed(ctx context.Context, pattern bool, name string) error {
	key := pendingKey{pattern: pattern, name: name}
	for {
		ps.mu.Lock()
		if ps.closed {
			ps.mu.Unlock()
			return ErrPubSubClosed
		}
		set := ps.channels
		if pattern {
			set = ps.patterns
		}
		if _, ok := set[name]; !ok {
			ps.mu.Unlock()
			return ErrNotSubscribed
		}
		ch := ps.pending[key]
		ps.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch: // confirmed, unsubscribed or closed: look again
		case <-ctx.Done():
			return ctx.Err()
		case <-ps.done:
			return ErrPubSubClosed
		}
	}
}

// unconfirmLocked marks every subscription as awaiting confirmation, when
// the connection carrying them is gone; ps.mu is held.
func (ps *PubSub) unconfirmLocked() {
	for _, k := range []struct {
		pattern bool
		set     map[string]struct{}
	}{{false, ps.channels}, {true, ps.patterns}} {
		for n := range k.set {
			if key := (pendingKey{pattern: k.pattern, name: n}); ps.pending[key] == nil {
				ps.pending[key] = make(chan struct{})
			}
		}
	}
}

// resolveLocked wakes the waiters of key; ps.mu is held.
func (ps *PubSub) resolveLocked(key pendingKey) {
	if ch := ps.pending[key]; ch != nil {
		close(ch)
		delete(ps.pending, key)
	}
}

// ErrPubSubClosed is returned by methods of a closed PubSub.
var ErrPubSubClosed = errors.New("client: pubsub closed")

// Messages returns the channel messages are delivered on. It is closed by
// [PubSub.Close].
func (ps *PubSub) Messages() <-chan Message { return ps.msgs }

// Subscribe subscribes to channels. It does not wait for Redis: the
// confirmation arrives as a KindSubscribe message, and WaitSubscribed
// blocks until it has. If the connection is down the subscription is made
// when it is back.
func (ps *PubSub) Subscribe(ctx context.Context, channels ...string) error {
	return ps.change(ctx, "SUBSCRIBE", ps.channels, channels, true)
}

// PSubscribe subscribes to patterns.
func (ps *PubSub) PSubscribe(ctx context.Context, patterns ...string) error {
	return ps.change(ctx, "PSUBSCRIBE", ps.patterns, patterns, true)
}

// Unsubscribe unsubscribes from channels (from all with none given).
func (ps *PubSub) Unsubscribe(ctx context.Context, channels ...string) error {
	return ps.change(ctx, "UNSUBSCRIBE", ps.channels, channels, false)
}

// PUnsubscribe unsubscribes from patterns (from all with none given).
func (ps *PubSub) PUnsubscribe(ctx context.Context, patterns ...string) error {
	return ps.change(ctx, "PUNSUBSCRIBE", ps.patterns, patterns, false)
}

// Channels returns the channels currently subscribed (as requested, not as
// confirmed).
func (ps *PubSub) Channels() []string { return ps.names(ps.channels) }

// Patterns returns the patterns currently subscribed.
func (ps *PubSub) Patterns() []string { return ps.names(ps.patterns) }

func (ps *PubSub) names(set map[string]struct{}) []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	return out
}

func (ps *PubSub) change(ctx context.Context, cmd string, set map[string]struct{}, names []string, add bool) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return ErrPubSubClosed
	}
	if add && len(names) == 0 {
		return fmt.Errorf("client: %s needs at least one name", cmd)
	}
	if !add && len(names) == 0 {
		for n := range set {
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil
		}
	}
	pattern := cmd == "PSUBSCRIBE" || cmd == "PUNSUBSCRIBE"
	for _, n := range names {
		key := pendingKey{pattern: pattern, name: n}
		if add {
			if _, ok := set[n]; !ok && ps.pending[key] == nil {
				ps.pending[key] = make(chan struct{})
			}
			set[n] = struct{}{}
		} else {
			delete(set, n)
			ps.resolveLocked(key)
		}
	}
	if !ps.started {
		ps.started = true
		ps.wg.Add(1)
		go ps.run()
		return nil // run subscribes everything once connected
	}
	if ps.cn == nil {
		return nil // reconnecting: run renews the subscriptions
	}
	if err := ps.writeLocked(ctx, append([]string{cmd}, names...)...); err != nil {
		// The reader sees the broken connection, reconnects and renews.
		ps.cn.MarkBroken()
		_ = ps.cn.NetConn().Close()
	}
	return nil
}

// writeLocked writes one command on the current connection; ps.mu is held.
func (ps *PubSub) writeLocked(ctx context.Context, args ...string) error {
	deadline := time.Now().Add(ps.cfg.PingInterval)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = ps.cn.NetConn().SetWriteDeadline(deadline)
	if err := ps.cn.WriteCommand(args...); err != nil {
		return err
	}
	return ps.cn.Flush()
}

// Close unsubscribes everything, closes the connection, waits for the
// reader goroutine and closes the Messages channel.
func (ps *PubSub) Close() error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return nil
	}
	ps.closed = true
	close(ps.done)
	for key := range ps.pending {
		ps.resolveLocked(key)
	}
	if ps.cn != nil {
		_ = ps.cn.Close()
	}
	started := ps.started
	ps.mu.Unlock()
	ps.wg.Wait()
	if !started {
		close(ps.msgs)
	}
	return nil
}

// run owns the connection: it connects, subscribes, reads and dispatches,
// and reconnects with backoff until Close.
func (ps *PubSub) run() {
	defer ps.wg.Done()
	defer close(ps.msgs)
	defer func() {
		if r := recover(); r != nil {
			ps.c.logger.Error("pubsub reader panicked", "err", fmt.Sprint(r))
		}
	}()
	backoff := apBackoffMin
	connected := false
	for {
		select {
		case <-ps.done:
			return
		default:
		}
		cn, err := ps.connect()
		if err != nil {
			if errors.Is(err, ErrPubSubClosed) {
				return
			}
			ps.c.logger.Debug("pubsub connect failed", "err", err)
			select {
			case <-ps.done:
				return
			case <-time.After(backoff):
			}
			// Bounded low, as the auto-pipeline's: resubscribed within
			// about 40 ms of Redis answering, at one dial per 40 ms while
			// it stays down.
			backoff = min(backoff*2, apBackoffMax)
			continue
		}
		backoff = apBackoffMin
		if connected {
			if !ps.deliver(Message{Kind: KindReconnected}) {
				_ = cn.Close()
				return
			}
		}
		connected = true
		err = ps.read(cn)
		ps.mu.Lock()
		ps.cn = nil
		ps.unconfirmLocked()
		ps.mu.Unlock()
		_ = cn.Close()
		if errors.Is(err, ErrPubSubClosed) {
			return
		}
		ps.c.logger.Debug("pubsub connection lost", "err", err)
	}
}

// connect dials a dedicated connection and renews every subscription on it.
func (ps *PubSub) connect() (*pool.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ps.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	cn, err := ps.c.pool.Dial(ctx)
	if err != nil {
		select {
		case <-ps.done:
			return nil, ErrPubSubClosed
		default:
		}
		return nil, err
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		_ = cn.Close()
		return nil, ErrPubSubClosed
	}
	ps.cn = cn
	chans := make([]string, 0, len(ps.channels)+1)
	chans = append(chans, "SUBSCRIBE")
	for n := range ps.channels {
		chans = append(chans, n)
	}
	pats := make([]string, 0, len(ps.patterns)+1)
	pats = append(pats, "PSUBSCRIBE")
	for n := range ps.patterns {
		pats = append(pats, n)
	}
	for _, args := range [][]string{chans, pats} {
		if len(args) == 1 {
			continue
		}
		if err := ps.writeLocked(context.Background(), args...); err != nil {
			ps.cn = nil
			_ = cn.Close()
			return nil, err
		}
	}
	return cn, nil
}

// read reads frames until the connection fails or the PubSub closes.
func (ps *PubSub) read(cn *pool.Conn) error {
	pinged := false
	for {
		_ = cn.NetConn().SetReadDeadline(time.Now().Add(ps.cfg.PingInterval))
		v, err := cn.Read()
		if err != nil {
			select {
			case <-ps.done:
				return ErrPubSubClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged && cn.Protocol() >= 2 {
				// Silent for a whole interval: ask for a sign of life.
				ps.mu.Lock()
				werr := ps.writeLocked(context.Background(), "PING")
				ps.mu.Unlock()
				if werr != nil {
					return werr
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		msg, ok := parseMessage(v)
		if !ok {
			continue // PONG and anything else that is not an event
		}
		switch msg.Kind {
		case KindSubscribe:
			ps.mu.Lock()
			ps.resolveLocked(pendingKey{name: msg.Channel})
			ps.mu.Unlock()
		case KindPSubscribe:
			ps.mu.Lock()
			ps.resolveLocked(pendingKey{pattern: true, name: msg.Pattern})
			ps.mu.Unlock()
		}
		if !ps.deliver(msg) {
			return ErrPubSubClosed
		}
	}
}

// deliver sends msg to the consumer, giving up when the PubSub closes.
func (ps *PubSub) deliver(msg Message) bool {
	select {
	case ps.msgs <- msg:
		return true
	case <-ps.done:
		return false
	}
}

// parseMessage reads a pub/sub event from a RESP2 array or a RESP3 push.
func parseMessage(v resp.Value) (Message, bool) {
	if (v.Kind != resp.Array && v.Kind != resp.Push) || len(v.Elems) < 2 {
		return Message{}, false
	}
	kind := string(v.Elems[0].Str)
	e := v.Elems
	switch kind {
	case KindMessage, "smessage":
		if len(e) != 3 {
			return Message{}, false
		}
		return Message{Kind: KindMessage, Channel: string(e[1].Str), Payload: e[2].Str}, true
	case KindPMessage:
		if len(e) != 4 {
			return Message{}, false
		}
		return Message{Kind: KindPMessage, Pattern: string(e[1].Str), Channel: string(e[2].Str), Payload: e[3].Str}, true
	case KindSubscribe, KindUnsubscribe, "ssubscribe", "sunsubscribe":
		if len(e) != 3 {
			return Message{}, false
		}
		return Message{Kind: kind, Channel: string(e[1].Str), Count: e[2].Int}, true
	case KindPSubscribe, KindPUnsubscribe:
		if len(e) != 3 {
			return Message{}, false
		}
		return Message{Kind: kind, Pattern: string(e[1].Str), Count: e[2].Int}, true
	}
	return Message{}, false
}
