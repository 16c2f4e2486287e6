package client

import (
	"context"
	"time"
)

// DoWithin is Do under a command timeout that the client owns. For a
// quick command on a pooled connection the deadline is a socket deadline
// and a bound on the pool wait, not a context timer: no timer, no
// cancellation watch, one small allocation (a context.WithTimeout costs
// four, and the watch as many again). A command that takes the shared
// auto-pipelined connections waits for its reply under a recycled timer
// (autoPipe.doUntil), no context either. Other commands run under
// context.WithTimeout as before. The errors are Do's: the deadline
// passing is context.DeadlineExceeded.
func (c *Client) DoWithin(ctx context.Context, timeout time.Duration, args ...string) (any, error) {
	if err := CheckCommand(args); err != nil {
		return nil, err
	}
	shared := c.shared(args)
	ctx, cancel, deadline := c.within(ctx, timeout, shared, args)
	defer cancel()
	v, err := c.doRaw(ctx, args, shared, deadline)
	if err != nil {
		return nil, err
	}
	return c.Shape(v, args)
}

// DoVisitWithin is DoVisit under a command timeout that the client owns,
// as DoWithin is Do's.
func (c *Client) DoVisitWithin(ctx context.Context, timeout time.Duration, vis Visitor, args ...string) error {
	if err := CheckCommand(args); err != nil {
		return err
	}
	shared := c.shared(args) && len(args) <= visitMaxArgs
	ctx, cancel, deadline := c.within(ctx, timeout, shared, args)
	defer cancel()
	return c.doVisit(ctx, vis, args, shared, deadline)
}

// within bounds ctx by timeout for a command that takes the shared
// connections or not: a timer-free deadline for a quick pooled command
// (pool.Conn.Bound enforces it), a deadline for the shared wait
// (autoPipe.doUntil) with ctx as it is, context.WithTimeout otherwise.
func (c *Client) within(ctx context.Context, timeout time.Duration, shared bool, args []string) (context.Context, context.CancelFunc, time.Time) {
	switch {
	case timeout <= 0:
		return ctx, noCancel, time.Time{}
	case shared:
		return ctx, noCancel, time.Now().Add(timeout)
	case quick(args):
		return &deadlineCtx{Context: ctx, dl: time.Now().Add(timeout)}, noCancel, time.Time{}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, time.Time{}
}

func noCancel() {}

// deadlineCtx is its parent with an earlier deadline that nothing times:
// Done is the parent's (a caller who leaves still cancels), Err and
// Deadline report the deadline once it has passed. Only code that honours
// Deadline itself may run under it: socket deadlines (pool.Conn.Bound),
// dialing, the pool's wait.
type deadlineCtx struct {
	context.Context
	dl time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if pdl, ok := c.Context.Deadline(); ok && pdl.Before(c.dl) {
		return pdl, true
	}
	return c.dl, true
}

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.dl) {
		return context.DeadlineExceeded
	}
	return nil
}
