package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
)

// Event kinds a subscriber receives from a hub.
const (
	eventMessage     = "message"     // a message on a subscribed channel
	eventPMessage    = "pmessage"    // a message matched by a subscribed pattern
	eventReconnected = "reconnected" // the shared connection was re-established: messages may have been missed
)

// hubEvent is one delivery to a subscriber.
type hubEvent struct {
	kind    string
	channel string
	pattern string
	payload []byte
}

// topic is a channel or a pattern.
type topic struct {
	pattern bool
	name    string
}

// subscriber is one consumer (an SSE stream, a WebSocket, an Upstash
// subscribe request) of a hub. Its buffer is bounded: when it is full, new
// events for this subscriber are dropped and counted, and the consumer
// learns the count through lagged (signalled on lag) — a slow subscriber
// never blocks the hub or other subscribers.
type subscriber struct {
	// events carries pointers: one event is shared, read-only, by every
	// subscriber it goes to, and a queue slot costs 8 bytes, not a copy.
	events chan *hubEvent
	lag    chan struct{} // one-slot signal: dropped > 0
	drops  atomic.Int64
	h      *hub
	topics map[topic]struct{} // guarded by h.mu
	// hears, when set, decides which channels' messages reach this
	// subscriber (the token's channel patterns and databases): Redis's
	// pub/sub is server-wide, the filter is the gateway's.
	hears func(channel string) bool
}

// takeDropped returns and resets the count of events dropped since the
// last call.
func (s *subscriber) takeDropped() int64 { return s.drops.Swap(0) }

// hub fans out one database's single shared pub/sub connection to any
// number of subscribers, reference-counting channels and patterns: Redis
// sees one SUBSCRIBE per channel however many browsers listen, and an
// UNSUBSCRIBE when the last one leaves. It is safe for concurrent use.
type hub struct {
	db      *Database
	logger  *slog.Logger
	metrics *Metrics
	buffer  int

	// confirmTimeout bounds the wait for Redis to confirm a new
	// subscription.
	confirmTimeout time.Duration

	mu     sync.Mutex
	ps     *client.PubSub // nil until the first subscription
	subs   map[topic]map[*subscriber]struct{}
	all    map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newHub(db *Database, logger *slog.Logger, metrics *Metrics, buffer int, confirmTimeout time.Duration) *hub {
	if buffer <= 0 {
		buffer = 256
	}
	return &hub{
		db:             db,
		logger:         logger.With("db", db.Name),
		metrics:        metrics,
		buffer:         buffer,
		confirmTimeout: confirmTimeout,
		subs:           map[topic]map[*subscriber]struct{}{},
		all:            map[*subscriber]struct{}{},
	}
}

// errHubClosed is returned when the server is shutting down.
var errHubClosed = fmt.Errorf("api: server is shutting down")

// newSubscriber registers a subscriber with no topics yet; hears (nil:
// everything) filters the messages it receives.
func (h *hub) newSubscriber(hears func(channel string) bool) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errHubClosed
	}
	s := &subscriber{
		events: make(chan *hubEvent, h.buffer),
		lag:    make(chan struct{}, 1),
		h:      h,
		topics: map[topic]struct{}{},
		hears:  hears,
	}
	h.all[s] = struct{}{}
	return s, nil
}

// add subscribes s to t, subscribing the shared connection when s is the
// first subscriber of t. It returns once Redis has confirmed the
// subscription, so a message published after add returns reaches s.
func (h *hub) add(ctx context.Context, s *subscriber, t topic) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errHubClosed
	}
	if _, ok := s.topics[t]; ok {
		h.mu.Unlock()
		return nil
	}
	set := h.subs[t]
	if set == nil {
		set = map[*subscriber]struct{}{}
		h.subs[t] = set
		if err := h.redisSubscribe(ctx, t); err != nil {
			delete(h.subs, t)
			h.mu.Unlock()
			return err
		}
	}
	set[s] = struct{}{}
	s.topics[t] = struct{}{}
	ps := h.ps
	h.mu.Unlock()
	// Wait without the lock: the dispatcher needs it to keep reading.
	wctx, cancel := context.WithTimeout(ctx, h.confirmTimeout)
	defer cancel()
	if err := ps.WaitSubscribed(wctx, t.pattern, t.name); err != nil {
		h.remove(context.Background(), s, t)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return &apiError{status: http.StatusServiceUnavailable, code: CodeUpstreamUnavailable,
				detail: "Redis did not confirm the subscription in time", retryAfter: 1}
		}
		return err
	}
	return nil
}

