// Package pool keeps bounded pools of connections to Redis.
//
// A [Pool] serves one database of one server: every connection is dialled
// and handshaken once — HELLO 3 with AUTH and SETNAME (falling back to
// RESP2, AUTH and CLIENT SETNAME on servers without HELLO), then SELECT of
// the configured database — and never changes database or protocol
// afterwards. [ParseURL] reads redis://, rediss:// and unix:// URLs into a
// [Config].
//
// # Lifecycle
//
// [Pool.Get] hands out an idle connection (most recently used first) after
// checking it is not too old, not idle too long and not closed by the
// server, or dials a new one; with all [Config.PoolSize] connections in use
// it waits up to [Config.PoolTimeout] and fails with [ErrPoolTimeout].
// [Pool.Put] takes it back only after a clean exchange: a cancelled,
// timed-out or broken exchange closes it, so a late reply can never reach
// the next user. [Pool.Stats] reports hits, misses, waits, timeouts and
// stale connections, like database/sql's DBStats.
//
// A Pool is safe for concurrent use; a [Conn] belongs to one goroutine
// between Get and Put.
package pool
