package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Visitor receives a reply while it is read; see [resp.Visitor].
type Visitor = resp.Visitor

// Visiting is implemented by backends that can hand a reply to a
// [Visitor] as it arrives instead of building it ([Client.DoVisit]).
type Visiting interface {
	// GenericReply reports whether the reply to args is shaped by the
	// generic conversion, so that visiting it loses nothing Do would give.
	GenericReply(args []string) bool
	// DoVisit runs one command and hands its reply to vis.
	DoVisit(ctx context.Context, vis Visitor, args ...string) error
}

var _ Visiting = (*Client)(nil)

// visitMaxArgs is the longest command DoVisit still sends over the
// auto-pipelined connections (then walking the reply it built): a short
// command most likely has a short reply, and batching it is what
// auto-pipelining is for. Longer ones stream on a pooled connection.
const visitMaxArgs = 16

// GenericReply reports whether this client shapes the reply to args with
// the generic conversion (no callback, or the "raw" one).
func (c *Client) GenericReply(args []string) bool { return c.reg.Generic(args) }

// DoVisit runs one command and hands its reply to vis while reading it,
// so that a large reply (an MGET of 100,000 keys) is never held as a tree
// of Values: the memory it takes is what vis keeps. A Redis error reply
// at the top level is not visited but returned as a *Error, as Do does;
// errors of vis are returned as they are, with the connection kept
// (the rest of the reply is read); transport errors as DoRaw returns them.
func (c *Client) DoVisit(ctx context.Context, vis Visitor, args ...string) error {
	if err := CheckCommand(args); err != nil {
		return err
	}
	return c.doVisit(ctx, vis, args, c.shared(args) && len(args) <= visitMaxArgs, time.Time{})
}

// doVisit is DoVisit over the shared connections (walking the reply
// they built) or a pooled one (visiting it as it is read). deadline is
// doRaw's.
func (c *Client) doVisit(ctx context.Context, vis Visitor, args []string, shared bool, deadline time.Time) error {
	if f, err := fenceFor(ctx, args); err != nil {
		return fmt.Errorf("client: %s: %w", upper(args[0]), err)
	} else if f != nil {
		ctx, cancel := withDeadline(ctx, deadline)
		defer cancel()
		return c.fencedVisit(ctx, f, vis, args)
	}
	if shared {
		v, err := c.doAutoPipelined(ctx, args, deadline)
		if err != nil {
			return err
		}
		return resp.Walk(v, vis)
	}
	start := time.Now()
	p, cn, err := c.conn(ctx, args, start)
	if err != nil {
		return err
	}
	if c.ap != nil && quick(args) {
		// counted as doRaw counts its quick commands, so that /command
		// traffic alone also reaches the adaptive bound
		c.busy.Add(1)
		defer c.busy.Add(-1)
	}
	top := topLevel{vis: vis}
	var verr error
	if quick(args) {
		// a socket deadline alone, as doRaw runs quick commands
		bounded := cn.Bound(ctx)
		verr, err = visitExchange(cn, args, &top)
		err = keepOutcome(err, cn.Unbound(ctx, bounded, err))
	} else {
		done := cn.Watch(ctx)
		verr, err = visitExchange(cn, args, &top)
		if werr := done(); werr != nil && err != nil {
			err = keepOutcome(err, werr) // the cancellation explains the I/O error
		}
	}
	p.Put(cn, err)
	if err != nil {
		err = fmt.Errorf("client: %s: %w", upper(args[0]), err)
		c.observed(args, start, err)
		return err
	}
	c.observed(args, start, top.rerr)
	if top.rerr != nil {
		return top.rerr
	}
	return verr
}

// visitExchange writes one command and visits its reply; a failed write
// is marked [ErrNotSent] as exchange marks it.
func visitExchange(cn *pool.Conn, args []string, vis resp.Visitor) (visitErr, err error) {
	if err := writeOne(cn, args); err != nil {
		return nil, err
	}
	return cn.Visit(vis)
}

// topLevel keeps a top-level error reply from the visitor: it becomes
// DoVisit's *Error, as Do returns it.
type topLevel struct {
	vis   Visitor
	depth int
	rerr  error
}

func (t *topLevel) Scalar(v Value) error {
	if t.depth == 0 && v.IsError() {
		t.rerr = v.Err()
		return nil
	}
	return t.vis.Scalar(v)
}

func (t *topLevel) Begin(kind resp.Kind, n int) error {
	t.depth++
	return t.vis.Begin(kind, n)
}

func (t *topLevel) End() error {
	t.depth--
	return t.vis.End()
}

// PipeVisitor receives the replies of [Client.PipeVisit] in order.
type PipeVisitor interface {
	// Reply returns the Visitor that the reply to command i streams
	// into. It is called only for commands shaped generically
	// ([Client.GenericReply]); the others are read whole and shaped.
	Reply(i int) Visitor
	// Done closes reply i. res.Err is an error reply (visited or not:
	// an error reply is never visited) or a callback's failure; res.Value
	// is the shaped value of a reply that was not visited.
	Done(i int, res Result) error
}

