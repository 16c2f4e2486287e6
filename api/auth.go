package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/redis-gateway/redis-gateway/acl"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/tokens"
)

// Level is what a token may do: read < write < admin.
type Level int

// Access levels.
const (
	LevelRead  Level = iota + 1 // commands Redis flags readonly (and harmless ones like PING)
	LevelWrite                  // anything that writes or publishes
	LevelAdmin                  // commands Redis flags admin, and the dangerous list

	// LevelMetrics may read /metrics and nothing else; it ranks below read.
	LevelMetrics Level = -1
)

// ParseLevel reads "read", "write", "admin" or "metrics".
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(s) {
	case "metrics":
		return LevelMetrics, nil
	case "read":
		return LevelRead, nil
	case "write":
		return LevelWrite, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("level %q: want read, write, admin or metrics", s)
}

// String returns "read", "write", "admin" or "metrics".
func (l Level) String() string {
	switch l {
	case LevelMetrics:
		return "metrics"
	case LevelRead:
		return "read"
	case LevelWrite:
		return "write"
	case LevelAdmin:
		return "admin"
	}
	return "none"
}

// Token is one bearer token and what it may do.
type Token struct {
	// Name identifies the token in logs (never the secret).
	Name string
	// Secret is the token itself. Leave it empty and set SHA256 to keep
	// only a hash of the token in the configuration.
	Secret string
	// SHA256 is the hex SHA-256 of the token, used when Secret is empty.
	SHA256 string
	// Databases lists the database names the token may use; "*" is every
	// database.
	Databases []string
	// Level is the most the token may do.
	Level Level
	// RateLimit is the sustained requests per second allowed; 0 is no
	// limit.
	RateLimit float64
	// Burst is how many requests may exceed the rate at once. Default:
	// the rate rounded up (at least 1).
	Burst int
	// Keys limits a read or write token to keys matching these glob
	// patterns (Redis's syntax), enforced by Redis through the scope's ACL
	// user on every surface and inside scripts. Empty: every key.
	Keys []string
	// Channels limits the channels a read or write token may publish to
	// and hear (glob patterns; a PSUBSCRIBE pattern must equal one of
	// them). Empty: every channel.
	Channels []string
	// RedisUser and RedisPassword name a pre-created ACL user that the
	// token's connections authenticate as, for a gateway whose own Redis
	// identity may not create users. Empty: the gateway creates its own.
	RedisUser     string
	RedisPassword string
	// Mint lets a read or write token call POST /tokens for signed tokens
	// no wider than itself (admin tokens always may).
	Mint bool
}

// DefaultDangerousCommands need the admin level whatever Redis's flags say.
var DefaultDangerousCommands = []string{
	"FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG", "SHUTDOWN", "KEYS", "SCRIPT KILL", "SCRIPT FLUSH",
	"FUNCTION FLUSH", "FUNCTION KILL", "MIGRATE", "REPLICAOF", "SLAVEOF", "SAVE", "BGSAVE",
	"BGREWRITEAOF", "ACL", "MODULE", "CLIENT", "CLUSTER", "FAILOVER", "SWAPDB", "LATENCY",
	// reach another database: no scope's ACL user may run them either
	"MOVE", "COPY",
	// change the server's functions, or show other clients and databases
	"FUNCTION LOAD", "FUNCTION DELETE", "FUNCTION RESTORE", "SCRIPT DEBUG",
	"MEMORY PURGE", "MEMORY DOCTOR", "MEMORY STATS", "MEMORY MALLOC-STATS",
	"SLOWLOG", "INFO", "PUBSUB", "LASTSAVE",
}

// principal is an authenticated token with its state.
type principal struct {
	tok     *Token
	hash    [sha256.Size]byte
	all     bool
	dbs     map[string]bool
	limiter *rate.Limiter
	scope   acl.Scope
	creds   *acl.Credentials // nil: the gateway's own user for scope
	// expires is a signed token's exp (zero for configured tokens).
	expires time.Time
}

