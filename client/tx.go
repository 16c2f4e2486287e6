package client

import (
	"context"
	"fmt"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Tx is an optimistic transaction on one connection taken from the pool:
// WATCH (at [Client.Tx]), any reads with [Tx.Do], then the queued commands
// in MULTI/EXEC at [Tx.Exec]. It is not safe for concurrent use, and must
// be closed with [Tx.Close], which returns the connection.
type Tx struct {
	c        *Client
	cn       *pool.Conn
	queued   [][]string
	watching bool
	err      error // first transport error: the connection is broken
	closed   bool
}

// Tx takes a connection for a transaction and watches the given keys on
// it. Close the Tx when done.
func (c *Client) Tx(ctx context.Context, watch ...string) (*Tx, error) {
	cn, err := c.pool.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: transaction: %w", notSent(err))
	}
	tx := &Tx{c: c, cn: cn}
	if len(watch) > 0 {
		args := append([]string{"WATCH"}, watch...)
		v, err := tx.roundTrip(ctx, args)
		if err == nil {
			err = v.Err()
		}
		if err != nil {
			tx.Close()
			// WATCH changes no data and nothing else was sent.
			return nil, fmt.Errorf("client: transaction: watch: %w", notSent(err))
		}
		tx.watching = true
	}
	return tx, nil
}

// roundTrip sends one command on the transaction's connection.
func (tx *Tx) roundTrip(ctx context.Context, args []string) (Value, error) {
	if tx.err != nil {
		return Value{}, tx.err
	}
	done := tx.cn.Watch(ctx)
	v, err := exchange(tx.cn, args)
	if werr := done(); werr != nil && err != nil {
		err = keepOutcome(err, werr)
	}
	if err != nil {
		tx.err = err
	}
	return v, err
}

// Do runs one command right away on the transaction's connection (for
// example a GET of a watched key before deciding what to queue) and
// returns the shaped reply. Blocking and connection-state commands are
// refused.
func (tx *Tx) Do(ctx context.Context, args ...string) (any, error) {
	if err := CheckCommand(args); err != nil {
		return nil, err
	}
	if IsBlocking(args) {
		return nil, &ForbiddenError{Command: upper(args[0]), Reason: "blocking commands cannot run inside a transaction"}
	}
	v, err := tx.roundTrip(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("client: transaction: %w", err)
	}
	return tx.c.Shape(v, args)
}

// Queue adds a command to run inside MULTI/EXEC.
func (tx *Tx) Queue(args ...string) { tx.queued = append(tx.queued, args) }

// Exec sends MULTI, the queued commands and EXEC in one write and returns
// one Result per queued command; see [Client.Transaction] for the errors.
func (tx *Tx) Exec(ctx context.Context) ([]Result, error) {
	return tx.exec(ctx, nil)
}

// exec is Exec, handing the replies to pv when it is not nil (then the
// Results are nil, and the first error of pv comes after the others).
func (tx *Tx) exec(ctx context.Context, pv PipeVisitor) ([]Result, error) {
	cmds := tx.queued
	tx.queued = nil
	for i, args := range cmds {
		if err := CheckCommand(args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
	}
	if tx.err != nil {
		return nil, fmt.Errorf("client: transaction: %w", notSent(tx.err))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("client: transaction: %w", notSent(err))
	}
	done := tx.cn.Watch(ctx)
	res, verr, err := tx.send(cmds, pv)
	if werr := done(); werr != nil && err != nil {
		err = keepOutcome(err, werr)
	}
	tx.watching = false // EXEC (or a broken connection) ends every WATCH
	if err != nil {
		if _, ok := err.(*TxError); ok {
			return nil, err
		}
		if err == ErrTxAborted {
			return nil, err
		}
		tx.err = err
		return nil, fmt.Errorf("client: transaction: %w", err)
	}
	return res, verr
}

// send writes MULTI, cmds and EXEC and reads the replies: into pv when it
// is not nil (then verr is its first error), otherwise as Results.
func (tx *Tx) send(cmds [][]string, pv PipeVisitor) (res []Result, verr, err error) {
	cn := tx.cn
	if err := writeTx(cn, nil, cmds); err != nil {
		return nil, nil, err
	}
	if _, err := readReply(cn); err != nil { // +OK to MULTI
		return nil, nil, err
	}
	queued := make([]Result, len(cmds))
	for i := range cmds {
		v, err := readReply(cn)
		if err != nil {
			return nil, nil, err
		}
		if e := v.Err(); e != nil {
			queued[i].Err = e
			queued[i].Raw = v
		}
	}
	if pv != nil {
		typ, err := cn.PeekType()
		if err != nil {
			return nil, nil, err
		}
		if typ == '*' {
			verr, err := tx.execReplies(cmds, pv)
			return nil, verr, err
		}
	}
	v, err := readReply(cn)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case v.IsError():
		re, _ := v.Err().(*resp.Error)
		return nil, nil, &TxError{Err: re, Results: queued}
	case v.IsNull():
		return nil, nil, ErrTxAborted
	}
	if len(v.Elems) != len(cmds) {
		return nil, nil, fmt.Errorf("%w: EXEC returned %d replies for %d commands", resp.ErrProtocol, len(v.Elems), len(cmds))
	}
	out := make([]Result, len(cmds))
	for i, e := range v.Elems {
		out[i].Raw = e
		out[i].Value, out[i].Err = tx.c.Shape(e, cmds[i])
	}
	return out, nil, nil
}

// Close ends the transaction and returns its connection to the pool:
// watched keys that were not consumed by EXEC are released with UNWATCH
// first, and a connection that saw a transport error is discarded.
// Calling Close more than once is harmless.
func (tx *Tx) Close() error {
	if tx.closed {
		return nil
	}
	tx.closed = true
	if tx.watching && tx.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := tx.roundTrip(ctx, []string{"UNWATCH"})
		cancel()
		if err == nil && v.IsError() {
			tx.err = v.Err() // state unknown: do not reuse
			tx.cn.MarkBroken()
		}
	}
	tx.c.pool.Put(tx.cn, tx.err)
	return nil
}
