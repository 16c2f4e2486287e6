package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
)

// Result is the outcome of one command of a pipeline or transaction:
// either Value (shaped by the response callbacks) or Err (a *Error for a
// Redis error reply).
type Result struct {
	Value any
	Err   error
	// Raw is the unshaped reply (an error reply too), for callers that
	// render replies their own way.
	Raw Value
}

// Pipeline queues commands and sends them to Redis in one write on one
// connection, then reads every reply in order. It is not safe for
// concurrent use: build it, run it and drop it in one goroutine.
type Pipeline struct {
	c    *Client
	cmds [][]string
}

// Pipeline returns an empty pipeline.
func (c *Client) Pipeline() *Pipeline { return &Pipeline{c: c} }

// Queue adds a command. Nothing is sent until [Pipeline.Exec].
func (p *Pipeline) Queue(args ...string) { p.cmds = append(p.cmds, args) }

// Len returns the number of queued commands.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Exec sends the queued commands and returns one Result per command, in
// order. Every command is checked before anything is sent: a refused
// command fails the whole pipeline and nothing runs. A failure before
// anything was written matches [ErrNotSent]. A transport failure midway
// fails the whole call with a *PipelineError, without ErrNotSent: the
// commands whose replies were read ran, the others may have; none is
// resent. The queue is emptied.
func (p *Pipeline) Exec(ctx context.Context) ([]Result, error) {
	cmds := p.cmds
	p.cmds = nil
	return p.c.Pipe(ctx, cmds)
}

// Pipe runs cmds as one pipeline; see [Pipeline.Exec].
func (c *Client) Pipe(ctx context.Context, cmds [][]string) ([]Result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if f, err := c.batchFence(ctx, cmds); err != nil {
		return nil, err
	} else if f != nil {
		return c.fencedPipe(ctx, f, cmds)
	}
	start := time.Now()
	pl, cn, err := c.pipeConn(ctx, cmds, start)
	if err != nil {
		return nil, err
	}
	done := cn.Watch(ctx)
	vals, unsent, err := pipeExchange(cn, cmds)
	if werr := done(); werr != nil && err != nil {
		err = keepOutcome(err, werr)
	}
	pl.Put(cn, err)
	out := make([]Result, len(vals))
	for i, v := range vals {
		out[i].Raw = v
		out[i].Value, out[i].Err = c.Shape(v, cmds[i])
		if c.observe != nil {
			c.observe(commandName(cmds[i]), time.Since(start), v.Err())
		}
	}
	if err != nil {
		return nil, c.pipeFailed(cmds, out, unsent, start, err)
	}
	return out, nil
}

// pipeFailed records and wraps the transport failure of a pipeline whose
// first len(read) replies were read and whose commands from unsent on
// did not reach Redis whole: not sent when none of them did, otherwise
// a *PipelineError.
func (c *Client) pipeFailed(cmds [][]string, read []Result, unsent int, start time.Time, err error) error {
	err = fmt.Errorf("client: pipeline: %w", err)
	c.observedPipe(cmds[len(read):], start, err)
	if errors.Is(err, ErrNotSent) {
		return err
	}
	return &PipelineError{Results: read, NotSent: len(cmds) - unsent, Err: err}
}