// authConfig holds the prepared tokens and command policy.
type authConfig struct {
	principals []*principal
	dangerous  map[string]bool
	// dangerousSub holds the first words of the dangerous list's
	// two-word entries ("CONFIG" for "CONFIG SET"), so that levelFor
	// joins a command's name and subcommand only for those.
	dangerousSub map[string]bool
	// signed verifies signed tokens (nil: none accepted); verified ones
	// are kept as principals until they expire, so that a token's rate
	// limit and blocking slots are its own across requests.
	signed   *tokens.Verifier
	mu       sync.Mutex
	verified map[string]*principal
}

// maxVerified bounds the cache of verified signed tokens.
const maxVerified = 10000

func newAuth(toks []Token, dangerous []string, signed *tokens.Verifier) (*authConfig, error) {
	a := &authConfig{dangerous: map[string]bool{}, dangerousSub: map[string]bool{}, signed: signed, verified: map[string]*principal{}}
	if dangerous == nil {
		dangerous = DefaultDangerousCommands
	}
	for _, c := range dangerous {
		words := strings.Fields(strings.ToUpper(c))
		a.dangerous[strings.Join(words, " ")] = true
		if len(words) > 1 {
			a.dangerousSub[words[0]] = true
		}
	}
	for i := range toks {
		t := &toks[i]
		if t.Secret == "" && t.SHA256 == "" {
			return nil, fmt.Errorf("api: token %q has neither a secret nor a sha256", t.Name)
		}
		if (t.Level < LevelRead || t.Level > LevelAdmin) && t.Level != LevelMetrics {
			return nil, fmt.Errorf("api: token %q: level must be read, write, admin or metrics", t.Name)
		}
		if t.Level == LevelAdmin && (len(t.Keys) > 0 || len(t.Channels) > 0 || t.RedisUser != "") {
			return nil, fmt.Errorf("api: token %q: an admin token takes no keys, channels or redis_user (it runs as the gateway's own identity)", t.Name)
		}
		p := newPrincipal(t)
		switch {
		case t.Secret != "":
			p.hash = sha256.Sum256([]byte(t.Secret))
		default:
			b, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("api: token %q: sha256 must be 64 hex digits", t.Name)
			}
			copy(p.hash[:], b)
		}
		a.principals = append(a.principals, p)
	}
	return a, nil
}

// newPrincipal prepares a token's state: its databases, scope and rate
// limiter.
func newPrincipal(t *Token) *principal {
	p := &principal{tok: t, dbs: map[string]bool{}}
	for _, db := range t.Databases {
		if db == "*" {
			p.all = true
		}
		p.dbs[db] = true
	}
	p.scope = acl.NewScope(t.Level >= LevelWrite, t.Keys, t.Channels)
	if t.RedisUser != "" {
		p.creds = &acl.Credentials{User: t.RedisUser, Password: t.RedisPassword}
	}
	if t.RateLimit > 0 {
		burst := t.Burst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(t.RateLimit)))
		}
		p.limiter = rate.NewLimiter(rate.Limit(t.RateLimit), burst)
	}
	return p
}

// enabled reports whether tokens are configured (else everything is open).
func (a *authConfig) enabled() bool { return len(a.principals) > 0 || a.signed != nil }

