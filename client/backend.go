package client

import "context"

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
