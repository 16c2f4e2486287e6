package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Fence makes one request's commands run at most once across its
// attempts, without Lua: each attempt runs them inside MULTI/EXEC after
// WATCH on a run key (Key) that the transaction itself sets to the
// attempt's id (Value). See [WithFence] and docs/reliability.md.
//
// A Fence belongs to one request; the client records on it whether the
// fenced commands may have reached Redis ([Fence.Sent]).
type Fence struct {
	// Key is the run key K. Every attempt of one request uses the same K.
	Key string
	// Value is this attempt's id, written to K by the attempt that runs.
	Value string
	// TTL is how long K lives once set (at least as long as a retry may
	// come: the idempotency record's TTL).
	TTL time.Duration
	// Unfenced, when set, is called before a command that cannot run
	// fenced (a blocking command: inside MULTI it would not block) is
	// sent anyway; an error fails the command as not sent. The
	// idempotency store uses it to mark the attempt as one whose
	// commands may have run without a trace in K.
	Unfenced func(ctx context.Context) error

	sent       atomic.Bool
	afterCheck func() // tests: runs between the check and MULTI (export_test.go)
}

// Sent reports whether the fenced MULTI/EXEC was written (in part or
// whole): from then on the commands may have run, and only K tells.
func (f *Fence) Sent() bool { return f != nil && f.sent.Load() }

type fenceKey struct{}