// verify returns the principal of a signed token, or a 401 naming what is
// wrong with it.
func (a *authConfig) verify(raw string, now time.Time) (*principal, error) {
	a.mu.Lock()
	p, ok := a.verified[raw]
	a.mu.Unlock()
	if ok && now.Before(p.expires) {
		return p, nil
	}
	c, err := a.signed.Verify(raw, now)
	if err != nil {
		code := CodeTokenInvalid
		switch {
		case errors.Is(err, tokens.ErrExpired):
			code = CodeTokenExpired
		case errors.Is(err, tokens.ErrNotYetValid):
			code = CodeTokenNotYetValid
		case errors.Is(err, tokens.ErrAudience):
			code = CodeTokenAudience
		case errors.Is(err, tokens.ErrSignature):
			code = CodeTokenSignature
		}
		return nil, errorf(http.StatusUnauthorized, code, "%s", strings.TrimPrefix(err.Error(), "tokens: "))
	}
	level, _ := ParseLevel(c.Level)
	t := &Token{Name: "signed:" + c.Subject, Databases: c.Databases, Level: level, Keys: c.Keys, Channels: c.Channels, RateLimit: c.RateLimit}
	p = newPrincipal(t)
	p.expires = c.Expiry.Time()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.verified) >= maxVerified {
		for k, old := range a.verified {
			if !now.Before(old.expires) {
				delete(a.verified, k)
			}
		}
		if len(a.verified) >= maxVerified {
			clear(a.verified) // all live: start over rather than grow
		}
	}
	a.verified[raw] = p
	return p, nil
}

// lookup finds the token's principal, comparing hashes in constant time
// against every configured token.
func (a *authConfig) lookup(secret string) *principal {
	h := sha256.Sum256([]byte(secret))
	var found *principal
	for _, p := range a.principals {
		if subtle.ConstantTimeCompare(h[:], p.hash[:]) == 1 {
			found = p
		}
	}
	return found
}

// principalFrom returns the request's authenticated token, or nil when
// authentication is off.
func principalFrom(r *http.Request) *principal {
	return stateOf(r.Context()).p
}

// bearer extracts the token from "Authorization: Bearer …" or, for Upstash
// clients, the _token query parameter.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return queryOf(r).Get("_token")
}

// authenticate requires a valid token when tokens are configured (401
// limit takes one request from the token's rate limit: nil, or the 429
// to answer (with Retry-After) when it is exhausted.
func (p *principal) limit() *apiError {
	if p.limiter == nil {
		return nil
	}
	res := p.limiter.Reserve()
	wait := res.Delay()
	if wait <= 0 {
		return nil
	}
	res.Cancel()
	return &apiError{
		status:     http.StatusTooManyRequests,
		code:       CodeRateLimited,
		detail:     "the token's rate limit is exhausted",
		retryAfter: max(1, int(math.Ceil(wait.Seconds()))),
	}
}

// otherwise) and applies the token's rate limit (429), answering failures
// as problem+json.
func authenticate(d *deps) func(http.Handler) http.Handler { return authenticateWith(d, d.problem) }

// authenticateWith is authenticate with failures rendered by fail (the
// Upstash surface answers {"error": …} instead of problem+json).
func authenticateWith(d *deps, fail errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if !d.auth.enabled() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			secret := bearer(r)
			if secret == "" {
				fail(w, r, errorf(http.StatusUnauthorized, CodeUnauthorized, "a bearer token is required (Authorization: Bearer <token>)"))
				return
			}
			p := d.auth.lookup(secret)
			if p == nil && d.auth.signed != nil && tokens.Looks(secret) {
				var err error
				if p, err = d.auth.verify(secret, time.Now()); err != nil {
					fail(w, r, err)
					return
				}
			}
			if p == nil {
				fail(w, r, errorf(http.StatusUnauthorized, CodeUnauthorized, "the token is not valid"))
				return
			}
			if err := p.limit(); err != nil {
				fail(w, r, err)
				return
			}
			if p.tok.Level == LevelMetrics {
				fail(w, r, errorf(http.StatusForbidden, CodeForbiddenDatabase, "a metrics token may read /metrics only"))
				return
			}
			stateOf(r.Context()).p = p
			next.ServeHTTP(w, r)
		})
	}
}

// allowedDatabase reports whether the request's token may use database db.
func allowedDatabase(r *http.Request, db string) bool {
	p := principalFrom(r)
	return p == nil || p.all || p.dbs[db]
}

