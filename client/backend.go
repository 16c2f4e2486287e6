package client

import (
	"context"
	"time"
)

// Backend is what the HTTP layer needs from a Redis client. *Client
// implements it; a Redis Cluster or Sentinel client can implement it too.
// Implementations must be safe for concurrent use.
type Backend interface {
	// Do runs a command and shapes its reply with the callbacks.
	Do(ctx context.Context, args ...string) (any, error)
	// DoGeneric runs a command and converts its reply generically.
	DoGeneric(ctx context.Context, args ...string) (any, error)
	// DoRaw runs a command and returns the unshaped reply.
	DoRaw(ctx context.Context, args ...string) (Value, error)
	// Pipe runs commands as one pipeline.
	Pipe(ctx context.Context, cmds [][]string) ([]Result, error)
	// Transaction runs commands in MULTI/EXEC after WATCH.
	Transaction(ctx context.Context, watch []string, cmds [][]string) ([]Result, error)
	// PubSub returns a new subscription object.
	PubSub(cfg PubSubConfig) *PubSub
	// SetResponseCallback changes reply shaping for this backend only.
	SetResponseCallback(cmd string, fn Func)
	// CommandInfo describes a command (flags, ACL categories), cached.
	CommandInfo(ctx context.Context, args []string) (CommandInfo, error)
	// Ping checks that Redis answers.
	Ping(ctx context.Context) error
	// Stats returns the main pool's counters.
	Stats() PoolStats
	// Close releases every connection.
	Close() error
}

var _ Backend = (*Client)(nil)

// ReplicaReader is implemented by backends that may serve read-only
// commands from replicas (a Sentinel client with ReadFromReplicas). The
// gateway's read-your-writes tokens use it: a token is the primary's
// replication offset after a write, and a read carrying one runs on a
// replica only once that replica has reached it.
type ReplicaReader interface {
	// ReadsFromReplicas reports whether reads may go to replicas now.
	ReadsFromReplicas() bool
	// ReplicationOffset returns the primary's replication offset
	// (master_repl_offset): every write that has been answered is at or
	// below it.
	ReplicationOffset(ctx context.Context) (int64, error)
	// ReplicasAt returns the addresses of the replicas reads may go to
	// whose replication offset has reached offset, checking again for up
	// to wait while none has. None: reads must go to the primary.
	ReplicasAt(ctx context.Context, offset int64, wait time.Duration) []string
}

type replicasKey struct{}

// WithReplicas returns ctx restricting the commands run under it to the
// replicas at addrs when they would be read from a replica; with none,
// they run on the primary. Backends that read from replicas honour it.
func WithReplicas(ctx context.Context, addrs []string) context.Context {
	if addrs == nil {
		addrs = []string{}
	}
	return context.WithValue(ctx, replicasKey{}, addrs)
}

// ReplicasFrom returns the restriction set by [WithReplicas], and whether
// there is one.
func ReplicasFrom(ctx context.Context) ([]string, bool) {
	addrs, ok := ctx.Value(replicasKey{}).([]string)
	return addrs, ok
}
