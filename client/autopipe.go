package client

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
)

// Auto-pipelining: with Config.AutoPipeline, concurrent single commands
// share a few dedicated connections instead of taking one pooled connection
// each. A writer goroutine per connection takes every command waiting at
// that moment, writes them with one flush, and hands them, in order, to a
// reader goroutine that matches replies first-in first-out. Under load
// many commands travel in one write and one read, which saves the system
// calls that dominate a gateway's cost.
//
// The guarantees of the pool hold:
//   - a caller whose context ends returns at once; if its command was not
//     yet written it is dropped and never sent (the error matches
//     ErrNotSent), else its reply is still read and dropped, so the next
//     caller never gets it;
//   - a connection that fails (I/O error, protocol error, no reply for
//     HealthTimeout while commands wait, or a write stuck as long) fails
//     every command written on it and is replaced; commands not yet
//     written go to the new connection; when the write itself fails, the
//     commands of the batch that did not reach the network whole fail as
//     not sent (ErrNotSent): Redis never got their last byte;
//   - while Redis cannot be reached, commands fail at once with the dial
//     error (503 upstream), not after their timeout.
//
// Blocking commands, pipelines, transactions and pub/sub never use it.
//
// Which connection: the first, until apSpill commands wait in its queue,
// then the one with the shortest queue (pick), so that one connection's
// batches grow as big as the load allows before a second one splits them.
//
// Batching under load: a connection keeps one batch in flight. While the
// replies to the last write are outstanding, the commands that arrive
// wait for them (one round trip at most) and are then written together,
// so that the batch grows with the load by itself (as an event loop that
// writes once per turn does), instead of the writer sending each command
// as it wakes for it. Once it may write, the writer does not write at
// once either: it yields the processor
// (runtime.Gosched) while that lets more commands arrive, up to apYields
// times, so the requests that arrived together, whose goroutines were
// runnable but not yet running, travel in one write; it flushes early at
// apBatch commands or apBytes bytes. A command whose caller's context has
// ended by the time it would be written is dropped, never sent, and
// reported as failed. A command taken from the queue but not yet written
// when the connection fails goes to the next connection. The reader sets
// the read deadline at most once per quarter of the health timeout, not
// once per reply.
//
// Cost per command: the client's own command timeout (DoWithin) ends the
// wait through a recycled timer (doUntil), not a context.WithTimeout per
// command, and a request (with its reply channel) is recycled once its
// caller took the reply; a request whose caller left early is never
// reused, since the writer or the reader may still hold it.

// apRequest is one command waiting for its reply.
type apRequest struct {
	args []string
	done chan apResult // buffered: the reader never blocks on a gone caller
	// state settles the race between a caller whose ctx ends and the
	// writer: whoever moves it off apQueued first decides whether the
	// command is written (apWriting) or dropped unsent (apAbandoned).
	state atomic.Int32
}

// States of an apRequest.
const (
	apQueued int32 = iota
	apWriting
	apAbandoned
)

type apResult struct {
	v   Value
	err error
}

// autoPipe spreads commands over its connections.
type autoPipe struct {
	conns []*apConn
	// last is the size of a recent batch written on any of the
	// connections (see batching and stickyLast).
	last atomic.Int32
}

// apSpill is the queue length past which a command goes to another shared
// connection than the first.
const apSpill = 32

// pick chooses the connection for a command: the first, unless its queue
// holds apSpill commands or more (a load its batches cannot take alone,
// or a slow reply holding it up), then the one with the shortest queue.
// Filling one connection first makes the batches as big as the load
// allows (Redis's cost per command falls with them); the others take
// what one cannot carry, and what queues behind a stuck reply is at most
// apSpill commands.
func (ap *autoPipe) pick() *apConn {
	c := ap.conns[0]
	if n := len(c.queue); n >= apSpill {
		for _, o := range ap.conns[1:] {
			if m := len(o.queue); m < n {
				c, n = o, m
			}
		}
	}
	return c
}

// batching reports whether a recent batch carried at least n commands:
// the load is then high enough that a command joining the shared
// connections travels with others, even at a moment when fewer than n
// are in flight (just after a batch's replies came back). The size it
// compares is sticky (see stickyLast): one batch of fewer than n, which
// a steady load writes now and then, does not clear it; apSticky of them
// in a row do, so a load that falls goes back to pooled connections
// after a few small batches. (Cleared by one small batch, it sent 5 % of
// the GETs at c=50 to pooled connections, each costing Redis a wakeup of
// its own: 3.8 µs of Redis CPU per GET instead of 3.0, docs/benchmarks.md.)
func (ap *autoPipe) batching(n int32) bool { return ap.last.Load() >= n }

