package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/idempotency"
)

// idempotent makes a state-changing request that carries an
// Idempotency-Key header run at most once per token and key: the first
// request's response is stored in Redis (package idempotency) and a retry
// with the same key and the same request gets it back, marked
// Idempotent-Replayed: true, without running anything. The same key with a
// different request is 422 IDEMPOTENCY_KEY_REUSED; a duplicate while the
// first still runs is 409 IDEMPOTENCY_IN_FLIGHT (not sent, Retry-After);
// the request's commands run fenced (client.WithFence, through
// fencedContext), so that an attempt whose outcome is unknown is left
// uncertain rather than stored, and its retry answers 409
// IDEMPOTENCY_REPLY_LOST (outcome ran) when the run key shows that it ran,
// or runs it again fenced; a key whose unfenced first request (a blocking
// command, a cluster database) was interrupted before its response was
// stored is 409 IDEMPOTENCY_UNKNOWN (outcome unknown). A request that ran no
// command (refused, or not sent: see ranNothing) frees its key, so that
// its retry runs. GET, HEAD and OPTIONS ignore the header, and so do
// requests that accept text/event-stream (subscriptions) and requests of
// read tokens (which change nothing, and may not write records); a response the
// handler flushes while writing is streamed, not kept. It runs after
// withDatabase, which gives it the database whose admin backend holds the
// records.
func idempotent(d *deps, fail errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := r.Header.Get(idempotency.Header)
			st := stateOf(r.Context())
			store := d.idem[dbName(st.db)]
			// a subscription (text/event-stream) changes nothing; a read
			// token changes nothing either, and must not fill Redis with
			// records
			if raw == "" || store == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions ||
				strings.Contains(r.Header.Get("Accept"), "text/event-stream") || (st.p != nil && st.p.tok.Level == LevelRead) {
				next.ServeHTTP(w, r)
				return
			}
			key, err := idempotency.ParseKey(raw)
			if err != nil {
				fail(w, r, errValidation("the Idempotency-Key header is not valid", FieldError{Field: idempotency.Header, Message: "must be 1 to 255 printable ASCII characters, optionally quoted"}))
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, d.cfg.BodyLimit+1))
			if err != nil {
				fail(w, r, errValidation("the request body could not be read"))
				return
			}
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
			if int64(len(body)) > d.cfg.BodyLimit {
				next.ServeHTTP(w, r) // the handler answers 413
				return
			}
			// The client leaving must not cut the request short: its retry
			// should find the real response, not an interrupted record. It
			// gets one command timeout of grace after the client left (a
			// BLPOP … 0 must not hold its connection forever).
			detached := context.WithoutCancel(r.Context())
			ctx, cancelRun := context.WithCancel(detached)
			defer cancelRun()
			defer context.AfterFunc(r.Context(), func() {
				t := time.NewTimer(d.cfg.CommandTimeout)
				defer t.Stop()
				select {
				case <-t.C:
					cancelRun()
				case <-ctx.Done():
				}
			})()
			lctx, cancel := context.WithTimeout(detached, d.cfg.CommandTimeout)
			var (
				a      *idempotency.Attempt
				stored *idempotency.Response
				state  idempotency.State
			)
			fp := idempotency.Fingerprint(r, body)
			// fenced unless the backend cannot (a cluster) or the token's
			// ACL user is one the operator created (whose rules need not
			// grant the run keys)
			if fencer, ok := st.db.Client.(client.Fencer); ok && fencer.Fences() && (st.p == nil || st.p.creds == nil) {
				a, stored, state, err = store.BeginFenced(lctx, identityOf(st.p), key, fp, fenceScope(st.p))
			} else {
				a, stored, state, err = store.Begin(lctx, identityOf(st.p), key, fp)
			}
			cancel()
			if err != nil {
				d.metrics.addIdempotent(st.db.Name, "unavailable")
				d.logger.Error(msgIdemUnavailable, "req_id", st.id, "code", CodeUpstreamUnavailable, "err", err)
				fail(w, r, &apiError{status: http.StatusServiceUnavailable, code: CodeUpstreamUnavailable, detail: "the idempotency record could not be read or taken; the request did not run", retryAfter: 1, outcome: OutcomeNotSent})
				return
			}
			switch state {
			case idempotency.Replay:
				d.metrics.addIdempotent(st.db.Name, "replayed")
				stored.Write(w)
				return
			case idempotency.InFlight:
				d.metrics.addIdempotent(st.db.Name, "in_flight")
				fail(w, r, &apiError{status: http.StatusConflict, code: CodeIdempotencyInFlight, title: "Request in flight", detail: "a request with this Idempotency-Key is still running; this one did not run", retryAfter: 1, outcome: OutcomeNotSent})
				return
			case idempotency.Mismatch:
				d.metrics.addIdempotent(st.db.Name, "key_reused")
				fail(w, r, &apiError{status: http.StatusUnprocessableEntity, code: CodeIdempotencyKeyReused, title: "Idempotency-Key reused", detail: "this Idempotency-Key was used for a different request (method, path, query or body); use a new key"})
				return
			case idempotency.Interrupted:
				d.metrics.addIdempotent(st.db.Name, "unknown")
				fail(w, r, &apiError{status: http.StatusConflict, code: CodeIdempotencyUnknown, title: "Outcome unknown", detail: "the first request with this Idempotency-Key may have run, but its response was not stored (its gateway stopped while it ran unfenced, the response was over the record limit, or the record does not open); it will not run again", outcome: OutcomeUnknown})
				return
			case idempotency.RanEarlier:
				// an earlier attempt's reply was lost, and its run key
				// shows that it ran: this answer becomes the key's
				d.metrics.addIdempotent(st.db.Name, "reply_lost")
				rec := idempotency.NewRecorder(w, store.MaxResponse())
				fail(rec, r, errReplyLost)
				sctx, cancel := context.WithTimeout(detached, d.cfg.CommandTimeout)
				defer cancel()
				if err := a.Complete(sctx, rec.Response()); err != nil {
					d.logger.Error(msgIdemNotStored, "req_id", st.id, "code", CodeIdempotencyReplyLost, "err", err)
				}
				rec.Send()
				return
			}
			rec := idempotency.NewRecorder(w, store.MaxResponse())
			st.failure = nil
			st.fence = a.Fence()
			defer func() { st.fence = nil }()
			done := false
			defer func() {
				if !done {
					a.Abandon() // a panic: front answers 500, the key stays interrupted
				}
			}()
			next.ServeHTTP(rec, r.WithContext(ctx))
			done = true
			sctx, cancel := context.WithTimeout(detached, d.cfg.CommandTimeout)
			defer cancel()
			switch {
			case ranNothing(st.failure):
				d.metrics.addIdempotent(st.db.Name, "released")
				err = a.Release(sctx)
			case st.failure != nil && (st.failure.outcome == OutcomeUnknown || st.failure.status == 499) && st.fence.Sent():
				// the fenced commands may have run: the run key will
				// tell the retry, which must not get this failure
				// replayed
				d.metrics.addIdempotent(st.db.Name, "uncertain")
				err = a.Uncertain(sctx)
			case st.failure != nil && st.failure.status == 499:
				// cut short after the client's grace: it may have run, and
				// a 499 is no answer to replay
				d.metrics.addIdempotent(st.db.Name, "ran")
				err = a.Complete(sctx, nil)
			default:
				d.metrics.addIdempotent(st.db.Name, "ran")
				err = a.Complete(sctx, rec.Response())
			}
			if err != nil {
				d.logger.Error(msgIdemNotStored, "req_id", st.id, "code", CodeIdempotencyUnknown, "err", err)
			}
			rec.Send()
		})
	}
}

