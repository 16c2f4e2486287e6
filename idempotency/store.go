package idempotency

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/resp"
)

// Doer runs one command and returns its unshaped reply; *client.Client and
// every client.Backend are Doers.
type Doer interface {
	DoRaw(ctx context.Context, args ...string) (client.Value, error)
}

// Config configures a [Store]. A zero field means the default in its
// comment.
type Config struct {
	// Backend holds the records. It should run as the gateway's own Redis
	// user, so that scoped tokens (ACL users limited to key patterns)
	// cannot reach the records' prefix. Required.
	Backend Doer
	// TTL is how long a record (and so a key) lives after its request
	// began. Default 24h.
	TTL time.Duration
	// Lease is how long an in-flight request's lease lasts without being
	// refreshed: after its gateway stops, a duplicate learns within Lease
	// that the first request was interrupted. Refreshed every Lease/3.
	// Default 10s.
	Lease time.Duration
	// Secret seals the records (see the package comment). Every gateway
	// sharing the Redis server must use the same one. Default "" (records
	// are still sealed, but with a key anyone who reads the source knows).
	Secret string
	// Prefix starts every record's Redis key. Default
	// "gateway:idempotency:".
	Prefix string
	// MaxResponse is the largest response body kept in a record; a larger
	// one is still sent, and a retry learns that it was not kept
	// ([Interrupted]). Default 1 MiB.
	MaxResponse int
}

func (c Config) withDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Second
	}
	if c.Prefix == "" {
		c.Prefix = "gateway:idempotency:"
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = 1 << 20
	}
	return c
}

// Store keeps idempotency records in Redis. It is safe for concurrent use.
type Store struct {
	cfg  Config
	aead cipher.AEAD
}