// WithFence returns ctx whose commands run fenced by f: [Client.Do],
// DoRaw, DoGeneric, DoWithin, DoVisit, DoVisitWithin, Pipe, PipeVisit,
// Transaction and TransactionVisit then take a pooled connection (never
// an auto-pipelined one), send WATCH K and GET K in one write, and
//
//   - when K holds a value, run nothing and return a [*FencedError]
//     (the request ran earlier, under the attempt K names);
//   - otherwise send MULTI, SET K Value PX TTL, the commands and EXEC in
//     one write. EXEC answering nil (K changed after WATCH: an earlier
//     attempt that Redis had not yet read ran in between) is a
//     [*FencedError] too; a command refused when queued comes back as
//     its own error reply (nothing ran).
//
// A fenced pipeline therefore runs atomically, as one transaction. A
// fenced transaction adds K to its WATCH list; an abort is told apart by
// reading K again ([ErrTxAborted] when K is not another attempt's).
// Blocking commands run unfenced (after [Fence.Unfenced]).
//
// One fence covers one call: callers attach it to the context of the call
// that runs the request's commands, not to their other lookups.
func WithFence(ctx context.Context, f *Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence set by [WithFence], or nil.
func FenceFrom(ctx context.Context) *Fence {
	f, _ := ctx.Value(fenceKey{}).(*Fence)
	return f
}

// ErrFenced is matched by a [*FencedError]: the fenced request's commands
// ran earlier, under another attempt, and ran nothing now.
var ErrFenced = errors.New("client: the request already ran under an earlier attempt")

// FencedError reports that a fenced call ran nothing because its run key
// showed that an earlier attempt of the same request ran.
type FencedError struct {
	// Holder is the attempt id K held ("" when EXEC was aborted and K was
	// not read again).
	Holder string
}

// Error says that the request ran earlier.
func (e *FencedError) Error() string {
	if e.Holder == "" {
		return ErrFenced.Error()
	}
	return ErrFenced.Error() + " (" + e.Holder + ")"
}

// Is makes errors.Is(err, ErrFenced) hold.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// Fencer is implemented by backends that honour [WithFence]. Backends
// that do not (a cluster client) run the commands unfenced.
type Fencer interface {
	// Fences reports whether commands run under WithFence are fenced.
	Fences() bool
}

// Fences reports true: a Client honours [WithFence].
func (c *Client) Fences() bool { return true }

var _ Fencer = (*Client)(nil)

// fenceFor returns the fence that cmds run under, or nil when there is
// none or cmds cannot be fenced (then its Unfenced hook has run; its
// error comes back marked not sent).
func fenceFor(ctx context.Context, cmds ...[]string) (*Fence, error) {
	f := FenceFrom(ctx)
	if f == nil {
		return nil, nil
	}
	for _, args := range cmds {
		if IsBlocking(args) {
			if f.Unfenced != nil {
				// the hook's own commands are not the request's
				if err := f.Unfenced(WithFence(ctx, nil)); err != nil {
					return nil, notSent(fmt.Errorf("client: mark unfenced: %w", err))
				}
			}
			return nil, nil
		}
	}
	return f, nil
}

// fencedRun runs cmds on cn fenced by f, after WATCH on K and the extra
// watch keys. read reads the reply to command i out of EXEC's array
// (with cn.ReadElem or cn.VisitElem). The errors: not sent (matching
// ErrNotSent) for a failure before MULTI was written; a *FencedError; a
// *TxError for a command refused when queued (queued holds, per command,
// the refusal or nil); ErrTxAborted when a user's watched key changed;
// a *Error when WATCH or GET of K itself was refused; a transport error
// after MULTI was written (outcome unknown). The connection is left
// without WATCH or MULTI state unless the error is a transport one.
func fencedRun(cn *pool.Conn, f *Fence, watch []string, cmds [][]string, read func(i int) error) error {
	// one write: WATCH K (+ the user's keys), GET K
	wargs := append(make([]string, 0, len(watch)+2), "WATCH", f.Key)
	wargs = append(wargs, watch...)
	if err := cn.WriteCommand(wargs...); err != nil {
		return notSent(err)
	}
	if err := cn.WriteCommand("GET", f.Key); err != nil {
		return notSent(err)
	}
	if err := cn.Flush(); err != nil {
		return notSent(err)
	}
	wv, err := readReply(cn)
	if err != nil {
		return notSent(err)
	}
	gv, err := readReply(cn)
	if err != nil {
		return notSent(err)
	}
	if rerr := firstErr(wv, gv); rerr != nil || !gv.IsNull() {
		// ran earlier, or K cannot be used: leave no WATCH behind
		if _, err := roundTrip(cn, "UNWATCH"); err != nil {
			return notSent(err)
		}
		if rerr != nil {
			return rerr
		}
		return &FencedError{Holder: string(gv.Str)}
	}
	if f.afterCheck != nil {
		f.afterCheck()
	}
	f.sent.Store(true)
	ms := max(f.TTL.Milliseconds(), 1)
	if err := writeTx(cn, []string{"SET", f.Key, f.Value, "PX", strconv.FormatInt(ms, 10)}, cmds); err != nil {
		return err // not sent when EXEC did not reach Redis whole
	}
	if _, err := readReply(cn); err != nil { // +OK to MULTI
		return err
	}
	sv, err := readReply(cn) // +QUEUED to SET K
	if err != nil {
		return err
	}
	queued := make([]Result, len(cmds))
	for i := range cmds {
		v, err := readReply(cn)
		if err != nil {
			return err
		}
		if e := v.Err(); e != nil {
			queued[i].Err, queued[i].Raw = e, v
		}
	}
	typ, err := cn.PeekType()
	if err != nil {
		return err
	}
	n := -1 // a null EXEC: aborted
	if typ == '*' {
		if n, err = cn.ReadArrayHeader(); err != nil {
			return err
		}
	} else {
		v, err := readReply(cn)
		if err != nil {
			return err
		}
		if !v.IsNull() {
			re, _ := v.Err().(*resp.Error)
			if re == nil {
				return fmt.Errorf("%w: EXEC answered %q", resp.ErrProtocol, v.Kind)
			}
			if se, _ := sv.Err().(*resp.Error); se != nil {
				re = se // the fence itself was refused (NOPERM on K…)
			}
			return &TxError{Err: re, Results: queued}
		}
	}
	switch {
	case n == -1:
		if len(watch) == 0 {
			return &FencedError{}
		}
		// K, or one of the user's keys, changed: K tells which
		v, err := roundTrip(cn, "GET", f.Key)
		if err != nil {
			return err
		}
		if !v.IsNull() && string(v.Str) != f.Value {
			return &FencedError{Holder: string(v.Str)}
		}
		return ErrTxAborted
	case n != len(cmds)+1:
		cn.MarkBroken() // its elements are unread
		return fmt.Errorf("%w: EXEC returned %d replies for %d commands", resp.ErrProtocol, n, len(cmds)+1)
	}
	if _, err := cn.ReadElem(); err != nil { // SET K's +OK
		return err
	}
	for i := range cmds {
		if err := read(i); err != nil {
			return err
		}
	}
	return nil
}

// firstErr returns the first error reply among vs.
func firstErr(vs ...Value) error {
	for _, v := range vs {
		if e := v.Err(); e != nil {
			return e
		}
	}
	return nil
}

// roundTrip writes one command and reads its reply.
func roundTrip(cn *pool.Conn, args ...string) (Value, error) { return exchange(cn, args) }

// fencedConn takes a pooled connection for a fenced call, as conn does
// (not sent on failure).
func (c *Client) fencedConn(ctx context.Context, what string) (*pool.Conn, error) {
	cn, err := c.pool.Get(ctx)
	if err == nil && ctx.Err() != nil {
		c.pool.Put(cn, nil)
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, notSent(err))
	}
	return cn, nil
}

