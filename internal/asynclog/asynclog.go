// Package asynclog is an io.Writer that batches log lines in memory and
// writes them to the underlying writer from one goroutine, so that a
// request that logs a line costs a copy into a buffer instead of a system
// call.
//
// The buffer is bounded: a line that does not fit (the underlying writer
// is slower than the lines arrive, or blocked) is dropped and counted
// ([Writer.Dropped]), never waited for. The buffer is written out when it
// passes [Config.FlushBytes], every [Config.Interval], on [Writer.Flush]
// and on [Writer.Close]. What the process had buffered when it crashes
// (at most one interval's lines) is lost.
package asynclog

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds a Writer's bounds. A zero field means the default in its
// comment.
type Config struct {
	// Interval is the longest a line waits in the buffer. Default 100ms.
	Interval time.Duration
	// FlushBytes wakes the writing goroutine early once the buffer holds
	// this many bytes. Default 32 KiB.
	FlushBytes int
	// MaxBytes bounds the buffer: a line that would take it past this is
	// dropped and counted. Default 4 MiB. The writer holds two buffers (one
	// filling, one being written), each grown on demand and kept at the
	// largest size a burst needed: at most about 2 × MaxBytes in all.
	MaxBytes int
}

// Writer batches writes to an underlying io.Writer; see the package
// comment. Each Write must be one whole line (as log/slog's handlers
// write them), so that a dropped write drops a whole line. It is safe for
// concurrent use.
type Writer struct {
	out io.Writer
	cfg Config

	mu     sync.Mutex
	buf    []byte        // lines waiting, filled by Write
	closed bool          // after Close: Write goes straight to out
	kick   chan struct{} // wakes the writing goroutine (capacity 1)
	first  chan struct{} // a line reached an empty buffer: start the interval (capacity 1)
	flush  chan chan struct{}
	done   chan struct{} // closed when the goroutine has returned
	stop   chan struct{}
	once   sync.Once

	dropped atomic.Uint64
	errs    atomic.Uint64
}

// New starts a Writer over out and its writing goroutine; Close stops it.
func New(out io.Writer, cfg Config) *Writer {
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = 32 << 10
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 4 << 20
	}
	if cfg.FlushBytes > cfg.MaxBytes {
		cfg.FlushBytes = cfg.MaxBytes
	}
	w := &Writer{
		out:   out,
		cfg:   cfg,
		buf:   make([]byte, 0, cfg.FlushBytes*2),
		kick:  make(chan struct{}, 1),
		first: make(chan struct{}, 1),
		flush: make(chan chan struct{}),
		done:  make(chan struct{}),
		stop:  make(chan struct{}),
	}
	go w.run()
	return w
}

// Write copies p into the buffer and returns at once. A p that does not
// fit in [Config.MaxBytes] is dropped and counted; Write still reports
// success, so that a logger never fails a request over it. After Close,
// Write writes to the underlying writer directly.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		defer w.mu.Unlock()
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.cfg.MaxBytes {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	wasEmpty := len(w.buf) == 0
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.cfg.FlushBytes
	w.mu.Unlock()
	switch {
	case full:
		w.Wake()
	case wasEmpty:
		select {
		case w.first <- struct{}{}:
		default: // already signalled
		}
	}
	return len(p), nil
}

// Wake asks the writing goroutine to write the buffer out now, without
// waiting for it (for a line that should not wait for the interval, such
// as a warning).
func (w *Writer) Wake() {
	select {
	case w.kick <- struct{}{}:
	default: // already asked
	}
}

// Flush writes out every line buffered before the call and returns once
// they have been handed to the underlying writer.
func (w *Writer) Flush() {
	ack := make(chan struct{})
	select {
	case w.flush <- ack:
		<-ack
	case <-w.done:
	}
}

// Close writes out what is buffered, stops the writing goroutine, and
// makes later writes go to the underlying writer directly. It does not
// close the underlying writer. Calling it more than once is harmless.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

// Dropped returns how many lines were dropped because the buffer was full.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// WriteErrors returns how many writes to the underlying writer failed
// (their lines are lost).
func (w *Writer) WriteErrors() uint64 { return w.errs.Load() }

// run is the writing goroutine: it swaps the filled buffer for its own
// empty one under the lock and writes it out without the lock, so Write
// never waits for the underlying writer. Its timer runs only while a line
// waits, so an idle process is not woken every interval.
func (w *Writer) run() {
	defer close(w.done)
	t := time.NewTimer(w.cfg.Interval)
	t.Stop()
	defer t.Stop()
	armed := false
	spare := make([]byte, 0, 2*w.cfg.FlushBytes)
	write := func() {
		w.mu.Lock()
		b := w.buf
		w.buf = spare[:0]
		w.mu.Unlock()
		if len(b) > 0 {
			if _, err := w.out.Write(b); err != nil {
				w.errs.Add(1)
			}
		}
		spare = b // kept at the size a burst grew it to (at most about MaxBytes): no allocation per batch
	}
	for {
		var tc <-chan time.Time
		if armed {
			tc = t.C
		}
		select {
		case <-w.first:
			if !armed {
				t.Reset(w.cfg.Interval)
				armed = true
			}
		case <-tc:
			armed = false
			write()
		case <-w.kick:
			write()
		case ack := <-w.flush:
			write()
			close(ack)
		case <-w.stop:
			w.mu.Lock()
			b := w.buf
			w.buf = nil
			w.closed = true
			if len(b) > 0 {
				if _, err := w.out.Write(b); err != nil {
					w.errs.Add(1)
				}
			}
			w.mu.Unlock()
			return
		}
	}
}