// New returns a Store; it panics without a Backend (a programming error at
// startup).
func New(cfg Config) *Store {
	if cfg.Backend == nil {
		panic("idempotency: Config.Backend is required")
	}
	cfg = cfg.withDefaults()
	k := sha256.Sum256([]byte("redis-gateway idempotency record\x00" + cfg.Secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Store{cfg: cfg, aead: aead}
}

// MaxResponse returns the largest body a record keeps.
func (s *Store) MaxResponse() int { return s.cfg.MaxResponse }

// State is what [Store.Begin] found for a key.
type State int

const (
	// Started: the key was free and is now held by the returned
	// [Attempt]; run the request, then Complete or Release it.
	Started State = iota
	// Replay: the request ran before; send the stored [Response].
	Replay
	// InFlight: the first request with the key is still running.
	InFlight
	// Mismatch: the key was used for a different request.
	Mismatch
	// Interrupted: the first request's gateway stopped before storing its
	// response (or the response was too large to keep, or the record does
	// not open): its commands may have run, and the key will not run them
	// again. With fencing ([Store.BeginFenced]) this is left only for
	// attempts that ran unfenced (a blocking command), for records too
	// large to keep and for records that do not open.
	Interrupted
	// RanEarlier: an earlier attempt's outcome was unknown (its reply
	// never came, or its gateway stopped), and its run key shows that it
	// ran: the request ran exactly once and its response was lost. The
	// returned [Attempt] holds the key; complete it with the answer to
	// keep for later retries.
	RanEarlier
)

// Response is a stored response.
type Response struct {
	// Status is the HTTP status.
	Status int `json:"status"`
	// Header holds the kept headers (see [KeptHeaders]).
	Header http.Header `json:"header,omitempty"`
	// Body is the response body.
	Body []byte `json:"body,omitempty"`
}

// record is what a Redis key holds (sealed).
type record struct {
	Fingerprint string    `json:"fp"`
	Attempt     string    `json:"attempt,omitempty"` // random, per Begin
	Started     int64     `json:"started,omitempty"` // Unix ms
	Done        bool      `json:"done,omitempty"`
	Fence       string    `json:"fence,omitempty"`     // the run key K of the request's fenced attempts
	Unfenced    bool      `json:"unfenced,omitempty"`  // the attempt may run without the fence
	Uncertain   bool      `json:"uncertain,omitempty"` // the attempt ran fenced and its outcome is unknown
	TooLarge    bool      `json:"too_large,omitempty"`
	Response    *Response `json:"response,omitempty"`
}

// Attempt holds a key for one running request. It belongs to the goroutine
// that began it.
type Attempt struct {
	s        *Store
	keys     keyNames
	fp       string
	id       string
	fence    *client.Fence // nil: unfenced
	stop     chan struct{}
	wg       sync.WaitGroup
	finished bool
}

// keyNames are the Redis keys of one idempotency key, in one hash slot.
// tag is the hash of (identity, key) they share.
type keyNames struct{ rec, lease, run, tag string }

// take is the key a retry takes before it takes over attempt's record.
func (k keyNames) take(attempt string) string { return k.rec + ":take:" + attempt }

// FencePrefix starts every run key (fence) of the store:
// Prefix + "run:". A run key is FencePrefix + scope + ":" + a hash of the
// identity and the key, so that an ACL user may be given its scope's
// run keys alone (the pattern FencePrefix + scope + ":*").
func (s *Store) FencePrefix() string { return s.cfg.Prefix + "run:" }

// fenceKey is the run key of the request of k under scope.
func (s *Store) fenceKey(scope string, k keyNames) string {
	return s.FencePrefix() + scope + ":{" + k.tag + "}"
}

// keys returns the Redis keys of (identity, key).
func (s *Store) keys(identity, key string) keyNames {
	h := sha256.New()
	h.Write([]byte(identity))
	h.Write([]byte{0})
	h.Write([]byte(key))
	tag := hex.EncodeToString(h.Sum(nil)[:16])
	rec := s.cfg.Prefix + "{" + tag + "}"
	return keyNames{rec: rec, lease: rec + ":lease", run: rec + ":run", tag: tag}
}

// Begin looks up key for identity and, when it is free, takes it for a
// request with fingerprint fp, whose commands run unfenced: an attempt
// whose outcome is unknown is stored as it ended, and one interrupted
// before storing its response leaves the key [Interrupted]. It returns the
// [Attempt] (Started only), the stored response (Replay only) and the
// state. The record's commands are idempotent or checked, so a transport
// failure is retried a few times (5–40 ms apart); an error means Redis
// could not be asked, and nothing of the request has run.
//
// Three keys share one hash slot: the record (marker, then response), the
// lease (alive while the owner runs) and the run key, which names the one
// attempt allowed to run the request: it is taken with SET NX just before
// the request runs, so a marker without a run key is one whose owner gave
// up before running anything, and a later attempt may take it over.
func (s *Store) Begin(ctx context.Context, identity, key, fp string) (*Attempt, *Response, State, error) {
	return s.begin(ctx, identity, key, fp, "", false)
}

// BeginFenced is [Begin] for a request whose commands run fenced
// ([Attempt.Fence], client.WithFence) by a run key in scope's namespace
// (see [Store.FencePrefix]). An attempt whose outcome is unknown is left
// uncertain ([Attempt.Uncertain]) rather than stored, and so is one whose
// gateway stopped: a retry takes the key over (one retry at a time) and
// reads the run key: set, the request ran and its reply was lost
// ([RanEarlier]); unset, the retry runs it again fenced with a new attempt
// id, and the fence keeps an older attempt that Redis has not yet read
// from running too.
func (s *Store) BeginFenced(ctx context.Context, identity, key, fp, scope string) (*Attempt, *Response, State, error) {
	return s.begin(ctx, identity, key, fp, scope, true)
}

func (s *Store) begin(ctx context.Context, identity, key, fp, scope string, fenced bool) (*Attempt, *Response, State, error) {
	k := s.keys(identity, key)
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, 0, fmt.Errorf("idempotency: attempt id: %w", err)
	}
	attempt := hex.EncodeToString(id)
	fresh := record{Fingerprint: fp, Attempt: attempt, Started: time.Now().UnixMilli(), Unfenced: !fenced}
	if fenced {
		fresh.Fence = s.fenceKey(scope, k)
	}
	marker, err := s.seal(k.rec, fresh)
	if err != nil {
		return nil, nil, 0, err
	}
	ttl := strconv.FormatInt(s.cfg.TTL.Milliseconds(), 10)
	var lastErr error
	for try := range maxTries {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		v, err := s.cfg.Backend.DoRaw(ctx, "SET", k.rec, marker, "NX", "PX", ttl)
		switch {
		case err == nil && !v.IsNull():
			return s.started(ctx, k, fresh)
		case err != nil:
			lastErr = fmt.Errorf("idempotency: take key: %w", err)
			if errors.Is(err, client.ErrNotSent) {
				continue
			}
			// the SET may have landed: the record tells whether it is ours
		}
		v, err = s.cfg.Backend.DoRaw(ctx, "GET", k.rec)
		if err != nil {
			lastErr = fmt.Errorf("idempotency: read record: %w", err)
			continue
		}
		if v.IsNull() {
			continue // expired or released between SET and GET: try again
		}
		r, err := s.open(k.rec, v.Str)
		switch {
		case err != nil:
			return nil, nil, Interrupted, nil
		case r.Fingerprint != fp:
			return nil, nil, Mismatch, nil
		case r.Attempt == attempt:
			return s.started(ctx, k, fresh)
		case r.Done && r.Response != nil:
			return nil, r.Response, Replay, nil
		case r.Done:
			return nil, nil, Interrupted, nil
		case r.Uncertain:
			return s.takeOver(ctx, k, r, fresh)
		case time.Since(time.UnixMilli(r.Started)) < s.cfg.Lease:
			return nil, nil, InFlight, nil // its owner may be taking its lease just now
		}
		v, err = s.cfg.Backend.DoRaw(ctx, "EXISTS", k.lease, k.run)
		if err != nil {
			lastErr = fmt.Errorf("idempotency: read lease: %w", err)
			continue
		}
		if v.Int == 0 {
			// the owner gave up before running anything: take over
			return s.takeOver(ctx, k, r, fresh)
		}
		v, err = s.cfg.Backend.DoRaw(ctx, "EXISTS", k.lease)
		if err != nil {
			lastErr = fmt.Errorf("idempotency: read lease: %w", err)
			continue
		}
		if v.Int == 1 {
			return nil, nil, InFlight, nil
		}
		if r.Unfenced || r.Fence == "" {
			return nil, nil, Interrupted, nil // it may have run: never again
		}
		return s.takeOver(ctx, k, r, fresh) // its run key tells

	}
	if lastErr == nil {
		return nil, nil, InFlight, nil // the key keeps changing hands: as busy
	}
	return nil, nil, 0, lastErr
}

// maxTries bounds the tries of each record command.
const maxTries = 4

// transactioner is a Doer that also runs commands in MULTI/EXEC, sent in
// one write (*client.Client and every client.Backend).
type transactioner interface {
	Transaction(ctx context.Context, watch []string, cmds [][]string) ([]client.Result, error)
}

// tx runs idempotent record commands as one MULTI/EXEC, retrying
// transport failures (running them twice changes nothing). MULTI/EXEC
// runs all of them or none: a command refused when queued (out of memory,
// a read-only replica) aborts EXEC, and SET and DEL cannot fail once run.
func (s *Store) tx(ctx context.Context, t transactioner, cmds [][]string) error {
	var err error
	for try := range maxTries {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		var res []client.Result
		if res, err = t.Transaction(ctx, nil, cmds); err == nil {
			for _, r := range res {
				if r.Err != nil {
					return r.Err
				}
			}
			return nil
		}
		var (
			re *client.Error
			te *client.TxError
		)
		if errors.As(err, &re) || errors.As(err, &te) || errors.Is(err, client.ErrTxAborted) {
			return err // Redis answered: trying again would not change that
		}
	}
	return err
}

// backoff waits before try (5, 10, 20 ms…, at most 40 ms); false when ctx
// ended first.
func backoff(ctx context.Context, try int) bool {
	t := time.NewTimer(min(5*time.Millisecond<<(try-1), 40*time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// do runs an idempotent record command, retrying transport failures.
func (s *Store) do(ctx context.Context, args ...string) error {
	var err error
	for try := range maxTries {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		if _, err = s.cfg.Backend.DoRaw(ctx, args...); err == nil {
			return nil
		}
		var re *client.Error
		if errors.As(err, &re) {
			return err // Redis answered: trying again would not change that
		}
	}
	return err
}

// started takes the lease and then the run key for the attempt of
// marker m (its record is in place). When the run key is taken by another
// attempt, the key is in flight.
func (s *Store) started(ctx context.Context, k keyNames, m record) (*Attempt, *Response, State, error) {
	free := func() {
		dctx, cancel := s.detached(ctx)
		defer cancel()
		_ = s.do(dctx, "DEL", k.rec, k.lease) // nothing ran: free the key again
	}
	ttl := strconv.FormatInt(s.cfg.TTL.Milliseconds(), 10)
	if p, ok := s.cfg.Backend.(piper); ok {
		if a, st, done, err := s.startedPiped(ctx, p, k, m, ttl); done {
			return a, nil, st, err
		}
		// nothing was sent, or what landed is unknown and the run key is
		// not ours: take the lease and the run key one by one
	}
	if err := s.do(ctx, "SET", k.lease, "1", "PX", s.leaseMS()); err != nil {
		free()
		return nil, nil, 0, fmt.Errorf("idempotency: take lease: %w", err)
	}
	var (
		v   client.Value
		err error
	)
	for try := range maxTries {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		if v, err = s.cfg.Backend.DoRaw(ctx, "SET", k.run, m.Attempt, "NX", "PX", ttl); err == nil {
			break
		}
		var re *client.Error
		if errors.As(err, &re) {
			break
		}
		if !errors.Is(err, client.ErrNotSent) {
			// the SET may have landed: read back whose the run key is
			if g, gerr := s.cfg.Backend.DoRaw(ctx, "GET", k.run); gerr == nil && !g.IsNull() {
				v, err = g, nil
				if string(g.Str) != m.Attempt {
					v = client.Value{Kind: resp.Null}
				}
				break
			}
		}
	}
	if err != nil {
		// whether our run key landed is unknown: leave the marker, which
		// reads as interrupted if it did, and as free if it did not
		return nil, nil, 0, fmt.Errorf("idempotency: take run key: %w", err)
	}
	if v.IsNull() {
		return nil, nil, InFlight, nil // another attempt took it first
	}
	return s.attempt(k, m), nil, Started, nil
}

// piper is a Doer that also sends several commands in one write on one
// connection (*client.Client and every client.Backend).
type piper interface {
	Pipe(ctx context.Context, cmds [][]string) ([]client.Result, error)
}

// startedPiped takes the lease and the run key of marker m in one round
// trip: both SETs go in one write, the lease first, as [Store.started]
// sends them one by one. done is false when the caller must take them one
// by one instead: nothing was sent, or the write failed midway and the run
// key, read back, is not this attempt's (the sequential path's SET NX then
// decides). When the lease is refused but the run key was taken, nothing
// has run: the record, the lease and the run key are freed, as they are
// when the sequential path's lease is refused.
func (s *Store) startedPiped(ctx context.Context, p piper, k keyNames, m record, ttl string) (a *Attempt, st State, done bool, err error) {
	res, err := p.Pipe(ctx, [][]string{
		{"SET", k.lease, "1", "PX", s.leaseMS()},
		{"SET", k.run, m.Attempt, "NX", "PX", ttl},
	})
	if err != nil {
		if errors.Is(err, client.ErrNotSent) {
			return nil, 0, false, nil
		}
		// either SET may have landed: read back whose the run key is
		g, gerr := s.cfg.Backend.DoRaw(ctx, "GET", k.run)
		if gerr != nil {
			// leave the marker, which reads as interrupted if our run
			// key landed and as free if it did not
			return nil, 0, true, fmt.Errorf("idempotency: take run key: %w", err)
		}
		if g.IsNull() || string(g.Str) != m.Attempt {
			return nil, 0, false, nil
		}
		// the run key is ours; the lease may not have landed
		if lerr := s.do(ctx, "SET", k.lease, "1", "PX", s.leaseMS()); lerr != nil {
			s.freeTaken(ctx, k)
			return nil, 0, true, fmt.Errorf("idempotency: take lease: %w", lerr)
		}
		return s.attempt(k, m), Started, true, nil
	}
	lease, run := res[0], res[1]
	if lease.Err != nil {
		if run.Err == nil && !run.Raw.IsNull() {
			s.freeTaken(ctx, k) // our run key, and nothing ran
		} else {
			dctx, cancel := s.detached(ctx)
			_ = s.do(dctx, "DEL", k.rec, k.lease)
			cancel()
		}
		return nil, 0, true, fmt.Errorf("idempotency: take lease: %w", lease.Err)
	}
	if run.Err != nil {
		// as the sequential path: the lease is held, the marker left
		return nil, 0, true, fmt.Errorf("idempotency: take run key: %w", run.Err)
	}
	if run.Raw.IsNull() {
		return nil, InFlight, true, nil // another attempt took it first
	}
	return s.attempt(k, m), Started, true, nil
}

// freeTaken frees the record, the lease and the run key of an attempt
// that took its run key but ran nothing.
func (s *Store) freeTaken(ctx context.Context, k keyNames) {
	dctx, cancel := s.detached(ctx)
	defer cancel()
	_ = s.do(dctx, "DEL", k.rec, k.lease, k.run)
}

// attempt returns the running Attempt of marker m, its lease kept alive.
func (s *Store) attempt(k keyNames, m record) *Attempt {
	a := &Attempt{s: s, keys: k, fp: m.Fingerprint, id: m.Attempt, stop: make(chan struct{})}
	if m.Fence != "" {
		a.fence = &client.Fence{Key: m.Fence, Value: m.Attempt, TTL: s.cfg.TTL, Unfenced: a.markUnfenced}
	}
	a.wg.Add(1)
	go a.keepLease()
	return a
}

// takeOver takes the key from the attempt of record old, which will not
// finish it (it gave up before running, its outcome is unknown, or its
// gateway stopped), for the attempt of marker m: first the take key of
// old's attempt (SET NX, for a lease's time: one retry at a time), then
// the lease, the run key and the record. With a fence, the run key K then
// tells whether old ran: set, [RanEarlier]; unset, [Started] (fenced, so
// an old attempt that Redis has not yet read cannot run as well).
func (s *Store) takeOver(ctx context.Context, k keyNames, old, m record) (*Attempt, *Response, State, error) {
	if m.Fence != "" && old.Fence != "" {
		m.Fence = old.Fence // the request's run key, whatever scope asks now
	}
	v, err := s.cfg.Backend.DoRaw(ctx, "SET", k.take(old.Attempt), m.Attempt, "NX", "PX", s.leaseMS())
	if err != nil {
		return nil, nil, 0, fmt.Errorf("idempotency: take over key: %w", err)
	}
	if v.IsNull() {
		return nil, nil, InFlight, nil // another retry is taking it over
	}
	ttl := strconv.FormatInt(s.cfg.TTL.Milliseconds(), 10)
	marker, err := s.seal(k.rec, m)
	if err == nil {
		err = s.do(ctx, "SET", k.lease, "1", "PX", s.leaseMS())
	}
	if err == nil {
		err = s.do(ctx, "SET", k.run, m.Attempt, "PX", ttl)
	}
	if err == nil {
		err = s.do(ctx, "SET", k.rec, marker, "PX", ttl)
	}
	if err != nil {
		// the record may still be old's: a later retry takes it over
		// once the take key expires
		return nil, nil, 0, fmt.Errorf("idempotency: take over key: %w", err)
	}
	a := s.attempt(k, m)
	if m.Fence == "" {
		return a, nil, Started, nil
	}
	g, err := s.cfg.Backend.DoRaw(ctx, "GET", m.Fence)
	if err != nil {
		// nothing of this attempt ran: leave the record to the next retry
		a.end()
		dctx, cancel := s.detached(ctx)
		defer cancel()
		_ = s.do(dctx, "DEL", k.lease)
		return nil, nil, 0, fmt.Errorf("idempotency: read run key: %w", err)
	}
	if !g.IsNull() {
		return a, nil, RanEarlier, nil
	}
	return a, nil, Started, nil
}

// markUnfenced rewrites the attempt's marker as one that may run without
// its fence, before a command that cannot be fenced is sent: a retry that
// finds it interrupted then knows that the run key cannot tell.
func (a *Attempt) markUnfenced(ctx context.Context) error {
	m := record{Fingerprint: a.fp, Attempt: a.id, Started: time.Now().UnixMilli(), Unfenced: true}
	if a.fence != nil {
		m.Fence = a.fence.Key
	}
	sealed, err := a.s.seal(a.keys.rec, m)
	if err != nil {
		return err
	}
	return a.s.do(ctx, "SET", a.keys.rec, sealed, "PX", strconv.FormatInt(a.s.cfg.TTL.Milliseconds(), 10))
}

// Fence returns the fence the attempt's commands run under (nil for an
// attempt begun with [Store.Begin]); attach it with client.WithFence.
func (a *Attempt) Fence() *client.Fence { return a.fence }

// Uncertain ends an attempt whose fenced commands may have run but whose
// reply never came: the record keeps the attempt (not a response) and the
// lease and run key are freed, so that a retry takes the key over and
// reads the run key instead of getting this attempt's failure replayed.
// If it fails, the marker stays without a lease, which a retry handles
// the same way once the lease has lapsed.
func (a *Attempt) Uncertain(ctx context.Context) error {
	defer a.end()
	m := record{Fingerprint: a.fp, Attempt: a.id, Started: time.Now().UnixMilli(), Uncertain: true}
	if a.fence != nil {
		m.Fence = a.fence.Key
	}
	sealed, err := a.s.seal(a.keys.rec, m)
	if err != nil {
		return err
	}
	if err := a.s.do(ctx, "SET", a.keys.rec, sealed, "PX", strconv.FormatInt(a.s.cfg.TTL.Milliseconds(), 10)); err != nil {
		return fmt.Errorf("idempotency: mark uncertain: %w", err)
	}
	if err := a.s.do(ctx, "DEL", a.keys.lease, a.keys.run); err != nil {
		return fmt.Errorf("idempotency: free lease: %w", err)
	}
	return nil
}

// detached is ctx without its cancellation, bounded by the lease, for
// clean-ups that must run even when ctx ended.
func (s *Store) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Lease)
}

func (s *Store) leaseMS() string { return strconv.FormatInt(s.cfg.Lease.Milliseconds(), 10) }

// keepLease refreshes the lease every Lease/3 until the attempt ends.
func (a *Attempt) keepLease() {
	defer a.wg.Done()
	defer func() { _ = recover() }() // a panic here must not end the process; the lease then lapses
	t := time.NewTicker(a.s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), a.s.cfg.Lease/3)
			_, _ = a.s.cfg.Backend.DoRaw(ctx, "PEXPIRE", a.keys.lease, a.s.leaseMS()) // a missed refresh only shortens the lease
			cancel()
		}
	}
}

