package acl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
)

// Scope is what one token may do on one database below admin: read, or
// read and write, limited to key and channel patterns.
type Scope struct {
	// Write allows Redis's write commands, scripts and PUBLISH; without it
	// the scope is read-only.
	Write bool
	// Keys are glob patterns (Redis's syntax) of the keys the scope may
	// touch; nil or empty means every key.
	Keys []string
	// Channels are glob patterns of the channels the scope may publish to
	// and hear; nil or empty means every channel.
	Channels []string

	hash  string // of the rules without the fence's, set by NewScope so requests do not rehash it
	fence string // FencePrefix of the Users the scope runs in (set by Users)
}

// NewScope returns a scope with its rules' hash computed once, for scopes
// used on every request of a token; a Scope literal works too, hashing on
// each [Scope.UserName].
func NewScope(write bool, keys, channels []string) Scope {
	s := Scope{Write: write, Keys: keys, Channels: channels}
	s.hash = s.rulesHash()
	return s
}

// rulesHash is the hex of the first 8 bytes of SHA-256 of the rules
// without the fence's.
func (s Scope) rulesHash() string {
	h := sha256.Sum256([]byte(strings.Join(s.baseRules(), " ")))
	return hex.EncodeToString(h[:8])
}

// FenceID names the scope in the run keys of its keyed requests (see
// package idempotency): the hash of its rules, the same in every gateway
// process. Its ACL user may read and write FencePrefix + FenceID + ":*".
func (s Scope) FenceID() string {
	if s.hash != "" {
		return s.hash
	}
	return s.rulesHash()
}

// fenceRule is the key pattern that lets a patterned write scope use its
// own run keys ("" when it needs none: a read scope writes none, and an
// unpatterned one may touch every key anyway). It is a plain ~pattern
// (read and write), which Redis 6 understands too.
func (s Scope) fenceRule() string {
	if s.fence == "" || !s.Write || !s.Patterned() {
		return ""
	}
	return "~" + s.fence + s.FenceID() + ":*"
}

// Patterned reports whether the scope is limited to key patterns.
func (s Scope) Patterned() bool { return len(s.Keys) > 0 }

// denied are the commands no scope below admin may run even where a
// category it holds includes them: the ones that reach another database
// or another server (SELECT, SWAPDB, MOVE, MIGRATE, COPY, whose DB option
// no ACL rule can restrict), and the ones that change or read the server
// rather than data (function and script management, MEMORY PURGE…).
var denied = []string{
	"select", "swapdb", "move", "migrate", "copy",
	"function|load", "function|delete", "function|flush", "function|restore", "function|kill",
	"script|flush", "script|kill", "script|debug",
	"memory|purge", "memory|doctor", "memory|stats", "memory|malloc-stats",
	"pubsub", "client", "monitor", "sync", "psync", "replconf",
}

// Rules returns the ACL SETUSER rules of the scope, after "reset" and the
// password (which [Users] adds). Rules are applied left to right, so the
// denials come after the grants they narrow. In [Users] with a
// FencePrefix, a patterned write scope also gets its run keys.
func (s Scope) Rules() []string {
	r := s.baseRules()
	if fr := s.fenceRule(); fr != "" {
		r = append(r[:1:1], append([]string{fr}, r[1:]...)...)
	}
	return r
}

// baseRules are the rules without the fence's.
func (s Scope) baseRules() []string {
	var r []string
	if len(s.Keys) == 0 {
		r = append(r, "allkeys")
	} else {
		for _, k := range s.Keys {
			r = append(r, "~"+k)
		}
	}
	if len(s.Channels) == 0 {
		r = append(r, "allchannels")
	} else {
		for _, c := range s.Channels {
			r = append(r, "&"+c)
		}
	}
	r = append(r, "+@read",
		// harmless commands outside @read that the gateway itself sends
		// (PING for health, READONLY/ASKING and the slot map for a
		// cluster) or that a reader expects
		"+ping", "+echo", "+time", "+readonly", "+asking", "+command",
		"+cluster|slots", "+cluster|shards", "+cluster|myid",
		"+multi", "+exec", "+discard", "+watch", "+unwatch",
		"+eval_ro", "+evalsha_ro", "+fcall_ro", "+script|exists")
	if s.Write {
		r = append(r, "+@write", "+@scripting", "+publish", "+spublish", "+wait")
	}
	r = append(r, "-@admin", "-@dangerous")
	for _, c := range denied {
		r = append(r, "-"+c)
	}
	if s.Patterned() {
		// commands that list or sample key names ignore key patterns
		r = append(r, "-scan", "-randomkey")
	}
	return r
}

