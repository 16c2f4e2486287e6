package callbacks

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Func shapes one reply into a JSON-ready value (see the package comment
// for the value types it may return). It returns an error when the reply
// does not have the shape the command promises.
type Func func(v resp.Value, opts Options) (any, error)

// Options carries what a callback may need beyond the reply: the command
// as sent and flags derived from it.
type Options struct {
	// Args is the whole command as sent, name first. Callbacks read
	// option tokens (WITHCOORD, WITHDIST…) from it; nil is allowed.
	Args []string
	// WithScores asks ZRANGE-family callbacks for [{member, score}]. The
	// client sets it when Args holds a WITHSCORES token.
	WithScores bool
}

// Map is a JSON object that keeps its key order. Keys are string (names the
// gateway chose, such as "member") or []byte (data from Redis, such as a
// hash field).
type Map []Entry

// Entry is one key/value pair of a [Map].
type Entry struct {
	Key   any
	Value any
}

// Number is a number written into JSON as it is, used for RESP3 big
// numbers, which do not fit an int64.
type Number string

// Registry maps command names to callbacks. It is safe for concurrent use:
// lookups take no lock, and [Registry.Set] swaps in a changed copy.
type Registry struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[string]Func]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{}
	m := map[string]Func{}
	r.m.Store(&m)
	return r
}

// normalize upper-cases a command name and folds runs of spaces, so
// "config  get" and "CONFIG GET" name the same entry.
func normalize(cmd string) string {
	return strings.ToUpper(strings.Join(strings.Fields(cmd), " "))
}

// Set registers fn for cmd ("HGETALL", or "CONFIG GET" for a subcommand).
// A nil fn removes the entry, so the generic conversion applies.
func (r *Registry) Set(cmd string, fn Func) {
	cmd = normalize(cmd)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.m.Load()
	m := make(map[string]Func, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	if fn == nil {
		delete(m, cmd)
	} else {
		m[cmd] = fn
	}
	r.m.Store(&m)
}

// Get returns the callback registered for cmd, or nil.
func (r *Registry) Get(cmd string) Func {
	return (*r.m.Load())[normalize(cmd)]
}

// Own returns a table a client may change without affecting anyone else:
// a copy of r, or a fresh default table when r is nil. Clients built from
// one "class-level" table use it, as redis-py instances copy
// RESPONSE_CALLBACKS.
func Own(r *Registry) *Registry {
	if r == nil {
		return Default()
	}
	return r.Clone()
}

// Clone returns an independent copy: changes to either do not affect the
// other.
func (r *Registry) Clone() *Registry {
	c := &Registry{}
	old := *r.m.Load()
	m := make(map[string]Func, len(old))
	for k, v := range old {
		m[k] = v
	}
	c.m.Store(&m)
	return c
}

// Lookup finds the callback for a command given as its arguments: for a
// container command with a subcommand, the pair ("CONFIG GET") only;
// otherwise the command alone. It returns nil when none is registered. It does not allocate for
// commands whose name is already upper case.
func (r *Registry) Lookup(args []string) Func {
	if len(args) == 0 {
		return nil
	}
	m := *r.m.Load()
	name := args[0]
	if !isUpper(name) {
		name = strings.ToUpper(name)
	}
	if len(args) > 1 && hasSubcommands(name) {
		// A subcommand has its own reply shape (COMMAND COUNT is an
		// integer, COMMAND LIST names): the container's callback, which
		// is for the bare command, never applies to it.
		return m[name+" "+strings.ToUpper(args[1])]
	}
	return m[name]
}

// Generic reports whether the reply to args is shaped by the generic
// conversion: no callback is registered for it, or the registered one is
// the generic ("raw") callback itself. Consumers that encode replies
// while reading them (client.DoVisit) may then skip the callbacks.
func (r *Registry) Generic(args []string) bool {
	fn := r.Lookup(args)
	return fn == nil || reflect.ValueOf(fn).Pointer() == genericPtr
}

// genericPtr identifies the generic callback (functions are not
// comparable in Go; their code pointers are).
var genericPtr = reflect.ValueOf(Func(generic)).Pointer()

// Shape runs the callback for args on v, or [Generic] when none is
// registered. An error reply is returned as a *resp.Error error without
// calling any callback.
func (r *Registry) Shape(v resp.Value, opts Options) (any, error) {
	if err := v.Err(); err != nil {
		return nil, err
	}
	if fn := r.Lookup(opts.Args); fn != nil {
		return fn(v, opts)
	}
	return Generic(v), nil
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return false
		}
	}
	return true
}

// hasSubcommands reports whether name is a container command whose second
// argument picks the real command.
func hasSubcommands(name string) bool {
	switch name {
	case "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY",
		"MEMORY", "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XINFO", "XGROUP":
		return true
	}
	return false
}

// Commands lists the commands with a registered callback, sorted.
func (r *Registry) Commands() []string {
	m := *r.m.Load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
