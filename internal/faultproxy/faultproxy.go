// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server.
//
// A [Proxy] listens on a free loopback port and forwards every accepted
// connection to its target. While it runs, a test can
//
//   - delay every chunk of bytes in both directions ([Proxy.SetLatency]),
//   - blackhole the link: new connections are accepted and held without
//     being forwarded, and bytes on existing ones are swallowed
//     ([Proxy.SetBlackhole]),
//   - reset every open connection with a TCP RST ([Proxy.ResetAll]),
//   - cut the next reply in half: the next chunk the server sends is
//     forwarded only in part, then that connection is closed
//     ([Proxy.CutNextReply]),
//   - cut a request midway: after the next n bytes from the clients, the
//     connection carrying them is reset on the client's side and closed
//     on the server's ([Proxy.CutRequestAfter]).
//
// It is for tests on loopback only; it makes no attempt at throughput.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards TCP connections to a target and injects faults on
// demand. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	latency   atomic.Int64 // time.Duration
	blackhole atomic.Bool
	cutNext   atomic.Bool
	// cutReq is the client→server bytes left before CutRequestAfter's
	// cut; below zero: no cut armed.
	cutReq atomic.Int64

	accepted atomic.Int64
	cuts     atomic.Int64

	mu     sync.Mutex
	links  map[*link]struct{}
	closed bool
	wg     sync.WaitGroup // accept loop and every pump
}

// link is one proxied connection: the accepted client side and, unless
// the connection was blackholed at accept, the dialled server side.
type link struct {
	client net.Conn
	done   chan struct{}

	mu     sync.Mutex
	server net.Conn
	ended  bool
}

// setServer attaches the dialled server side, or reports false (and
// closes s) when the link already ended meanwhile.
func (l *link) setServer(s net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		s.Close()
		return false
	}
	l.server = s
	return true
}

// close ends the link; with reset, both sides get a TCP RST instead of a
// FIN.
func (l *link) close(reset bool) { l.end(reset, reset) }

// end ends the link, resetting the client side and the server side as
// asked (a side not reset gets a FIN).
func (l *link) end(resetClient, resetServer bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	server := l.server
	l.mu.Unlock()
	close(l.done)
	for _, side := range []struct {
		c     net.Conn
		reset bool
	}{{l.client, resetClient}, {server, resetServer}} {
		if side.c == nil {
			continue
		}
		if tc, ok := side.c.(*net.TCPConn); ok && side.reset {
			_ = tc.SetLinger(0)
		}
		_ = side.c.Close()
	}
}

// cutRequest ends l at CutRequestAfter's bound. The client side is reset,
// so a client still writing gets an error. The server side is half-closed
// (FIN after the bytes forwarded) and closed only once the server has
// closed its own side, its replies read and dropped meanwhile: closing it
// with replies unread would send a RST, and a server that gets a RST may
// drop forwarded bytes it has not read yet.
func (l *link) cutRequest(wg *sync.WaitGroup) {
	l.mu.Lock()
	server := l.server
	l.server = nil // end leaves it to the drain below
	l.mu.Unlock()
	l.end(true, false)
	if server == nil {
		return
	}
	if tc, ok := server.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, server)
		_ = server.Close()
	}()
}

// Start listens on 127.0.0.1 (a free port) and forwards to target
// ("host:port"). The target is dialled once per accepted connection; a
// failed dial closes that connection. Stop the proxy with [Proxy.Close].
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, links: map[*link]struct{}{}}
	p.cutReq.Store(-1)
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address clients should dial ("127.0.0.1:port").
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk forwarded in either direction by d from
// now on (0 turns it off). Chunks already waiting keep their delay.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// SetBlackhole turns the blackhole on or off. While on, new connections
// are accepted but never forwarded (they stay blackholed after it is
// turned off, until they are closed), and bytes read on existing
// connections in either direction are dropped. Turning it off lets
// existing connections forward again; whatever was dropped is lost, so a
// client must treat a connection that timed out meanwhile as broken.
func (p *Proxy) SetBlackhole(on bool) { p.blackhole.Store(on) }