// UserName is the ACL user of the scope: prefix, the level and a hash of
// the rules, so that each distinct scope is its own user and a change of
// rules (another gateway version) is a new user rather than an edit of one
// that running gateways rely on.
func (s Scope) UserName(prefix string) string {
	h := s.FenceID()
	if fr := s.fenceRule(); fr != "" {
		// the run keys' rule is part of the user too
		sum := sha256.Sum256([]byte(h + " " + fr))
		h = hex.EncodeToString(sum[:8])
	}
	level := "read"
	if s.Write {
		level = "write"
	}
	return prefix + level + "-" + h
}

// Credentials name a pre-created ACL user that a scope's connections
// authenticate as instead of one the gateway creates.
type Credentials struct {
	// User is the ACL user name.
	User string
	// Password is its password.
	Password string
}

// Opener builds another backend of a database, on connections that run
// init after the usual handshake (authenticate with the configured
// identity, SELECT). The backend must shape replies as the database's own
// does (same callback overrides).
type Opener func(init [][]string) (client.Backend, error)

// Config configures [Users].
type Config struct {
	// Admin is the database's backend, on the gateway's own identity; it
	// probes whether that identity may run ACL SETUSER.
	Admin client.Backend
	// Open builds a scope's backend. Nil means ACL users are not
	// available for this database (as when no ACL rights were probed).
	Open Opener
	// OpenRESP2 builds a scope's backend on connections that speak RESP2
	// (see [Users.BackendRESP2]). Nil: BackendRESP2 reports
	// ErrUnavailable.
	OpenRESP2 Opener
	// Prefix starts every user name the gateway creates. Default "gw-".
	Prefix string
	// Secret is mixed into the derived passwords (see [Password]); the
	// gateway passes its Redis credentials, so that only who can already
	// act as the gateway's identity can derive them.
	Secret string
	// FencePrefix, when set, starts the run keys of keyed requests
	// (idempotency.Store.FencePrefix): the user of a patterned write
	// scope may also touch FencePrefix + Scope.FenceID + ":*", and no
	// other key under it. Default "": no such rule.
	FencePrefix string
	// Logger receives the one-time notice that ACL users are unavailable.
	Logger *slog.Logger
	// MaxUsers bounds the scope backends kept open (signed tokens can
	// bring many scopes). Opening one more reclaims the least recently
	// used: after Grace its pool is closed and, for a user the gateway
	// created, ACL DELUSER removes it. Default 256.
	MaxUsers int
	// Grace is how long a reclaimed backend stays usable for requests
	// that already hold it. Default 30s.
	Grace time.Duration
}

// ErrUnavailable is returned by [Users.Backend] when Redis cannot hold the
// gateway's ACL users (no ACL command, or the gateway's identity may not
// run ACL SETUSER): the caller falls back to its own, stricter checks.
var ErrUnavailable = errors.New("acl: ACL users are unavailable on this database")

// Users keeps one backend per scope of one database, each on connections
// authenticated as the scope's ACL user, opened on first use so that an
// idle scope holds no connections. It is safe for concurrent use.
type Users struct {
	cfg Config

	mu          sync.Mutex
	unavailable bool
	backends    map[string]*entry // by user name
	closed      bool
	retiring    map[*retirement]struct{} // reclaims waiting out their grace
}

// retirement is a reclaimed backend waiting out its grace period.
type retirement struct {
	t  *time.Timer // set and stopped under Users.mu
	fn func()
}