// batchFence checks every command of a pipeline and returns the fence
// it runs under (nil: none, or unfenced).
func (c *Client) batchFence(ctx context.Context, cmds [][]string) (*Fence, error) {
	if FenceFrom(ctx) == nil {
		return nil, nil
	}
	for i, args := range cmds {
		if err := CheckCommand(args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
	}
	f, err := fenceFor(ctx, cmds...)
	if err != nil {
		return nil, fmt.Errorf("client: pipeline: %w", err)
	}
	return f, nil
}

// pipeConn checks every command of a pipeline and takes a connection for
// it (from the blocking pool when one command blocks). Failures are
// recorded and returned as not sent.
func (c *Client) pipeConn(ctx context.Context, cmds [][]string, start time.Time) (*pool.Pool, *pool.Conn, error) {
	pl := c.pool
	for i, args := range cmds {
		if err := CheckCommand(args); err != nil {
			return nil, nil, fmt.Errorf("command %d: %w", i, err)
		}
		if IsBlocking(args) {
			pl = c.blocking
		}
	}
	cn, err := pl.Get(ctx)
	if err == nil && ctx.Err() != nil {
		pl.Put(cn, nil) // nothing written: the connection is clean
		err = ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("client: pipeline: %w", notSent(err))
		c.observedPipe(cmds, start, err)
		return nil, nil, err
	}
	return pl, cn, nil
}

// PipelineError is returned when a pipeline's connection failed after
// some of its commands reached Redis: Results holds the replies read
// before the failure, in order (those commands ran); the last NotSent
// commands certainly did not run (the write failed before they reached
// Redis whole, so they may be resent); whether the ones between ran is
// unknown.
type PipelineError struct {
	// Results are the replies of the first len(Results) commands.
	Results []Result
	// NotSent counts the commands at the end that never reached Redis
	// whole: the write failed before their last byte left the gateway.
	NotSent int
	// Err is the transport failure.
	Err error
}

// Error returns the transport failure's message.
func (e *PipelineError) Error() string { return e.Err.Error() }

// Unwrap returns the transport failure, for errors.Is/As.
func (e *PipelineError) Unwrap() error { return e.Err }

func (c *Client) observedPipe(cmds [][]string, start time.Time, err error) {
	if c.observe == nil {
		return
	}
	for _, args := range cmds {
		c.observe(commandName(args), time.Since(start), err)
	}
}

// pipeExchange writes every command, flushes once, and reads one reply per
// command. The error is a transport error only; with it come the replies
// read before it and the index of the first command that did not reach
// Redis whole (len(cmds) when the write succeeded; see writeCmds).
func pipeExchange(cn *pool.Conn, cmds [][]string) ([]Value, int, error) {
	if unsent, err := writeCmds(cn, cmds); err != nil {
		return nil, unsent, err
	}
	vals := make([]Value, len(cmds))
	for i := range cmds {
		v, err := readReply(cn)
		if err != nil {
			return vals[:i], len(cmds), err
		}
		vals[i] = v
	}
	return vals, len(cmds), nil
}

// ErrTxAborted is returned by a transaction whose EXEC answered nil because
// a watched key changed: no queued command ran.
var ErrTxAborted = errors.New("client: transaction aborted: a watched key changed")

// TxError is returned when Redis discarded a transaction before running it
// (EXECABORT): some command was refused when queued. Results holds, per
// command, the error it was refused with, or nil.
type TxError struct {
	// Err is the EXEC reply (code EXECABORT).
	Err *Error
	// Results holds one entry per queued command; Err is set on those
	// Redis refused at queue time.
	Results []Result
}

// Error returns the EXECABORT message.
func (e *TxError) Error() string { return e.Err.Msg }

// Unwrap returns the *Error, so errors.As finds its code.
func (e *TxError) Unwrap() error { return e.Err }

// Transaction runs cmds atomically with MULTI/EXEC on a connection of its
// own, after WATCH on the watch keys (if any). It returns one Result per
// command: runtime errors (such as WRONGTYPE) are per-command, as in Redis.
// It returns [ErrTxAborted] when a watched key changed, a *TxError when
// Redis refused a command at queue time (nothing ran), and errors wrapping
// ErrForbiddenCommand before sending anything. A failure before MULTI was
// written matches [ErrNotSent]; a transport failure after it does not (the
// transaction may have run).
//
// To read values between WATCH and MULTI, use [Client.Tx].
func (c *Client) Transaction(ctx context.Context, watch []string, cmds [][]string) ([]Result, error) {
	if f, err := fenceFor(ctx, cmds...); err != nil {
		return nil, fmt.Errorf("client: transaction: %w", err)
	} else if f != nil {
		return c.fencedTransaction(ctx, f, watch, cmds, nil)
	}
	tx, err := c.Tx(ctx, watch...)
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	for _, args := range cmds {
		tx.Queue(args...)
	}
	return tx.Exec(ctx)
}
