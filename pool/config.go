package pool

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// ErrPoolTimeout is returned by [Pool.Get] when no connection became free
// within [Config.PoolTimeout].
var ErrPoolTimeout = errors.New("pool: timed out waiting for a connection")

// ErrClosed is returned by [Pool.Get] after [Pool.Close].
var ErrClosed = errors.New("pool: closed")

// Config configures a [Pool]. A zero field means the default stated in its
// comment. Build one by hand or with [ParseURL].
type Config struct {
	// Network is "tcp" or "unix". Default "tcp".
	Network string
	// Addr is host:port for tcp, or the socket path for unix. Default
	// "127.0.0.1:6379".
	Addr string
	// Username is the ACL user for AUTH/HELLO; empty means "default".
	Username string
	// Password authenticates the connection; empty means no AUTH.
	Password string
	// DB is selected once, at dial, on every connection of the pool. A
	// pooled connection never changes database. Default 0.
	DB int
	// ClientName is set with CLIENT SETNAME at dial; empty sets none.
	ClientName string
	// InitCommands run once on every new connection, in order, after the
	// handshake (HELLO, AUTH, SETNAME, SELECT). Each must answer without
	// an error reply, or the dial fails with that error. The cluster
	// client uses it to send READONLY to replicas. Default none.
	InitCommands [][]string
	// Protocol is 3 (HELLO 3, falling back to RESP2 when the server does
	// not know HELLO) or 2 (RESP2 only). Default 3.
	Protocol int
	// TLS, when non-nil, wraps every connection in TLS (rediss://).
	TLS *tls.Config
	// DialTimeout bounds dial plus handshake. Default 5s.
	DialTimeout time.Duration
	// PoolSize is the most connections open at once. Default
	// 10 × GOMAXPROCS.
	PoolSize int
	// MinIdle is the number of idle connections kept open (dialled in the
	// background). Default 0.
	MinIdle int
	// MaxIdle is the most idle connections kept; extra ones are closed
	// when returned. Default PoolSize.
	MaxIdle int
	// MaxIdleTime closes connections idle for longer. Default 30m.
	MaxIdleTime time.Duration
	// MaxLifetime closes connections older than this when they are next
	// returned or taken. Default 0: no limit.
	MaxLifetime time.Duration
	// PoolTimeout bounds how long [Pool.Get] waits for a free connection
	// when all PoolSize are in use. Default 3s.
	PoolTimeout time.Duration
	// Limits bounds what replies may hold. Zero fields use resp defaults.
	Limits resp.Limits
	// Logger receives dial failures and discarded connections at debug
	// level. Default: discard.
	Logger *slog.Logger
}

// Stats is a snapshot of a pool's counters, like database/sql.DBStats.
type Stats struct {
	// Hits counts Gets served by an idle connection.
	Hits uint64 `json:"hits"`
	// Misses counts Gets that had to dial.
	Misses uint64 `json:"misses"`
	// Timeouts counts Gets that failed with ErrPoolTimeout.
	Timeouts uint64 `json:"timeouts"`
	// WaitCount counts Gets that had to wait for a slot.
	WaitCount uint64 `json:"wait_count"`
	// WaitDuration is the total time spent waiting for a slot.
	WaitDuration time.Duration `json:"wait_duration_ns"`
	// TotalConns is the number of open connections (idle + in use).
	TotalConns int `json:"total_conns"`
	// IdleConns is the number of idle connections.
	IdleConns int `json:"idle_conns"`
	// InUse is the number of connections handed out and not returned.
	InUse int `json:"in_use"`
	// StaleConns counts connections closed because they were too old,
	// idle too long, closed by the server, or returned dirty or broken.
	StaleConns uint64 `json:"stale_conns"`
}

// Add adds o's counters to s, for reports that sum several pools (a
// cluster's nodes, a database's scope users).
func (s *Stats) Add(o Stats) {
	s.Hits += o.Hits
	s.Misses += o.Misses
	s.Timeouts += o.Timeouts
	s.WaitCount += o.WaitCount
	s.WaitDuration += o.WaitDuration
	s.TotalConns += o.TotalConns
	s.IdleConns += o.IdleConns
	s.InUse += o.InUse
	s.StaleConns += o.StaleConns
}