// commandInfo is c.CommandInfo for a lookup of the gateway's own, made
// before the request's commands: a cached answer comes at once; a cache
// miss asks Redis (COMMAND INFO) under the command timeout, whatever ctx's
// deadline, and its failure is marked not sent (client.ErrNotSent): none
// of the request's commands was sent.
func (d *deps) commandInfo(ctx context.Context, c client.Backend, args []string) (client.CommandInfo, error) {
	if cc, ok := c.(infoCache); ok {
		if ci, ok := cc.CachedCommandInfo(args); ok {
			return ci, nil
		}
	}
	ctx, cancel := d.timeoutContext(ctx)
	defer cancel()
	ci, err := c.CommandInfo(ctx, args)
	if err != nil {
		return ci, fmt.Errorf("%w (%w)", err, client.ErrNotSent)
	}
	return ci, nil
}

// infoCache is a backend that tells a cached COMMAND INFO answer from one
// it would have to ask for (client.Client.CachedCommandInfo).
type infoCache interface {
	CachedCommandInfo(args []string) (client.CommandInfo, bool)
}

var _ infoCache = (*client.Client)(nil)

// levelFor decides the level a command needs: admin for the dangerous list
// and for commands Redis flags admin; write for commands Redis flags write
// or may_replicate, for scripts not flagged readonly (EVAL, FCALL), and for
// PUBLISH; read otherwise. Flags come from
// COMMAND INFO, fetched once per database client and cached.
func (d *deps) levelFor(ctx context.Context, c client.Backend, args []string) (Level, error) {
	name := client.Upper(args[0])
	if d.auth.dangerous[name] {
		return LevelAdmin, nil
	}
	if len(args) > 1 && d.auth.dangerousSub[name] && d.auth.dangerous[name+" "+strings.ToUpper(args[1])] {
		return LevelAdmin, nil
	}
	switch name {
	case "PUBLISH", "SPUBLISH":
		return LevelWrite, nil
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE":
		return LevelRead, nil
	}
	ci, err := d.commandInfo(ctx, c, args)
	if err != nil {
		return 0, err
	}
	switch {
	case !ci.Known:
		return LevelWrite, nil // let Redis answer "unknown command", but not to readers
	case ci.Has("admin"):
		return LevelAdmin, nil
	case ci.Has("write"), ci.Has("may_replicate"):
		return LevelWrite, nil
	case ci.InCategory("scripting") && !ci.Has("readonly") && !ci.InCategory("read"):
		return LevelWrite, nil // EVAL/FCALL may write; EVAL_RO/FCALL_RO are readonly
	}
	return LevelRead, nil
}

// authorize checks every command against the request's token before any
// of them runs. It returns a 403 problem naming the first command the
// token may not run: FORBIDDEN_COMMAND for the level, FORBIDDEN_CHANNEL for
// a channel outside the token's patterns. Without ACL users on the
// database (contained is false) scripts and functions need admin, since
// nothing would stop what they call.
func (d *deps) authorize(r *http.Request, contained bool, cmds ...[]string) error {
	p := principalFrom(r)
	if p == nil {
		return nil
	}
	db := database(r)
	for _, args := range cmds {
		if len(args) == 0 {
			continue
		}
		need, err := d.levelFor(r.Context(), db.Client, args)
		if err != nil {
			return err
		}
		if !contained && need < LevelAdmin && scripting[strings.ToUpper(args[0])] {
			return errorf(http.StatusForbidden, CodeForbiddenCommand, "%s needs the admin level here: this database has no ACL users to contain scripts (see docs/security.md)", strings.ToUpper(args[0]))
		}
		if need > p.tok.Level {
			return errorf(http.StatusForbidden, CodeForbiddenCommand, "%s needs the %s level; this token has %s", strings.ToUpper(args[0]), need, p.tok.Level)
		}
		if err := d.checkChannel(r, p, args); err != nil {
			return err
		}
	}
	return nil
}

// scripting are the commands that run code on the server: contained by a
// scope's ACL user, admin-only without one.
var scripting = map[string]bool{
	"EVAL": true, "EVALSHA": true, "EVAL_RO": true, "EVALSHA_RO": true,
	"FCALL": true, "FCALL_RO": true, "SCRIPT": true, "FUNCTION": true,
}
