package pool

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Conn is one connection to Redis, handshaken for its pool's database and
// protocol. A Conn is not safe for concurrent use: it belongs to whoever
// took it from the pool until it is returned with [Pool.Put].
type Conn struct {
	nc        net.Conn
	br        *bufio.Reader
	rd        *resp.Reader
	wr        *resp.Writer
	sent      sentCounter // under wr: the bytes the network accepted
	proto     int
	createdAt time.Time
	usedAt    time.Time
	broken    atomic.Bool
	// pending counts replies written for and not yet read. Atomic: a
	// pub/sub or auto-pipelined connection writes in one goroutine while
	// another reads.
	pending atomic.Int32
	pooled  bool // counted in a pool's slots
	inPool  bool // sitting in the idle stack (guarded by the pool's mu)

	// State of the liveness check, kept so that it allocates nothing.
	raw     syscall.RawConn
	peekFn  func(fd uintptr) bool
	peekBuf [1]byte
	peekErr error
}

func newConn(nc net.Conn, lim resp.Limits) *Conn {
	br := bufio.NewReaderSize(nc, 16<<10)
	now := time.Now()
	cn := &Conn{
		nc:        nc,
		br:        br,
		rd:        resp.NewReader(br, lim),
		proto:     2,
		createdAt: now,
		usedAt:    now,
	}
	cn.sent.w = nc
	cn.wr = resp.NewWriter(bufio.NewWriterSize(&cn.sent, 16<<10))
	return cn
}

// sentCounter passes writes to the network connection and counts the
// bytes it accepted, including those of a write that failed partway.
type sentCounter struct {
	w io.Writer
	n int64
}

