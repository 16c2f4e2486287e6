// Package client runs Redis commands for the gateway: a [Client] per
// database, safe for concurrent use, over a bounded pool of connections
// (package pool), with replies shaped into JSON-ready values by a
// per-client copy of the response callback table (package callbacks).
//
// # Commands
//
// [Client.Do] takes a connection from the pool only for the duration of
// one command and returns it right after. Commands that would change the
// state of a shared connection (SELECT, AUTH, HELLO, MULTI, SUBSCRIBE…)
// are refused with an error wrapping [ErrForbiddenCommand] that names the
// API to use instead. Blocking commands (BLPOP, XREAD BLOCK…) run on a
// separate bounded pool so they never delay other commands.
//
// A connection goes back to the pool only after a clean exchange (a reply
// or a Redis error reply); after a cancellation, a timeout or an I/O error
// it is closed, so a late reply can never reach another caller. Nothing is
// resent once it may have reached Redis.
//
// # Pipelines, transactions and pub/sub
//
// [Client.Pipe] and [Pipeline] send many commands in one write;
// [Client.Transaction] and [Tx] run MULTI/EXEC (with WATCH) on a
// connection of their own; [PubSub] holds a dedicated connection that
// reconnects and resubscribes by itself. These objects belong to one
// goroutine (PubSub's subscribe methods excepted).
//
// # Backends
//
// The HTTP layer depends on the [Backend] interface, which *Client
// implements, so a cluster-aware implementation can be added without
// touching the handlers.
package client
