package client

import "errors"

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
