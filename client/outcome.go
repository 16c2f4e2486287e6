package client

import (
	"errors"

	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

// ErrNotSent is matched (with errors.Is) by every error of a command that
// certainly never reached Redis: the pool wait timed out, the dial or
// handshake failed, the caller's context ended before anything was
// written, the client was closed, or the auto-pipeline dropped a command
// whose caller had gone. Such a command may be retried safely. An error
// that does not match ErrNotSent may come after the command's bytes were
// written: it may have run, and must not be resent blindly (see
// docs/reliability.md).
var ErrNotSent = errors.New("client: command not sent")

// notSentError wraps the cause of a failure before sending, keeping it
// visible to errors.Is/As (context.DeadlineExceeded, ErrPoolTimeout…).
type notSentError struct{ err error }

func (e *notSentError) Error() string        { return e.err.Error() }
func (e *notSentError) Unwrap() error        { return e.err }
func (e *notSentError) Is(target error) bool { return target == ErrNotSent }

// notSent marks err as a failure before anything was written.
func notSent(err error) error {
	if err == nil || errors.Is(err, ErrNotSent) {
		return err
	}
	return &notSentError{err: err}
}

// reach tells, after a failed write, which of the commands written from
// a byte offset of a connection on, in order, reached the network whole:
// those may have run; a command that ends past the bytes the network
// accepted did not (Redis never saw its last byte).
type reach struct{ sent, end int64 }

// reachFrom starts a reach over the commands written on cn from byte
// offset start (cn.Written before the first of them).
func reachFrom(cn *pool.Conn, start int64) reach { return reach{sent: cn.Sent(), end: start} }

// whole reports whether the next command, args, reached the network whole.
func (r *reach) whole(args ...string) bool {
	r.end += resp.CommandLen(args...)
	return r.end <= r.sent
}

// writeOne writes one command on cn and flushes it. A failed write is
// marked [ErrNotSent] when the command did not reach the network whole.
func writeOne(cn *pool.Conn, args []string) error {
	start := cn.Written()
	err := cn.WriteCommand(args...)
	if err == nil {
		err = cn.Flush()
	}
	if err == nil {
		return nil
	}
	if r := reachFrom(cn, start); !r.whole(args...) {
		return notSent(err)
	}
	return err
}

// unsentFrom returns, after a failed write of cmds begun at byte offset
// start of cn, the index of the first command that did not reach the
// network whole: it and every command after it certainly did not run.
// len(cmds) when all of them reached it.
func unsentFrom(cn *pool.Conn, start int64, cmds [][]string) int {
	r := reachFrom(cn, start)
	for i, args := range cmds {
		if !r.whole(args...) {
			return i
		}
	}
	return len(cmds)
}

// keepOutcome returns mapped, the error that explains orig (the context's
// error for an I/O error its deadline or cancellation caused), keeping
// orig's mark of a command that was not sent.
func keepOutcome(orig, mapped error) error {
	if mapped != nil && errors.Is(orig, ErrNotSent) {
		return notSent(mapped)
	}
	return mapped
}

// writeCmds writes cmds on cn and flushes them. After a failed write it
// returns, with the error, the index of the first command that did not
// reach the network whole (see unsentFrom); the error is marked
// [ErrNotSent] when that is the first command.
func writeCmds(cn *pool.Conn, cmds [][]string) (unsent int, err error) {
	start := cn.Written()
	for _, args := range cmds {
		if err = cn.WriteCommand(args...); err != nil {
			break
		}
	}
	if err == nil {
		err = cn.Flush()
	}
	if err == nil {
		return len(cmds), nil
	}
	if unsent = unsentFrom(cn, start, cmds); unsent == 0 {
		err = notSent(err)
	}
	return unsent, err
}

// writeTx writes MULTI, then pre (a command of the gateway's own, such
// as a fence's SET; nil: none), cmds and EXEC on cn, and flushes them. A
// failed write is marked [ErrNotSent] when EXEC did not reach the network
// whole: Redis discards a transaction whose EXEC never came, so nothing
// in it ran.
func writeTx(cn *pool.Conn, pre []string, cmds [][]string) error {
	start := cn.Written()
	err := cn.WriteCommand("MULTI")
	if err == nil && pre != nil {
		err = cn.WriteCommand(pre...)
	}
	for i := 0; err == nil && i < len(cmds); i++ {
		err = cn.WriteCommand(cmds[i]...)
	}
	if err == nil {
		err = cn.WriteCommand("EXEC")
	}
	if err == nil {
		err = cn.Flush()
	}
	if err == nil {
		return nil
	}
	r := reachFrom(cn, start)
	r.whole("MULTI")
	if pre != nil {
		r.whole(pre...)
	}
	for _, args := range cmds {
		r.whole(args...)
	}
	if !r.whole("EXEC") {
		return notSent(err)
	}
	return err
}
