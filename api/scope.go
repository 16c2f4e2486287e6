package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/redis-gateway/redis-gateway/acl"
	"github.com/redis-gateway/redis-gateway/client"
)

// Containment: a read or write token's commands run on the connections of
// its scope's ACL user (package acl), so that Redis checks every command,
// those inside scripts included. The gateway's own checks (authorize) come
// first, for clear errors, and alone where Redis cannot hold ACL users.

// backend returns the backend the request's commands run on, and whether
// Redis contains them (an ACL user of the token's scope). Admin tokens and
// open mode run on the database's own backend.
func (d *deps) backend(r *http.Request) (client.Backend, bool, error) {
	return d.pickBackend(r, false)
}

// backendRESP2 is backend on connections that speak RESP2, for the
// Upstash surface: the database's own RESP2 backend, or the RESP2 pool of
// the token's ACL user.
func (d *deps) backendRESP2(r *http.Request) (client.Backend, bool, error) {
	return d.pickBackend(r, true)
}

func (d *deps) pickBackend(r *http.Request, resp2 bool) (client.Backend, bool, error) {
	db := database(r)
	own := func() (client.Backend, error) {
		if resp2 {
			return d.resp2[db.Name].get()
		}
		return db.Client, nil
	}
	p := principalFrom(r)
	if p == nil || p.tok.Level >= LevelAdmin {
		b, err := own()
		return b, true, err
	}
	users := d.users[db.Name]
	get := users.Backend
	if resp2 {
		get = users.BackendRESP2
	}
	b, err := get(r.Context(), p.scope, p.creds)
	switch {
	case errors.Is(err, acl.ErrUnavailable):
		if p.scope.Patterned() {
			return nil, false, errorf(http.StatusForbidden, CodeACLUnavailable, "this token is limited to key patterns, which only Redis ACL users can enforce, and database %q has none (see docs/security.md)", db.Name)
		}
		b, err := own()
		return b, false, err
	case err != nil:
		return nil, false, err
	}
	return b, true, nil
}

// lazyBackend is a database's backend opened on first use; an open that
// failed is tried again by the next use. It is safe for concurrent use.
type lazyBackend struct {
	db   string
	open acl.Opener

	mu     sync.Mutex
	b      client.Backend
	closed bool
}

// get returns the backend, opening it if need be (client backends dial
// lazily, so this does not wait on Redis).
func (l *lazyBackend) get() (client.Backend, error) {
	if l.open == nil {
		return nil, errorf(http.StatusNotFound, CodeNotFound, "database %q is not served on the Upstash surface: it has no RESP2 connections (Database.OpenRESP2)", l.db)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, client.ErrClosed
	}
	if l.b == nil {
		b, err := l.open(nil)
		if err != nil {
			return nil, fmt.Errorf("api: open RESP2 backend: %w", err)
		}
		l.b = b
	}
	return l.b, nil
}

// stats returns the opened backend's pool counters (zero before the
// first use): the scope-style reporter the metrics take.
func (l *lazyBackend) stats() (opened int, pools client.PoolStats) {
	l.mu.Lock()
	b := l.b
	l.mu.Unlock()
	if b == nil {
		return 0, pools
	}
	return 1, b.Stats()
}

// close closes the backend if it was opened.
func (l *lazyBackend) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.b != nil {
		l.b.Close()
		l.b = nil
	}
}

// prepare picks the request's backend and authorizes cmds on it.
func (d *deps) prepare(r *http.Request, cmds ...[]string) (client.Backend, error) {
	return d.prepareOn(r, d.backend, cmds)
}

// prepareRESP2 is prepare on the request's RESP2 backend.
func (d *deps) prepareRESP2(r *http.Request, cmds ...[]string) (client.Backend, error) {
	return d.prepareOn(r, d.backendRESP2, cmds)
}

func (d *deps) prepareOn(r *http.Request, pick func(*http.Request) (client.Backend, bool, error), cmds [][]string) (client.Backend, error) {
	b, contained, err := pick(r)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(r, contained, cmds...); err != nil {
		return nil, err
	}
	return b, nil
}