func (a *Attempt) end() {
	if !a.finished {
		a.finished = true
		close(a.stop)
		a.wg.Wait()
	}
}

// Complete stores the request's response for later retries and frees the
// lease. A nil resp records that the request ran but its response was not
// kept (too large or streamed), so that a retry gets [Interrupted]. If
// storing fails, the marker and its run key stay without a lease, which a
// retry also reads as Interrupted: the key never runs the request twice.
func (a *Attempt) Complete(ctx context.Context, resp *Response) error {
	defer a.end() // the lease is kept while the response is stored
	r := record{Fingerprint: a.fp, Done: true, Response: resp, TooLarge: resp == nil}
	sealed, err := a.s.seal(a.keys.rec, r)
	if err != nil {
		return err
	}
	ttl := strconv.FormatInt(a.s.cfg.TTL.Milliseconds(), 10)
	if t, ok := a.s.cfg.Backend.(transactioner); ok {
		// one round trip, all or nothing: the lease and the run key are
		// never freed without the response stored
		if err := a.s.tx(ctx, t, [][]string{
			{"SET", a.keys.rec, sealed, "PX", ttl},
			{"DEL", a.keys.lease, a.keys.run},
		}); err != nil {
			return fmt.Errorf("idempotency: store response: %w", err)
		}
		return nil
	}
	if err := a.s.do(ctx, "SET", a.keys.rec, sealed, "PX", ttl); err != nil {
		return fmt.Errorf("idempotency: store response: %w", err)
	}
	if err := a.s.do(ctx, "DEL", a.keys.lease, a.keys.run); err != nil {
		return fmt.Errorf("idempotency: free lease: %w", err)
	}
	return nil
}