// apSticky is how many batches in a row must be smaller than the size
// batching compares before that size falls to theirs.
const apSticky = 8

// stickyLast records a batch of n commands in last (autoPipe.last), which
// rises at once to a bigger batch and falls only after apSticky smaller
// ones in a row; small counts those, and is the writer's own. The
// connections share last and each counts its own small batches, so a
// second connection that takes only the overflow can lower it after its
// own apSticky small batches; the first one's next bigger batch raises
// it again.
func stickyLast(last *atomic.Int32, small *int, n int32) {
	if cur := last.Load(); n >= cur {
		*small = 0
		if n != cur {
			last.Store(n) // stored only when it changes: the line stays shared
		}
		return
	}
	if *small++; *small >= apSticky {
		*small = 0
		last.Store(n)
	}
}

// observeBatch sets the hook that gets each flush's command count.
func (ap *autoPipe) observeBatch(fn func(n int)) {
	for _, c := range ap.conns {
		c.observe = fn
	}
}

// Dial backoff of the shared connections while Redis cannot be reached.
// The bound is small so that the path serves again within about 40 ms of
// Redis answering; the backoff is shared by a client's connections, so
// a Redis that stays down sees at most one failed dial per backoff period
// from them, not one per connection.
const (
	apBackoffMin = 5 * time.Millisecond
	apBackoffMax = 40 * time.Millisecond
)

// apDown is the dial state shared by a client's auto-pipelined
// connections. It is safe for concurrent use.
type apDown struct {
	mu      sync.Mutex
	until   time.Time // fail commands at once until then
	err     error     // the last dial error
	backoff time.Duration
}

// check returns the dial error to fail with while the backoff runs, or nil
// when a dial may be tried.
func (d *apDown) check(now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Before(d.until) {
		return d.err
	}
	return nil
}

// failed records a failed dial and starts (or doubles) the backoff.
func (d *apDown) failed(now time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backoff = min(max(d.backoff*2, apBackoffMin), apBackoffMax)
	d.until, d.err = now.Add(d.backoff), err
}

// ok records a successful dial.
func (d *apDown) ok() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.until, d.err, d.backoff = time.Time{}, nil, 0
}

// apConn is one shared connection with its writer and reader goroutines.
type apConn struct {
	last    *atomic.Int32 // autoPipe.last
	p       *pool.Pool
	down    *apDown     // shared by the client's connections
	observe func(n int) // nil, or Config.ObserveBatch
	queue   chan *apRequest
	health  time.Duration
	logger  func(msg string, err error)
	closing chan struct{}
	wg      sync.WaitGroup
	// pending counts the commands written on the current connection
	// whose replies the reader has not handed back yet; idle gets a token
	// when it falls to zero (see serve).
	pending atomic.Int32
	idle    chan struct{}
}

const (
	// apBatch bounds the commands written in one flush.
	apBatch = 512
	// apBytes bounds the argument bytes written in one flush.
	apBytes = 1 << 20
	// apYields bounds how often a writer yields to let more commands in.
	apYields = 3
)

func newAutoPipe(p *pool.Pool, conns int, health time.Duration, logf func(string, error)) *autoPipe {
	ap := &autoPipe{}
	down := &apDown{}
	for range conns {
		c := &apConn{
			last:    &ap.last,
			p:       p,
			down:    down,
			queue:   make(chan *apRequest, 4*apBatch),
			health:  health,
			logger:  logf,
			closing: make(chan struct{}),
			idle:    make(chan struct{}, 1),
		}
		c.wg.Add(1)
		go c.run()
		ap.conns = append(ap.conns, c)
	}
	return ap
}

// errAutoPipeClosed is returned for commands sent after Close.
var errAutoPipeClosed = errors.New("client: closed")

// do sends args on one of the connections and waits for the reply or ctx.
func (ap *autoPipe) do(ctx context.Context, args []string) (Value, error) {
	return ap.doUntil(ctx, args, time.Time{})
}

// apRequests recycles requests whose caller took the reply: by then the
// writer and the reader hold no reference to them (the reader sends the
// one result and forgets the request). Requests of callers that left
// early are never put back: the writer or the reader may still see them.
var apRequests = sync.Pool{New: func() any { return &apRequest{done: make(chan apResult, 1)} }}

