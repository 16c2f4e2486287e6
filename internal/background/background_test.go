package background

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoop: a kick runs the task at once, kicks within the gap wait for
// it, the period runs it without kicks, Done cancels a run in progress and
// ends the loop, and a panic is logged instead of crashing.
func TestLoop(t *testing.T) {
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	var runs atomic.Int32
	started := make(chan struct{}, 10)
	ended := make(chan error, 1)
	l := Loop{
		Name: "test", Every: 150 * time.Millisecond, Gap: 50 * time.Millisecond, Timeout: 10 * time.Second,
		Kick: kick, Done: done, Logger: slog.New(slog.DiscardHandler),
		Run: func(ctx context.Context) {
			n := runs.Add(1)
			started <- struct{}{}
			if n == 3 { // the third run blocks until Done cancels it
				<-ctx.Done()
				ended <- ctx.Err()
			}
		},
	}
	exited := make(chan struct{})
	go func() { l.Go(); close(exited) }()
	kick <- struct{}{}
	<-started // run 1, from the kick
	<-started // run 2, from the period
	<-started // run 3 blocks
	close(done)
	if err := <-ended; err != context.Canceled {
		t.Fatalf("run in progress at Done: %v, want context.Canceled", err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end after Done")
	}

	p := Loop{Name: "panicky", Every: time.Hour, Timeout: time.Second, Kick: kick, Done: make(chan struct{}),
		Logger: slog.New(slog.DiscardHandler), Run: func(context.Context) { panic("boom") }}
	kick <- struct{}{}
	p.Go() // returns instead of crashing the test binary
}