// checkChannel refuses PUBLISH to, and SUBSCRIBE/PSUBSCRIBE of, channels
// outside the token's patterns. Redis checks PUBLISH too (the ACL user's
// & rules); subscriptions ride on the database's shared connection, so
// only the gateway can check them.
func (d *deps) checkChannel(r *http.Request, p *principal, args []string) error {
	if len(args) < 2 {
		return nil
	}
	var ok bool
	switch strings.ToUpper(args[0]) {
	case "PUBLISH", "SPUBLISH", "SUBSCRIBE", "SSUBSCRIBE":
		ok = d.mayHear(r, p, args[1])
	case "PSUBSCRIBE":
		ok = acl.Covers(p.scope.Channels, args[1])
	default:
		return nil
	}
	if !ok {
		return errorf(http.StatusForbidden, CodeForbiddenChannel, "this token may not use channel %q (its channel patterns: %s)", args[1], strings.Join(p.scope.Channels, ", "))
	}
	return nil
}

// hears returns the filter of the messages the request's subscriber may
// receive (nil: all, for open mode and admin tokens).
func (d *deps) hears(r *http.Request) func(string) bool {
	p := principalFrom(r)
	if p == nil || p.tok.Level >= LevelAdmin {
		return nil
	}
	return func(ch string) bool { return d.mayHear(r, p, ch) }
}

// mayHear reports whether p may receive a message on ch: keyspace and
// keyevent channels only of the Redis databases behind p's databases on
// the same server, any other channel when it matches p's patterns.
func (d *deps) mayHear(r *http.Request, p *principal, ch string) bool {
	if n, ok := keyspaceDB(ch); ok {
		return d.ownsRedisDB(p, database(r).Server, n) && acl.AnyMatch(p.scope.Channels, ch)
	}
	return acl.AnyMatch(p.scope.Channels, ch)
}

// keyspaceDB returns N of "__keyspace@N__:…" or "__keyevent@N__:…".
func keyspaceDB(ch string) (int, bool) {
	rest, ok := strings.CutPrefix(ch, "__keyspace@")
	if !ok {
		if rest, ok = strings.CutPrefix(ch, "__keyevent@"); !ok {
			return 0, false
		}
	}
	num, _, ok := strings.Cut(rest, "__:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// blockers counts the blocking commands each token runs on each database.
// It is safe for concurrent use; the zero value is ready.
type blockers struct {
	mu sync.Mutex
	n  map[blockerKey]int
}

type blockerKey struct {
	p  *principal
	db string
}

// hold takes one of the request's token's blocking slots on its database
// and returns its release. Open mode and admin tokens are not counted (the
// client's MaxBlocking still bounds the database).
func (b *blockers) hold(ctx context.Context, limit int) (func(), error) {
	st := stateOf(ctx)
	if st.p == nil || st.p.tok.Level >= LevelAdmin || st.db == nil {
		return func() {}, nil
	}
	k := blockerKey{st.p, st.db.Name}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == nil {
		b.n = map[blockerKey]int{}
	}
	if b.n[k] >= limit {
		return nil, &apiError{status: http.StatusServiceUnavailable, code: CodePoolTimeout, retryAfter: 1, outcome: OutcomeNotSent,
			detail: "this token already runs " + strconv.Itoa(limit) + " blocking commands on database " + strconv.Quote(st.db.Name) + " (max_blocking_per_token); nothing was sent"}
	}
	b.n[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.n[k]--; b.n[k] == 0 {
				delete(b.n, k)
			}
		})
	}, nil
}

// errTokenExpired ends the streams of a signed token when it expires.
var errTokenExpired = errors.New("api: the signed token expired")

// tokenExpiry returns r with a context that ends, with cause
// errTokenExpired, when the request's signed token expires (r itself for
// tokens that do not), and the context's cancel.
func tokenExpiry(r *http.Request) (*http.Request, context.CancelFunc) {
	p := principalFrom(r)
	if p == nil || p.expires.IsZero() {
		return r, func() {}
	}
	ctx, cancel := context.WithDeadlineCause(r.Context(), p.expires, errTokenExpired)
	return r.WithContext(ctx), cancel
}

// tokenExpired reports whether ctx ended because the token expired.
func tokenExpired(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTokenExpired)
}