// errReplyLost answers a retry whose earlier attempt ran (its run key is
// set) but whose reply never came: the request ran exactly once.
var errReplyLost = &apiError{status: http.StatusConflict, code: CodeIdempotencyReplyLost, title: "Reply lost",
	detail: "the request with this Idempotency-Key ran exactly once, under an earlier attempt whose reply was lost; it will not run again", outcome: OutcomeRan}

// fenceScope names the namespace of a request's run keys: the scope's
// own (acl.Scope.FenceID, which its ACL user may write) for a token below
// admin, "gateway" for admin tokens and the open gateway.
func fenceScope(p *principal) string {
	if p == nil || p.tok.Level >= LevelAdmin {
		return "gateway"
	}
	return p.scope.FenceID()
}

// Log messages of the idempotency middleware; repeated ones are
// summarised like request failures (isFailureMessage).
const (
	msgIdemUnavailable = "idempotency record unavailable"
	msgIdemNotStored   = "idempotency record not stored"
)

// dbName is the database's name ("" for none).
func dbName(db *Database) string {
	if db == nil {
		return ""
	}
	return db.Name
}

// identityOf names whose keys these are: a configured token by the hash of
// its secret, a signed token by its subject and scope, the open gateway by
// one name. Two tokens never share a key.
func identityOf(p *principal) string {
	switch {
	case p == nil:
		return "open"
	case p.hash != [len(p.hash)]byte{}:
		return "token:" + hex.EncodeToString(p.hash[:])
	}
	t := p.tok
	return fmt.Sprintf("signed:%q %d %q %q %q", t.Name, t.Level, t.Databases, t.Keys, t.Channels)
}

// ranNothing reports a failure after which no command can have run, so an
// idempotency key may be freed for a retry: nothing was sent to Redis, or
// the gateway refused the request before running it (validation, auth,
// limits), or a transaction aborted by WATCH. Anything else, including
// Redis's own error replies and unknown outcomes, is stored.
func ranNothing(ae *apiError) bool {
	if ae == nil {
		return false
	}
	if ae.outcome == OutcomeNotSent {
		return true
	}
	switch ae.code {
	case CodeValidation, CodeUnauthorized, CodeTokenExpired, CodeTokenNotYetValid, CodeTokenAudience,
		CodeTokenSignature, CodeTokenInvalid, CodeForbiddenDatabase, CodeForbiddenChannel,
		CodeACLUnavailable, CodeForbiddenHost, CodeCrossSite, CodeUnknownDatabase,
		CodeMethodNotAllowed, CodeTxAborted, CodeBodyTooLarge, CodeUnsupportedMedia, CodeRateLimited:
		return true
	}
	return false
}