// CutNextReply arranges for the next chunk read from the server, on any
// connection, to be forwarded only in part (half its bytes, rounded down)
// before that connection is closed on both sides. Other connections are
// not affected. Calling it again before a chunk arrived changes nothing.
func (p *Proxy) CutNextReply() { p.cutNext.Store(true) }

// CutRequestAfter arranges for the client→server traffic, on any
// connection, to be cut once n more bytes have passed: the chunk that
// crosses the bound is forwarded up to it, and that connection is then
// reset (TCP RST) on the client's side, so a client still writing gets an
// error, and closed on the server's after the bytes forwarded (see
// cutRequest): the server receives exactly n bytes of what the clients
// sent since the call, then the end of the stream. Other connections are
// not affected.
func (p *Proxy) CutRequestAfter(n int64) { p.cutReq.Store(n) }

// takeRequestBytes counts n client→server bytes against CutRequestAfter's
// bound; cut reports that they cross it, after the first left of them.
func (p *Proxy) takeRequestBytes(n int64) (left int64, cut bool) {
	for {
		left = p.cutReq.Load()
		switch {
		case left < 0:
			return 0, false
		case n <= left:
			if p.cutReq.CompareAndSwap(left, left-n) {
				return 0, false
			}
		case p.cutReq.CompareAndSwap(left, -1):
			return left, true
		}
	}
}

// ResetAll closes every open connection with a TCP RST on both sides and
// returns how many it closed. New connections are accepted as usual.
func (p *Proxy) ResetAll() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
	return len(links)
}

// Stats reports how many connections were accepted so far, how many are
// open now and how many replies were cut.
func (p *Proxy) Stats() (accepted, open, cuts int) {
	p.mu.Lock()
	open = len(p.links)
	p.mu.Unlock()
	return int(p.accepted.Load()), open, int(p.cuts.Load())
}

// Close stops listening, closes every connection and waits until all the
// proxy's goroutines have returned. Calling it more than once is
// harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range links {
		l.close(false)
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient accept error; the listener is still open
		}
		p.accepted.Add(1)
		l := &link{client: c, done: make(chan struct{})}
		if !p.track(l) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(l)
	}
}

// track registers l, or reports false once the proxy is closed.
func (p *Proxy) track(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) untrack(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// serve dials the target for l and runs the two pumps until either side
// ends; a blackholed link just waits to be closed.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer p.untrack(l)
	if p.blackhole.Load() {
		// Hold the connection open, reading and dropping whatever the
		// client sends, until it goes away or the proxy closes it.
		_, _ = io.Copy(io.Discard, l.client)
		l.close(false)
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		l.close(false)
		return
	}
	if !l.setServer(s) {
		return // reset or closed while dialling
	}
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); p.pump(l, l.client, s, false) }()
	go func() { defer pumps.Done(); p.pump(l, s, l.client, true) }()
	pumps.Wait()
}

// pump copies src to dst chunk by chunk, applying the faults in force
// when each chunk is read. fromServer marks the server→client direction,
// the one CutNextReply acts on. Either side ending closes the link.
func (p *Proxy) pump(l *link, src, dst net.Conn, fromServer bool) {
	defer l.close(false)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.latency.Load()); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-l.done:
					t.Stop()
					return
				}
			}
			chunk := buf[:n]
			switch {
			case p.blackhole.Load():
				chunk = nil
			case fromServer && p.cutNext.CompareAndSwap(true, false):
				p.cuts.Add(1)
				_, _ = dst.Write(chunk[:n/2])
				return
			case !fromServer:
				if left, cut := p.takeRequestBytes(int64(n)); cut {
					p.cuts.Add(1)
					_, _ = dst.Write(chunk[:left])
					l.cutRequest(&p.wg)
					return
				}
			}
			if len(chunk) > 0 {
				if _, werr := dst.Write(chunk); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