// apTimers recycles the timers of doUntil's deadlines (Stop and Reset
// leave no stale tick in the channel since Go 1.23).
var apTimers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// doUntil is do with a deadline of the client's own (zero: none): passing
// it ends the wait as ctx's deadline would (context.DeadlineExceeded), but
// with a recycled timer instead of a context.WithTimeout per command.
func (ap *autoPipe) doUntil(ctx context.Context, args []string, deadline time.Time) (Value, error) {
	if err := ctx.Err(); err != nil {
		return Value{}, notSent(err) // gone already: never queued
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return Value{}, notSent(context.DeadlineExceeded)
		}
		t := apTimers.Get().(*time.Timer)
		t.Reset(d)
		defer func() {
			t.Stop()
			apTimers.Put(t)
		}()
		expired = t.C
	}
	c := ap.pick()
	req := apRequests.Get().(*apRequest)
	req.args = args
	req.state.Store(apQueued)
	select {
	case c.queue <- req: // the common case: room in the queue, one channel locked
	default:
		if err := c.enqueue(ctx, req, expired); err != nil {
			return Value{}, err
		}
	}
	var cause error
	select {
	case r := <-req.done:
		req.args = nil
		apRequests.Put(req)
		return r.v, r.err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-expired:
		cause = context.DeadlineExceeded
	}
	if req.state.CompareAndSwap(apQueued, apAbandoned) {
		return Value{}, notSent(cause) // the writer will skip it
	}
	return Value{}, cause // written: the reply, when it comes, is dropped
}

// enqueue waits for room in c's full queue, unless ctx ends, the deadline
// passes or the client closes first (then req was never queued and the
// error matches ErrNotSent).
func (c *apConn) enqueue(ctx context.Context, req *apRequest, expired <-chan time.Time) error {
	select {
	case c.queue <- req:
		return nil
	case <-ctx.Done():
		req.args = nil
		apRequests.Put(req) // never queued: nobody else saw it
		return notSent(ctx.Err())
	case <-expired:
		req.args = nil
		apRequests.Put(req)
		return notSent(context.DeadlineExceeded)
	case <-c.closing:
		return notSent(errAutoPipeClosed)
	}
}

func (ap *autoPipe) close() {
	for _, c := range ap.conns {
		close(c.closing)
	}
	for _, c := range ap.conns {
		c.wg.Wait()
	}
}

// run owns the connection: dial, serve until it fails, dial again.
func (c *apConn) run() {
	defer c.wg.Done()
	var carry *apRequest // taken from the queue, not written, by the last serve
	for {
		// Wait for work before dialing, so an idle client holds nothing.
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-c.queue:
			case <-c.closing:
				c.failQueued(errAutoPipeClosed)
				return
			}
		}
		if err := c.down.check(time.Now()); err != nil {
			first.done <- apResult{err: notSent(err)}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.p.Config().DialTimeout)
		cn, err := c.p.Dial(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("client: auto-pipeline: %w", err)
			c.down.failed(time.Now(), err)
			c.logger("auto-pipeline dial failed", err)
			first.done <- apResult{err: notSent(err)}
			continue
		}
		c.down.ok()
		var closed bool
		if closed, carry = c.serve(cn, first); closed {
			return
		}
	}
}

// failQueued fails every command still queued.
func (c *apConn) failQueued(err error) {
	for {
		select {
		case req := <-c.queue:
			req.done <- apResult{err: notSent(err)}
		default:
			return
		}
	}
}