// entry is one scope's backends: RESP3 (b) and RESP2 (b2), each opened
// on first use.
type entry struct {
	b, b2   client.Backend
	used    time.Time
	created bool // the gateway created the user (else pre-created)
}

func (e *entry) get(resp2 bool) client.Backend {
	if resp2 {
		return e.b2
	}
	return e.b
}

func (e *entry) set(resp2 bool, b client.Backend) {
	if resp2 {
		e.b2 = b
	} else {
		e.b = b
	}
}

// close closes the backends opened so far.
func (e *entry) close() error {
	var errs []error
	for _, b := range []client.Backend{e.b, e.b2} {
		if b != nil {
			errs = append(errs, b.Close())
		}
	}
	return errors.Join(errs...)
}

// New returns the scope users of one database.
func New(cfg Config) *Users {
	if cfg.Prefix == "" {
		cfg.Prefix = "gw-"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUsers <= 0 {
		cfg.MaxUsers = 256
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	return &Users{cfg: cfg, backends: map[string]*entry{}, retiring: map[*retirement]struct{}{}, unavailable: cfg.Open == nil}
}

// Password derives the password of a gateway-created user from the
// gateway's own Redis credentials and the user name. Every gateway process
// with the same identity derives the same one, so several processes (and
// restarts) share a user without resetting each other's password; and who
// can derive it can already connect as the gateway's identity, which may
// do more than the scope.
func Password(secret, user string) string {
	h := sha256.Sum256([]byte("redis-gateway acl\x00" + secret + "\x00" + user))
	return hex.EncodeToString(h[:])
}

// SetUser returns the ACL SETUSER command that creates or resets the
// scope's user with the given password (sent as its SHA-256, "#…", so the
// password itself never crosses the wire in ACL commands).
func SetUser(s Scope, user, password string) []string {
	h := sha256.Sum256([]byte(password))
	args := []string{"ACL", "SETUSER", user, "reset", "on", "#" + hex.EncodeToString(h[:])}
	return append(args, s.Rules()...)
}

// Backend returns the backend of scope s, opening it on first use. With
// creds, the backend authenticates as that pre-created user; otherwise as
// the gateway's user for s, which every new connection creates (or resets
// to the same rules) before it authenticates, so the user survives a
// Redis restart. It returns ErrUnavailable when this Redis cannot hold ACL
// users, and a transport error when Redis could not be asked (the next call
// asks again).
func (u *Users) Backend(ctx context.Context, s Scope, creds *Credentials) (client.Backend, error) {
	return u.backend(ctx, s, creds, false)
}

// BackendRESP2 is [Users.Backend] on connections that speak RESP2
// ([Config.OpenRESP2]), as the same ACL user, opened on first use too: for
// surfaces that relay Redis's RESP2 replies as they are. It returns
// ErrUnavailable when OpenRESP2 is nil.
func (u *Users) BackendRESP2(ctx context.Context, s Scope, creds *Credentials) (client.Backend, error) {
	return u.backend(ctx, s, creds, true)
}

func (u *Users) backend(ctx context.Context, s Scope, creds *Credentials, resp2 bool) (client.Backend, error) {
	s.fence = u.cfg.FencePrefix
	open := u.cfg.Open
	if resp2 {
		open = u.cfg.OpenRESP2
	}
	if open == nil || u.cfg.Open == nil {
		return nil, ErrUnavailable
	}
	var name string
	var init [][]string
	if creds != nil {
		name = "user:" + creds.User
		init = [][]string{{"AUTH", creds.User, creds.Password}}
	} else {
		name = s.UserName(u.cfg.Prefix)
	}
	u.mu.Lock()
	e, known := u.backends[name]
	if known {
		e.used = time.Now()
		if b := e.get(resp2); b != nil {
			u.mu.Unlock()
			return b, nil
		}
	}
	closed, unavailable := u.closed, u.unavailable
	u.mu.Unlock()
	if closed {
		return nil, client.ErrClosed
	}
	// The probe and the dial happen without the lock: a slow or paused
	// Redis must not hold up the requests of scopes already open.
	if creds == nil {
		if unavailable {
			return nil, ErrUnavailable
		}
		pass := Password(u.cfg.Secret, name)
		setuser := SetUser(s, name, pass)
		// probe on the gateway's identity (once per user: a scope whose
		// other protocol is open has passed it): an answer that says "no
		// ACL here" turns users off for this database, once
		if !known {
			if _, err := u.cfg.Admin.DoRaw(ctx, setuser...); err != nil {
				var re *client.Error
				if errors.As(err, &re) {
					u.mu.Lock()
					first := !u.unavailable
					u.unavailable = true
					u.mu.Unlock()
					if first {
						u.cfg.Logger.Warn("ACL users unavailable: scripts and functions need an admin token, key patterns are refused", "err", re.Error())
					}
					return nil, ErrUnavailable
				}
				return nil, fmt.Errorf("acl: create user: %w", err)
			}
		}
		init = [][]string{setuser, {"AUTH", name, pass}}
	}
	b, err := open(init)
	if err != nil {
		return nil, fmt.Errorf("acl: open scope backend: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		b.Close()
		return nil, client.ErrClosed
	}
	e, ok := u.backends[name]
	if !ok {
		if len(u.backends) >= u.cfg.MaxUsers {
			u.reclaimLocked()
		}
		e = &entry{created: creds == nil}
		u.backends[name] = e
	}
	e.used = time.Now()
	if have := e.get(resp2); have != nil {
		// another request opened it meanwhile: keep one
		b.Close()
		return have, nil
	}
	e.set(resp2, b)
	return b, nil
}

// reclaimLocked retires the least recently used backend: requests that
// hold it may finish within the grace period, then its pool is closed and
// the user the gateway created is deleted. u.mu is held.
func (u *Users) reclaimLocked() {
	var oldest string
	for n, e := range u.backends {
		if oldest == "" || e.used.Before(u.backends[oldest].used) {
			oldest = n
		}
	}
	e := u.backends[oldest]
	delete(u.backends, oldest)
	retire := func() {
		e.close()
		if e.created {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := u.cfg.Admin.DoRaw(ctx, "ACL", "DELUSER", oldest); err != nil {
				u.cfg.Logger.Debug("acl: delete reclaimed user", "err", err)
			}
		}
	}
	r := &retirement{fn: retire}
	u.retiring[r] = struct{}{}
	r.t = time.AfterFunc(u.cfg.Grace, func() {
		u.mu.Lock()
		_, pending := u.retiring[r]
		delete(u.retiring, r)
		u.mu.Unlock()
		if pending {
			r.fn()
		}
	})
}

// Stats reports the scope users with backends open now and the sum of
// their pools' counters (RESP3 and RESP2), for metrics and /databases:
// scoped requests run on these pools, not on the database's main one.
func (u *Users) Stats() (users int, pools client.PoolStats) {
	u.mu.Lock()
	users = len(u.backends)
	bs := make([]client.Backend, 0, 2*len(u.backends))
	for _, e := range u.backends {
		for _, b := range []client.Backend{e.b, e.b2} { // either may be unopened
			if b != nil {
				bs = append(bs, b)
			}
		}
	}
	u.mu.Unlock()
	for _, b := range bs {
		pools.Add(b.Stats())
	}
	return users, pools
}

// Names lists the user names of the scopes opened so far, sorted.
func (u *Users) Names() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.backends))
	for n := range u.backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes every scope backend, and retires at once those waiting out
// their grace period.
func (u *Users) Close() error {
	u.mu.Lock()
	u.closed = true
	var errs []error
	for n, e := range u.backends {
		errs = append(errs, e.close())
		delete(u.backends, n)
	}
	var retire []func()
	for r := range u.retiring {
		r.t.Stop()
		retire = append(retire, r.fn)
		delete(u.retiring, r)
	}
	u.mu.Unlock()
	for _, fn := range retire {
		fn()
	}
	return errors.Join(errs...)
}
