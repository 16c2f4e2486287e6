// Package background runs the maintenance loops of the scaled-out
// backends (the cluster's slot-map refresher, the sentinel's primary
// watcher): work done on a period and on demand, until the owner closes.
package background

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Loop is one periodic task.
type Loop struct {
	// Name labels the task in logs.
	Name string
	// Every is the period; a receive on Kick runs the task early.
	Every time.Duration
	// Gap is the least time between two runs, so that a burst of kicks
	// costs one run. Zero: none.
	Gap time.Duration
	// Timeout bounds one run.
	Timeout time.Duration
	// Kick asks for a run now (buffered by the owner; never closed).
	Kick <-chan struct{}
	// Done ends the loop when closed; a run in progress sees its context
	// cancelled.
	Done <-chan struct{}
	// Logger receives a panic of Run, which ends the loop.
	Logger *slog.Logger
	// Run does the work.
	Run func(ctx context.Context)
}

// Go runs the loop in the calling goroutine until Done is closed.
func (l Loop) Go() {
	defer func() {
		if r := recover(); r != nil {
			l.Logger.Error(l.Name+" panicked", "err", fmt.Sprint(r))
		}
	}()
	base, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		select {
		case <-l.Done:
			stop()
		case <-base.Done():
		}
	}()
	t := time.NewTicker(l.Every)
	defer t.Stop()
	for {
		select {
		case <-l.Done:
			return
		case <-t.C:
		case <-l.Kick:
		}
		ctx, cancel := context.WithTimeout(base, l.Timeout)
		l.Run(ctx)
		cancel()
		if l.Gap > 0 {
			select {
			case <-l.Done:
				return
			case <-time.After(l.Gap):
			}
		}
	}
}