// remove unsubscribes s from t; the shared connection unsubscribes when s
// was the last subscriber.
func (h *hub) remove(ctx context.Context, s *subscriber, t topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(ctx, s, t)
}

func (h *hub) removeLocked(ctx context.Context, s *subscriber, t topic) {
	if _, ok := s.topics[t]; !ok {
		return
	}
	delete(s.topics, t)
	set := h.subs[t]
	delete(set, s)
	if len(set) > 0 {
		return
	}
	delete(h.subs, t)
	if h.ps == nil || h.closed {
		return
	}
	var err error
	if t.pattern {
		err = h.ps.PUnsubscribe(ctx, t.name)
	} else {
		err = h.ps.Unsubscribe(ctx, t.name)
	}
	if err != nil {
		h.logger.Debug("pubsub unsubscribe", "err", err)
	}
}

// release removes s from every topic and from the hub. Safe to call twice.
func (h *hub) release(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t := range s.topics {
		h.removeLocked(context.Background(), s, t)
	}
	delete(h.all, s)
}

// redisSubscribe subscribes the shared connection to t, creating it (and
// the dispatch goroutine) on first use. h.mu is held.
func (h *hub) redisSubscribe(ctx context.Context, t topic) error {
	if h.ps == nil {
		h.ps = h.db.Client.PubSub(client.PubSubConfig{})
		h.wg.Add(1)
		go h.dispatch(h.ps)
	}
	if t.pattern {
		return h.ps.PSubscribe(ctx, t.name)
	}
	return h.ps.Subscribe(ctx, t.name)
}

// dispatch delivers the shared connection's messages until it closes.
func (h *hub) dispatch(ps *client.PubSub) {
	defer h.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			h.logger.Error("pubsub dispatch panicked", "err", fmt.Sprint(r))
		}
	}()
	for m := range ps.Messages() {
		var ev *hubEvent
		var t topic
		switch m.Kind {
		case client.KindMessage:
			ev = &hubEvent{kind: eventMessage, channel: m.Channel, payload: m.Payload}
			t = topic{name: m.Channel}
		case client.KindPMessage:
			ev = &hubEvent{kind: eventPMessage, channel: m.Channel, pattern: m.Pattern, payload: m.Payload}
			t = topic{pattern: true, name: m.Pattern}
		case client.KindReconnected:
			h.broadcast(&hubEvent{kind: eventReconnected})
			continue
		default:
			continue // subscription confirmations
		}
		h.mu.Lock()
		for s := range h.subs[t] {
			if s.hears == nil || s.hears(ev.channel) {
				h.offer(s, ev)
			}
		}
		h.mu.Unlock()
	}
}

// broadcast offers ev to every subscriber.
func (h *hub) broadcast(ev *hubEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.all {
		h.offer(s, ev)
	}
}

// offer queues ev for s without blocking; a full buffer drops it and
// signals the lag. h.mu is held.
func (h *hub) offer(s *subscriber, ev *hubEvent) {
	select {
	case s.events <- ev:
	default:
		s.drops.Add(1)
		h.metrics.addDropped(h.db.Name, 1)
		select {
		case s.lag <- struct{}{}:
		default:
		}
	}
}

// close ends the shared connection and waits for the dispatcher.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	ps := h.ps
	h.mu.Unlock()
	if ps != nil {
		ps.Close()
	}
	h.wg.Wait()
}