// Release frees the key without storing anything, for a request that
// certainly ran no command (refused, or not sent to Redis): a retry runs it
// afresh.
func (a *Attempt) Release(ctx context.Context) error {
	a.end()
	if err := a.s.do(ctx, "DEL", a.keys.rec, a.keys.lease, a.keys.run); err != nil {
		return fmt.Errorf("idempotency: release key: %w", err)
	}
	return nil
}

// Abandon stops refreshing the lease and leaves the key as it is, as a
// gateway that stops in the middle of a request would (tests use it).
func (a *Attempt) Abandon() { a.end() }

// seal encrypts r with the record's key as associated data: nonce || box.
func (s *Store) seal(rec string, r record) (string, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("idempotency: encode record: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("idempotency: nonce: %w", err)
	}
	return string(s.aead.Seal(nonce, nonce, plain, []byte(rec))), nil
}

// errSealed is a record that does not open: forged, moved or from a
// gateway with another secret.
var errSealed = errors.New("idempotency: record does not open")

func (s *Store) open(rec string, b []byte) (record, error) {
	var r record
	n := s.aead.NonceSize()
	if len(b) < n {
		return r, errSealed
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(rec))
	if err != nil {
		return r, errSealed
	}
	if err := json.Unmarshal(plain, &r); err != nil {
		return r, errSealed
	}
	return r, nil
}
