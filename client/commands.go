package client

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrForbiddenCommand is wrapped by the error returned for a command that
// would change the state of a shared, pooled connection (SELECT, AUTH,
// HELLO, MULTI, SUBSCRIBE, MONITOR…) or that the client runs through a
// dedicated API instead. The error's text says what to use.
var ErrForbiddenCommand = errors.New("client: command not allowed")

// ForbiddenError is the error for a refused command: it matches
// [ErrForbiddenCommand] with errors.Is, and carries the command's name and
// the reason separately so that callers can word their own message.
type ForbiddenError struct {
	// Command is the refused command ("SELECT", "CLIENT REPLY").
	Command string
	// Reason says why, and what to use instead.
	Reason string
}

func (e *ForbiddenError) Error() string {
	return ErrForbiddenCommand.Error() + ": " + e.Command + ": " + e.Reason
}

// Is makes errors.Is(err, ErrForbiddenCommand) hold.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbiddenCommand }

// ErrEmptyCommand is returned when a command has no name.
var ErrEmptyCommand = errors.New("client: empty command")

// stateCommands are refused on pooled connections, each with a hint.
var stateCommands = map[string]string{
	"SELECT":       "each database has its own client and pool (URL prefix /db/{db}); a pooled connection never changes database",
	"AUTH":         "credentials are set once per pool, at dial, from the configuration",
	"HELLO":        "the protocol is negotiated once per connection, at dial",
	"QUIT":         "connections are managed by the pool",
	"RESET":        "connections are managed by the pool",
	"MONITOR":      "MONITOR takes over a connection; it is not available through the gateway",
	"SYNC":         "replication commands take over a connection",
	"PSYNC":        "replication commands take over a connection",
	"REPLCONF":     "replication commands take over a connection",
	"MULTI":        "use a transaction (Client.Transaction, POST /db/{db}/transaction)",
	"EXEC":         "use a transaction (Client.Transaction, POST /db/{db}/transaction)",
	"DISCARD":      "use a transaction (Client.Transaction, POST /db/{db}/transaction)",
	"WATCH":        "use a transaction with watched keys (Client.Transaction, POST /db/{db}/transaction)",
	"UNWATCH":      "use a transaction with watched keys (Client.Transaction, POST /db/{db}/transaction)",
	"SUBSCRIBE":    "use pub/sub (Client.PubSub, the channel event routes or the WebSocket)",
	"PSUBSCRIBE":   "use pub/sub (Client.PubSub, the pattern event routes or the WebSocket)",
	"SSUBSCRIBE":   "use pub/sub (Client.PubSub)",
	"UNSUBSCRIBE":  "use pub/sub (Client.PubSub)",
	"PUNSUBSCRIBE": "use pub/sub (Client.PubSub)",
	"SUNSUBSCRIBE": "use pub/sub (Client.PubSub)",
	"READONLY":     "connection mode is fixed by the configuration",
	"READWRITE":    "connection mode is fixed by the configuration",
	"ASKING":       "cluster redirections are handled by the client",
}

// stateSubcommands are CLIENT subcommands that change connection state.
var stateSubcommands = map[string]string{
	"REPLY":    "replies are needed to keep a pooled connection in step",
	"TRACKING": "client-side caching changes connection state",
	"SETNAME":  "the name is set once per connection, at dial (Config.ClientName)",
	"NO-EVICT": "connection flags are fixed by the pool",
	"NO-TOUCH": "connection flags are fixed by the pool",
	"SETINFO":  "connection attributes are fixed by the pool",
	"CACHING":  "client-side caching changes connection state",
}

// CheckCommand returns an error wrapping [ErrForbiddenCommand] for commands
// that cannot run on a shared pooled connection, [ErrEmptyCommand] for an
// empty one, and nil otherwise.
func CheckCommand(args []string) error {
	if len(args) == 0 || args[0] == "" {
		return ErrEmptyCommand
	}
	name := upper(args[0])
	if hint, ok := stateCommands[name]; ok {
		return &ForbiddenError{Command: name, Reason: hint}
	}
	if name == "CLIENT" && len(args) > 1 {
		sub := upper(args[1])
		if hint, ok := stateSubcommands[sub]; ok {
			return &ForbiddenError{Command: "CLIENT " + sub, Reason: hint}
		}
	}
	return nil
}

// upper upper-cases ASCII without allocating when s already is.
func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return upperNames.get(s)
		}
	}
	return s
}

// Upper returns s in upper case, as strings.ToUpper does, but without
// allocating for a string already in upper case or for one of the
// command names it has converted before: for checks on a command's name
// ("get" from the Upstash path form, "GET" from the typed routes) that
// run several times per request.
func Upper(s string) string { return upper(s) }

// upperNames interns the upper-case forms of the names upper converted
// ("get" → "GET"), so that a name sent in lower case costs one
// allocation per process instead of one per check. Lookups read an
// immutable map through an atomic pointer; a new name copies it. Bounded:
// names over 32 bytes, and names beyond the first 1024, are converted
// each time (a client sending made-up names cannot grow it).
var upperNames internTable

type internTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]string]
}

func (t *internTable) get(s string) string {
	if m := t.m.Load(); m != nil {
		if u, ok := (*m)[s]; ok {
			return u
		}
	}
	u := strings.ToUpper(s)
	if len(s) > 32 {
		return u
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil && len(*old) >= 1024 {
		return u
	}
	m := make(map[string]string, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	m[strings.Clone(s)] = u
	t.m.Store(&m)
	return u
}

// hasToken reports whether args (after the name) hold tok, ignoring case.
func hasToken(args []string, tok string) bool {
	for _, a := range args[1:] {
		if len(a) == len(tok) && strings.EqualFold(a, tok) {
			return true
		}
	}
	return false
}

// IsBlocking reports whether the command may block the connection waiting
// for data (BLPOP, BZPOPMIN, XREAD BLOCK, WAIT…). Such commands run on a
// separate, bounded set of connections so they never delay other requests.
func IsBlocking(args []string) bool {
	_, ok := BlockingTimeout(args)
	return ok
}

// BlockingTimeout returns how long a blocking command may wait according to
// its own arguments (0 means it may wait forever) and whether the command
// is blocking at all. Callers add it to their command timeout.
func BlockingTimeout(args []string) (time.Duration, bool) {
	if len(args) == 0 {
		return 0, false
	}
	name := upper(args[0])
	seconds := func(s string) time.Duration {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	millis := func(s string) time.Duration {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return time.Duration(n) * time.Millisecond
	}
	switch name {
	case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX":
		if len(args) < 2 {
			return 0, true
		}
		return seconds(args[len(args)-1]), true
	case "BLMPOP", "BZMPOP":
		if len(args) < 2 {
			return 0, true
		}
		return seconds(args[1]), true
	case "WAIT", "WAITAOF":
		if len(args) < 2 {
			return 0, true
		}
		return millis(args[len(args)-1]), true
	case "XREAD", "XREADGROUP":
		for i := 1; i+1 < len(args); i++ {
			a := upper(args[i])
			if a == "STREAMS" {
				break
			}
			if a == "BLOCK" {
				return millis(args[i+1]), true
			}
		}
	}
	return 0, false
}