// RawPipeVisitor is a PipeVisitor that takes every reply unshaped: when
// RawReplies reports true, every reply is visited, whatever callback its
// command has (for surfaces that render Redis's own reply, such as the
// Upstash one).
type RawPipeVisitor interface {
	PipeVisitor
	RawReplies() bool
}

// PipeVisit runs cmds as one pipeline, as [Client.Pipe] does (same
// checks, one write, the same errors: a *PipelineError when the
// connection fails midway, its Results as long as the replies read, with
// the visited ones empty), but hands each reply to pv while reading it.
// The first error of pv is returned after every reply has been read.
func (c *Client) PipeVisit(ctx context.Context, cmds [][]string, pv PipeVisitor) error {
	if len(cmds) == 0 {
		return nil
	}
	if f, err := c.batchFence(ctx, cmds); err != nil {
		return err
	} else if f != nil {
		return c.fencedPipeVisit(ctx, f, nil, cmds, pv)
	}
	start := time.Now()
	pl, cn, err := c.pipeConn(ctx, cmds, start)
	if err != nil {
		return err
	}
	done := cn.Watch(ctx)
	n, unsent, verr, err := c.pipeVisitExchange(cn, cmds, pv, start)
	if werr := done(); werr != nil && err != nil {
		err = keepOutcome(err, werr)
	}
	pl.Put(cn, err)
	if err != nil {
		return c.pipeFailed(cmds, make([]Result, n), unsent, start, err)
	}
	return verr
}

// pipeVisitExchange writes cmds, then reads and hands over each reply. It
// returns how many replies were read, the index of the first command
// that did not reach Redis whole (as pipeExchange), the first error of
// pv, and the transport error that stopped it, if any.
func (c *Client) pipeVisitExchange(cn *pool.Conn, cmds [][]string, pv PipeVisitor, start time.Time) (n, unsent int, verr, err error) {
	if unsent, err := writeCmds(cn, cmds); err != nil {
		return 0, unsent, nil, err
	}
	for i, args := range cmds {
		res, e, err := c.visitReply(cn.Visit, func() (Value, error) { return readReply(cn) }, args, i, pv)
		if err != nil {
			return i, len(cmds), verr, err
		}
		if c.observe != nil {
			c.observe(commandName(args), time.Since(start), replyErr(res))
		}
		if verr == nil {
			verr = e
		}
	}
	return len(cmds), len(cmds), verr, nil
}

// replyErr is the error reply in res, for Config.Observe: nil when the
// reply was no error, or when only a callback failed on it.
func replyErr(res Result) error {
	if re := (*Error)(nil); errors.As(res.Err, &re) {
		return re
	}
	return nil
}

// visitReply reads the reply to command i (args), with visit when it is
// shaped generically and with read otherwise, and hands it to pv. It
// returns the Result given to pv.Done, the first error of pv, and a
// transport error.
func (c *Client) visitReply(visit func(Visitor) (error, error), read func() (Value, error), args []string, i int, pv PipeVisitor) (res Result, verr, err error) {
	if rv, ok := pv.(RawPipeVisitor); (ok && rv.RawReplies()) || c.reg.Generic(args) {
		top := topLevel{vis: pv.Reply(i)}
		if verr, err = visit(&top); err != nil {
			return res, verr, err
		}
		res.Err = top.rerr
	} else {
		v, err := read()
		if err != nil {
			return res, nil, err
		}
		res.Raw = v
		res.Value, res.Err = c.Shape(v, args)
	}
	if e := pv.Done(i, res); verr == nil {
		verr = e
	}
	return res, verr, nil
}

// TransactionVisit is [Client.Transaction] with the replies handed to pv
// while EXEC's reply is read (see [Client.PipeVisit]); the errors are
// Transaction's, then the first error of pv.
func (c *Client) TransactionVisit(ctx context.Context, watch []string, cmds [][]string, pv PipeVisitor) error {
	if f, err := fenceFor(ctx, cmds...); err != nil {
		return fmt.Errorf("client: transaction: %w", err)
	} else if f != nil {
		_, err := c.fencedTransaction(ctx, f, watch, cmds, pv)
		return err
	}
	tx, err := c.Tx(ctx, watch...)
	if err != nil {
		return err
	}
	defer tx.Close()
	for _, args := range cmds {
		tx.Queue(args...)
	}
	_, err = tx.exec(ctx, pv)
	return err
}

// execReplies reads EXEC's array reply into pv, element by element.
func (tx *Tx) execReplies(cmds [][]string, pv PipeVisitor) (verr, err error) {
	cn := tx.cn
	n, err := cn.ReadArrayHeader()
	switch {
	case err != nil:
		return nil, err
	case n == -1:
		return nil, ErrTxAborted
	case n != len(cmds):
		cn.MarkBroken() // its elements are unread
		return nil, fmt.Errorf("%w: EXEC returned %d replies for %d commands", resp.ErrProtocol, n, len(cmds))
	}
	for i, args := range cmds {
		_, e, err := tx.c.visitReply(cn.VisitElem, cn.ReadElem, args, i, pv)
		if err != nil {
			return verr, err
		}
		if verr == nil {
			verr = e
		}
	}
	return verr, nil
}