// runFenced runs fencedRun on a pooled connection under ctx (deadline
// and cancellation) and returns the connection; what names the call in
// errors.
func (c *Client) runFenced(ctx context.Context, f *Fence, what string, watch []string, cmds [][]string, read func(cn *pool.Conn, i int) error) error {
	cn, err := c.fencedConn(ctx, what)
	if err != nil {
		return err
	}
	done := cn.Watch(ctx)
	err = fencedRun(cn, f, watch, cmds, func(i int) error { return read(cn, i) })
	if werr := done(); werr != nil && err != nil && client2transport(err) {
		if errors.Is(err, ErrNotSent) {
			werr = notSent(werr)
		}
		err = werr // the cancellation explains the I/O error
	}
	c.pool.Put(cn, putErr(err))
	return err
}

// client2transport reports errors that come from the connection rather
// than from Redis's answers.
func client2transport(err error) bool {
	var re *Error
	var te *TxError
	var fe *FencedError
	return !errors.As(err, &re) && !errors.As(err, &te) && !errors.As(err, &fe) && err != ErrTxAborted
}

// putErr is the error the pool judges the connection by: answers from
// Redis leave it clean.
func putErr(err error) error {
	if err == nil || !client2transport(err) {
		return nil
	}
	return err
}

// fencedDo runs one command fenced, reading its reply with read. A
// command refused when queued comes back as its own error reply (raw and
// as a *Error), as it would unfenced.
func (c *Client) fencedDo(ctx context.Context, f *Fence, args []string, read func(cn *pool.Conn) error) (refused Value, err error) {
	start := time.Now()
	err = c.runFenced(ctx, f, upper(args[0]), nil, [][]string{args}, func(cn *pool.Conn, _ int) error { return read(cn) })
	var te *TxError
	if errors.As(err, &te) && len(te.Results) == 1 && te.Results[0].Err != nil && te.Err.Code == "EXECABORT" {
		refused, err = te.Results[0].Raw, te.Results[0].Err
	}
	if err != nil && client2transport(err) {
		err = fmt.Errorf("client: %s: %w", upper(args[0]), err)
	}
	c.observed(args, start, observedErr(err))
	return refused, err
}

// observedErr is err as Observe sees it: Redis's answers as they are.
func observedErr(err error) error {
	var re *Error
	if errors.As(err, &re) {
		return re
	}
	return err
}

// fencedRaw is doRaw fenced by f.
func (c *Client) fencedRaw(ctx context.Context, f *Fence, args []string) (Value, error) {
	var v Value
	refused, err := c.fencedDo(ctx, f, args, func(cn *pool.Conn) error {
		var err error
		v, err = cn.ReadElem()
		return err
	})
	if err != nil {
		return refused, err
	}
	if rerr := v.Err(); rerr != nil {
		return v, rerr
	}
	return v, nil
}