// serve runs one connection until it fails (false) or the client closes
// (true). A command it took from the queue but did not write when the
// connection failed is returned for the next connection.
func (c *apConn) serve(cn *pool.Conn, first *apRequest) (closed bool, carry *apRequest) {
	inflight := make(chan *apRequest, 4*apBatch)
	dead := make(chan struct{})
	var once sync.Once
	var deathErr error
	kill := func(err error) {
		once.Do(func() {
			deathErr = err
			close(dead)
			_ = cn.Close()
		})
	}
	readerDone := make(chan struct{})
	go c.read(cn, inflight, kill, readerDone)
	defer func() {
		close(inflight)
		<-readerDone
	}()

	batch := make([]*apRequest, 0, apBatch)
	small := 0 // batches in a row below autoPipe.last (stickyLast)
	var writeDeadline time.Time
	next := first
	c.pending.Store(0)
	for {
		batch = batch[:0]
		size := 0
		// A command whose caller has gone is dropped, never written.
		if next.state.CompareAndSwap(apQueued, apWriting) {
			batch = append(batch, next)
			size = argBytes(next.args)
		}
		for yields := 0; ; {
			n := len(batch)
		collect:
			for len(batch) < apBatch && size < apBytes {
				select {
				case req := <-c.queue:
					if req.state.CompareAndSwap(apQueued, apWriting) {
						batch = append(batch, req)
						size += argBytes(req.args)
					}
				default:
					break collect
				}
			}
			// Yield while that brings more commands, so that requests
			// arriving together share the write.
			if len(batch) >= apBatch || size >= apBytes || yields == apYields || (yields > 0 && len(batch) == n) {
				break
			}
			yields++
			runtime.Gosched()
		}
		stickyLast(c.last, &small, int32(len(batch)))
		if len(batch) > 0 && c.observe != nil {
			c.observe(len(batch))
		}
		// The write deadline moves as the reader's does (once per
		// quarter of the health timeout): a write that Redis leaves
		// stuck (a paused server, a full window) fails after 3/4 to
		// all of it, instead of holding the connection forever.
		if now := time.Now(); now.Sub(writeDeadline) > c.health/4 {
			_ = cn.NetConn().SetWriteDeadline(now.Add(c.health))
			writeDeadline = now
		}
		var werr error
		start := cn.Written()
		for _, req := range batch {
			if werr = cn.WriteCommand(req.args...); werr != nil {
				break
			}
		}
		if werr == nil {
			werr = cn.Flush()
		}
		if werr != nil {
			err := fmt.Errorf("client: auto-pipeline: %w", werr)
			kill(err)
			// A command that did not reach the network whole did not
			// run: only those before it may have.
			r := reachFrom(cn, start)
			for _, req := range batch {
				if r.whole(req.args...) {
					req.done <- apResult{err: err}
				} else {
					req.done <- apResult{err: notSent(err)}
				}
			}
			return false, nil
		}
		c.pending.Add(int32(len(batch)))
		for _, req := range batch {
			select {
			case inflight <- req:
			case <-dead:
				req.done <- apResult{err: deathErr}
			}
		}
		select {
		case next = <-c.queue:
			// One batch in flight: while the last one's replies are
			// outstanding, the commands arriving meanwhile wait for them
			// and then travel together.
			select {
			case <-c.idle: // a token from a batch already answered
			default:
			}
			if c.pending.Load() > 0 {
				select {
				case <-c.idle:
				case <-dead:
					return false, next // not written: the next connection takes it
				case <-c.closing:
					kill(errAutoPipeClosed)
					next.done <- apResult{err: notSent(errAutoPipeClosed)}
					c.failQueued(errAutoPipeClosed)
					return true, nil
				}
			}
		case <-dead:
			return false, nil
		case <-c.closing:
			kill(errAutoPipeClosed)
			c.failQueued(errAutoPipeClosed)
			return true, nil
		}
	}
}

// argBytes is the size of a command's arguments.
func argBytes(args []string) int {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	return n
}

// read matches replies to the commands in flight, in order. After a
// failure it fails every command still handed to it until serve stops.
func (c *apConn) read(cn *pool.Conn, inflight <-chan *apRequest, kill func(error), done chan<- struct{}) {
	defer close(done)
	var failed error
	var deadlineSet time.Time
	for req := range inflight {
		if failed != nil {
			req.done <- apResult{err: failed}
			continue
		}
		// Moving the deadline costs a timer update: do it once per
		// quarter of the health timeout, so a reply waits between 3/4 and
		// all of it before the connection is declared dead.
		if now := time.Now(); now.Sub(deadlineSet) > c.health/4 {
			_ = cn.NetConn().SetReadDeadline(now.Add(c.health))
			deadlineSet = now
		}
		v, err := cn.Read()
		if err != nil {
			failed = fmt.Errorf("client: auto-pipeline: %w", err)
			kill(failed)
			c.logger("auto-pipeline connection failed", err)
			req.done <- apResult{err: failed}
			continue
		}
		req.done <- apResult{v: v, err: v.Err()}
		if c.pending.Add(-1) == 0 {
			select {
			case c.idle <- struct{}{}:
			default:
			}
		}
	}
}