func (s *sentCounter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// Sent returns how many bytes of the commands written on the connection
// the network accepted. After a failed write, the bytes past Sent never
// left the process: a command that ends past it (see [resp.CommandLen])
// did not reach Redis whole, and Redis runs a command only once its last
// byte has arrived, so it certainly did not run. Call it from the
// goroutine that writes.
func (cn *Conn) Sent() int64 { return cn.sent.n }

// Written returns how many bytes of commands have been written on the
// connection: [Conn.Sent] plus those still buffered. Call it from the
// goroutine that writes.
func (cn *Conn) Written() int64 { return cn.sent.n + int64(cn.wr.Buffered()) }

// WriteCommand buffers one command; nothing is sent until [Conn.Flush].
func (cn *Conn) WriteCommand(args ...string) error {
	if err := cn.wr.WriteCommand(args...); err != nil {
		cn.MarkBroken()
		return err
	}
	cn.pending.Add(1)
	return nil
}

// Flush sends everything buffered.
func (cn *Conn) Flush() error {
	if err := cn.wr.Flush(); err != nil {
		cn.MarkBroken()
		return err
	}
	return nil
}

// Read reads one reply. A Redis error reply is a Value, not an error; the
// error is a transport or protocol failure, after which the connection is
// marked broken.
func (cn *Conn) Read() (resp.Value, error) {
	v, err := cn.rd.Read()
	if err != nil {
		cn.MarkBroken()
		return resp.Value{}, err
	}
	if v.Kind != resp.Push { // pushes answer no command
		cn.answered()
	}
	return v, nil
}

// answered counts one reply read: one command fewer awaits its answer.
func (cn *Conn) answered() {
	for {
		n := cn.pending.Load()
		if n <= 0 || cn.pending.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// Protocol returns the negotiated RESP version: 2 or 3.
func (cn *Conn) Protocol() int { return cn.proto }

// CreatedAt returns when the connection was dialled.
func (cn *Conn) CreatedAt() time.Time { return cn.createdAt }

// NetConn returns the underlying network connection (for deadlines set by
// long-lived users such as pub/sub, and for tests).
func (cn *Conn) NetConn() net.Conn { return cn.nc }

// Broken reports whether the connection must not be reused.
func (cn *Conn) Broken() bool { return cn.broken.Load() }

// MarkBroken makes [Pool.Put] close the connection instead of reusing it.
func (cn *Conn) MarkBroken() { cn.broken.Store(true) }

// Close closes the network connection.
func (cn *Conn) Close() error {
	cn.MarkBroken()
	return cn.nc.Close()
}

// Watch ties I/O on the connection to ctx: the connection's deadline
// becomes ctx's deadline (or none), and cancelling ctx interrupts any
// blocked read or write. The returned function undoes this; it returns
// ctx.Err() when ctx ended while watched, in which case the connection is
// marked broken (a reply may be half read), and context.DeadlineExceeded
// once ctx's deadline has passed (even before ctx's timer noticed).
// Otherwise it clears the
// deadline: left on the socket, it would fail the idle liveness check of a
// connection idle longer than the last command's timeout, and the pool
// would re-dial it long before Config.MaxIdleTime.
func (cn *Conn) Watch(ctx context.Context) (done func() error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	_ = cn.nc.SetDeadline(dl)
	if ctx.Done() == nil {
		return func() error { return nil } // can never be cancelled
	}
	stop := context.AfterFunc(ctx, func() {
		_ = cn.nc.SetDeadline(time.Unix(1, 0)) // in the past: unblock I/O now
	})
	return func() error {
		// stop reports false once the interrupt has started: it may still
		// be about to move the deadline into the past, so the connection
		// must not be reused even if the exchange itself completed.
		if !stop() {
			cn.MarkBroken()
			return ctx.Err()
		}
		if !dl.IsZero() {
			_ = cn.nc.SetDeadline(time.Time{})
			// The socket's deadline is ctx's, and it may fire before
			// ctx's own timer does: an exchange that failed with
			// os.ErrDeadlineExceeded then still gets the deadline as its
			// explanation. (Callers use the error only when the exchange
			// failed; nothing interrupted it, so it is not marked broken
			// here.)
			if !time.Now().Before(dl) {
				return context.DeadlineExceeded
			}
		}
		return nil
	}
}

// clean reports whether the connection is fit to go back to the pool: not
// broken, every command's reply read, and no unread or unsent bytes (a
// reply nobody read would be handed to the next user).
func (cn *Conn) clean() bool {
	return !cn.Broken() && cn.pending.Load() == 0 && cn.br.Buffered() == 0 && cn.wr.Buffered() == 0
}

// errUnexpectedRead is returned by the liveness check when an idle
// connection has data waiting (it would desynchronise the next command).
var errUnexpectedRead = errors.New("pool: unexpected data on idle connection")

// alive checks, without blocking, that the server has not closed an idle
// connection and sent nothing unexpected on it.
func (cn *Conn) alive() error {
	if cn.raw == nil {
		sc, ok := cn.nc.(syscall.Conn)
		if !ok {
			return nil // TLS: rely on age checks and on errors at use
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			return err
		}
		cn.raw = raw
		cn.peekFn = cn.peek // bound once: no closure per check
	}
	if err := cn.raw.Read(cn.peekFn); err != nil {
		return err
	}
	return cn.peekErr
}

// peek is the raw read of alive: a non-blocking MSG_PEEK of one byte.
func (cn *Conn) peek(fd uintptr) bool {
	n, _, e := syscall.Recvfrom(int(fd), cn.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case n == 0 && e == nil:
		cn.peekErr = io.EOF
	case n > 0:
		cn.peekErr = errUnexpectedRead
	case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
		cn.peekErr = nil
	default:
		cn.peekErr = e
	}
	return true
}

// Visit reads one reply into vis (see [resp.Reader.Visit]), skipping push
// frames, which answer no command. A transport or protocol failure (err)
// marks the connection broken; an error of the visitor (visitErr) does
// not, because the whole reply has still been read.
func (cn *Conn) Visit(vis resp.Visitor) (visitErr, err error) {
	for {
		typ, err := cn.rd.PeekType()
		if err != nil {
			cn.MarkBroken()
			return nil, err
		}
		if typ != '>' {
			break
		}
		if _, err := cn.rd.Read(); err != nil {
			cn.MarkBroken()
			return nil, err
		}
	}
	visitErr, err = cn.rd.Visit(vis)
	if err != nil {
		cn.MarkBroken()
		return visitErr, err
	}
	cn.answered()
	return visitErr, nil
}

// PeekType returns the type byte of the next reply without reading it.
func (cn *Conn) PeekType() (byte, error) {
	typ, err := cn.rd.PeekType()
	if err != nil {
		cn.MarkBroken()
	}
	return typ, err
}

// ReadArrayHeader reads the header of an array reply (n elements, -1 for
// a null array) and counts the reply as read: its elements must follow
// with ReadElem or VisitElem. A failure marks the connection broken.
func (cn *Conn) ReadArrayHeader() (int, error) {
	n, err := cn.rd.ReadArrayHeader()
	if err != nil {
		cn.MarkBroken()
		return 0, err
	}
	cn.answered()
	return n, nil
}

// ReadElem reads one element of an array begun with ReadArrayHeader.
func (cn *Conn) ReadElem() (resp.Value, error) {
	v, err := cn.rd.Read()
	if err != nil {
		cn.MarkBroken()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	return v, err
}

// VisitElem visits one element of an array begun with ReadArrayHeader;
// errors as for Visit.
func (cn *Conn) VisitElem(vis resp.Visitor) (visitErr, err error) {
	visitErr, err = cn.rd.Visit(vis)
	if err != nil {
		cn.MarkBroken()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	return visitErr, err
}

// Bound bounds the next exchange by ctx's deadline with a socket deadline
// only, without watching ctx for cancellation (see Watch): for commands
// that answer in microseconds, where waiting out a caller who left costs
// less than the watch. Pass what it returns to Unbound when the exchange
// is over.
func (cn *Conn) Bound(ctx context.Context) (bounded bool) {
	dl, bounded := ctx.Deadline()
	if bounded {
		_ = cn.nc.SetDeadline(dl)
	}
	return bounded
}

// Unbound ends what Bound began: it clears the socket deadline and maps
// the exchange's error err as Watch's done does (the context's error
// when the deadline passed or the caller left).
func (cn *Conn) Unbound(ctx context.Context, bounded bool, err error) error {
	if bounded {
		_ = cn.nc.SetDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if bounded && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}