// fencedVisit is doVisit fenced by f.
func (c *Client) fencedVisit(ctx context.Context, f *Fence, vis Visitor, args []string) error {
	top := topLevel{vis: vis}
	var verr error
	_, err := c.fencedDo(ctx, f, args, func(cn *pool.Conn) error {
		var err error
		verr, err = cn.VisitElem(&top)
		return err
	})
	if err != nil {
		return err
	}
	if top.rerr != nil {
		return top.rerr
	}
	return verr
}

// fencedPipe is Pipe fenced by f: the commands run as one transaction.
func (c *Client) fencedPipe(ctx context.Context, f *Fence, cmds [][]string) ([]Result, error) {
	start := time.Now()
	vals := make([]Value, len(cmds))
	err := c.runFenced(ctx, f, "pipeline", nil, cmds, func(cn *pool.Conn, i int) error {
		var err error
		vals[i], err = cn.ReadElem()
		return err
	})
	if err != nil {
		return nil, c.fencedBatchErr(cmds, start, err)
	}
	out := make([]Result, len(cmds))
	for i, v := range vals {
		out[i].Raw = v
		out[i].Value, out[i].Err = c.Shape(v, cmds[i])
		if c.observe != nil {
			c.observe(commandName(cmds[i]), time.Since(start), v.Err())
		}
	}
	return out, nil
}

// fencedPipeVisit is PipeVisit fenced by f.
func (c *Client) fencedPipeVisit(ctx context.Context, f *Fence, watch []string, cmds [][]string, pv PipeVisitor) error {
	start := time.Now()
	var verr error
	// each command's error reply, recorded once the batch has run whole
	// (a transport failure records every command with it instead)
	var rerrs []error
	if c.observe != nil {
		rerrs = make([]error, len(cmds))
	}
	err := c.runFenced(ctx, f, "pipeline", watch, cmds, func(cn *pool.Conn, i int) error {
		res, e, err := c.visitReply(cn.VisitElem, cn.ReadElem, cmds[i], i, pv)
		if verr == nil {
			verr = e
		}
		if rerrs != nil {
			rerrs[i] = replyErr(res)
		}
		return err
	})
	if err != nil {
		return c.fencedBatchErr(cmds, start, err)
	}
	for i, rerr := range rerrs {
		c.observe(commandName(cmds[i]), time.Since(start), rerr)
	}
	return verr
}

// fencedBatchErr records and wraps the failure of a fenced batch: a
// transport failure after MULTI as a *PipelineError with no results (the
// transaction ran whole or not at all).
func (c *Client) fencedBatchErr(cmds [][]string, start time.Time, err error) error {
	c.observedPipe(cmds, start, observedErr(err))
	if client2transport(err) {
		err = fmt.Errorf("client: pipeline: %w", err)
		if errors.Is(err, ErrNotSent) {
			return err
		}
		return &PipelineError{Err: err}
	}
	return err
}

// fencedTransaction is Transaction fenced by f: K joins the WATCH list.
func (c *Client) fencedTransaction(ctx context.Context, f *Fence, watch []string, cmds [][]string, pv PipeVisitor) ([]Result, error) {
	for i, args := range cmds {
		if err := CheckCommand(args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
	}
	var out []Result
	var verr error
	if pv == nil {
		out = make([]Result, len(cmds))
	}
	err := c.runFenced(ctx, f, "transaction", watch, cmds, func(cn *pool.Conn, i int) error {
		if pv != nil {
			_, e, err := c.visitReply(cn.VisitElem, cn.ReadElem, cmds[i], i, pv)
			if verr == nil {
				verr = e
			}
			return err
		}
		v, err := cn.ReadElem()
		if err != nil {
			return err
		}
		out[i].Raw = v
		out[i].Value, out[i].Err = c.Shape(v, cmds[i])
		return nil
	})
	if err != nil {
		if client2transport(err) {
			return nil, fmt.Errorf("client: transaction: %w", err)
		}
		return nil, err
	}
	return out, verr
}
