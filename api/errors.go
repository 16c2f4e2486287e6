package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/client"
)

// Problem codes of the gateway itself. Redis error replies use their own
// prefix as the code (WRONGTYPE, NOSCRIPT, NOPERM…). The set is closed and
// documented in docs/errors.md; clients may switch on it.
const (
	CodeValidation          = "VALIDATION"           // 400: bad JSON, failed validation, bad parameter
	CodeUnauthorized        = "UNAUTHORIZED"         // 401: missing or invalid token
	CodeTokenExpired        = "TOKEN_EXPIRED"        // 401: a signed token's exp has passed
	CodeTokenNotYetValid    = "TOKEN_NOT_YET_VALID"  // 401: a signed token's nbf is in the future
	CodeTokenAudience       = "TOKEN_AUDIENCE"       // 401: a signed token for another audience
	CodeTokenSignature      = "TOKEN_SIGNATURE"      // 401: a signed token whose signature does not verify
	CodeTokenInvalid        = "TOKEN_INVALID"        // 401: a malformed signed token, bad claims or too long a lifetime
	CodeForbiddenCommand    = "FORBIDDEN_COMMAND"    // 403: command not allowed (policy or connection state)
	CodeForbiddenDatabase   = "FORBIDDEN_DATABASE"   // 403: token not scoped to the database
	CodeForbiddenChannel    = "FORBIDDEN_CHANNEL"    // 403: channel or pattern outside the token's channel patterns
	CodeACLUnavailable      = "ACL_UNAVAILABLE"      // 403: key patterns need ACL users this database cannot hold
	CodeScopeTooWide        = "SCOPE_TOO_WIDE"       // 403: a mint request wider than the caller's scope
	CodeForbiddenHost       = "FORBIDDEN_HOST"       // 403: Host is not loopback or an allowed host
	CodeCrossSite           = "CROSS_SITE"           // 403: cross-site request to an open gateway
	CodeNotFound            = "NOT_FOUND"            // 404: absent key on a typed GET, unknown route
	CodeUnknownDatabase     = "UNKNOWN_DATABASE"     // 404: no database by that name
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"   // 405
	CodeTxAborted           = "TX_ABORTED"           // 409: a watched key changed
	CodeBodyTooLarge        = "BODY_TOO_LARGE"       // 413
	CodeUnsupportedMedia    = "UNSUPPORTED_MEDIA"    // 415: body content type not accepted
	CodeNotUTF8             = "NOT_UTF8"             // 422: reply is not valid UTF-8; ask for ?encoding=base64
	CodeRateLimited         = "RATE_LIMITED"         // 429
	CodeCanceled            = "CANCELED"             // 499: the client went away
	CodeInternal            = "INTERNAL"             // 500
	CodeUpstreamUnavailable = "UPSTREAM_UNAVAILABLE" // 503: Redis unreachable or not ready
	CodePoolTimeout         = "POOL_TIMEOUT"         // 503: no connection free in time
	CodeTimeout             = "TIMEOUT"              // 504: the command was sent and Redis did not answer in time
	CodeConnectionLost      = "CONNECTION_LOST"      // 502: the connection failed after the command may have been sent
	CodeUnexpectedReply     = "UNEXPECTED_REPLY"     // 502: Redis answered with a reply the command's callback cannot shape

	CodeIdempotencyInFlight  = "IDEMPOTENCY_IN_FLIGHT"  // 409: a request with this Idempotency-Key is still running
	CodeIdempotencyUnknown   = "IDEMPOTENCY_UNKNOWN"    // 409: the key's first request may have run; its response was not stored
	CodeIdempotencyReplyLost = "IDEMPOTENCY_REPLY_LOST" // 409: the key's request ran exactly once; its reply was lost
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED" // 422: the Idempotency-Key was used for a different request
)

// Outcomes of a failed command, in Problem.Outcome. A 503 always carries
// OutcomeNotSent (and Retry-After): retrying it is safe. OutcomeUnknown
// (502 CONNECTION_LOST, 504 TIMEOUT) means the command may have run: retry
// only what is idempotent. OutcomeRan (409 IDEMPOTENCY_REPLY_LOST) tells a
// keyed retry that the request ran exactly once under an earlier attempt
// whose reply was lost. Errors that are Redis's own reply, or that concern
// no command, carry no outcome.
const (
	OutcomeNotSent = "not_sent" // the command certainly never reached Redis
	OutcomeUnknown = "unknown"  // the command may have reached Redis and run
	OutcomeRan     = "ran"      // the command ran (exactly once), but its reply was lost
)

// FieldError is one failed validation.
type FieldError struct {
	// Field is the JSON name (or query parameter) that failed.
	Field string `json:"field" example:"ttl_ms"`
	// Message says what is wrong with it.
	Message string `json:"message" example:"must be 1 or greater"`
}

// Problem is an RFC 9457 problem document, sent with Content-Type
// application/problem+json for every error.
type Problem struct {
	// Type is a URI naming the kind of problem.
	Type string `json:"type" example:"urn:redis-gateway:problem:WRONGTYPE"`
	// Title is a short summary of the kind of problem.
	Title string `json:"title" example:"Wrong type"`
	// Status is the HTTP status code.
	Status int `json:"status" example:"409"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty" example:"WRONGTYPE Operation against a key holding the wrong kind of value"`
	// Code is the stable machine-readable code: a gateway code such as
	// VALIDATION, or the Redis error prefix such as WRONGTYPE.
	Code string `json:"code" example:"WRONGTYPE"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty" example:"/db/0/strings/mylist"`
	// RequestID identifies the request in the gateway's logs.
	RequestID string `json:"request_id,omitempty" example:"a1b2c3d4e5f6a7b8"`
	// Errors lists every failed field of a validation error.
	Errors []FieldError `json:"errors,omitempty"`
	// Outcome says, for a command that got no reply, whether it may have
	// reached Redis: "not_sent" (certainly not: safe to retry),
	// "unknown" (it may have run) or, for a retry with an
	// Idempotency-Key, "ran" (it ran exactly once, under an earlier
	// attempt whose reply was lost). Absent when Redis answered with the
	// error or no command was involved.
	Outcome string `json:"outcome,omitempty" enums:"not_sent,unknown,ran" example:"not_sent"`
	// Completed is set on a pipeline whose connection failed after some
	// of its commands reached Redis: the first Completed commands ran
	// (their replies were read); whether the others ran is unknown, but
	// for the last NotSent.
	Completed *int `json:"completed,omitempty" example:"3"`
	// NotSent is set, with Completed, when the write itself failed
	// midway: the last NotSent commands never reached Redis whole, so
	// they did not run and may be resent.
	NotSent *int `json:"not_sent,omitempty" example:"2"`
}

// apiError is an error the gateway decided on: a status, a code and a
// message safe to show.
type apiError struct {
	status     int
	code       string
	detail     string
	fields     []FieldError
	retryAfter int    // seconds; 0 = none
	outcome    string // OutcomeNotSent, OutcomeUnknown, OutcomeRan or ""
	title      string // "": the status's title
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

// errorf returns an *apiError.
func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, detail: fmt.Sprintf(format, args...)}
}

// errValidation reports failed fields, all at once.
func errValidation(detail string, fields ...FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeValidation, detail: detail, fields: fields}
}

// errNotFound is the 404 for an absent key on a typed GET.
func errNotFound(what string) *apiError {
	return errorf(http.StatusNotFound, CodeNotFound, "%s not found", what)
}

// errNotUTF8 is returned by the encoder for bytes that are not text.
var errNotUTF8 = &apiError{
	status: http.StatusUnprocessableEntity,
	code:   CodeNotUTF8,
	detail: "the reply holds bytes that are not valid UTF-8; repeat the request with ?encoding=base64 to receive every string base64-encoded",
}

// redisStatus maps Redis error codes to HTTP statuses. Codes not listed
// are client errors (400): Redis refused the command as sent.
var redisStatus = map[string]int{
	"WRONGTYPE":   http.StatusConflict,
	"BUSYKEY":     http.StatusConflict,
	"BUSYGROUP":   http.StatusConflict,
	"NOPERM":      http.StatusForbidden,
	"NOSCRIPT":    http.StatusNotFound,
	"NOGROUP":     http.StatusNotFound,
	"LOADING":     http.StatusServiceUnavailable,
	"BUSY":        http.StatusServiceUnavailable,
	"MASTERDOWN":  http.StatusServiceUnavailable,
	"READONLY":    http.StatusServiceUnavailable,
	"TRYAGAIN":    http.StatusServiceUnavailable,
	"CLUSTERDOWN": http.StatusServiceUnavailable,
	"NOREPLICAS":  http.StatusServiceUnavailable,
	"NOAUTH":      http.StatusServiceUnavailable, // the gateway's own credentials are wrong
	"WRONGPASS":   http.StatusServiceUnavailable,
	"MOVED":       http.StatusBadGateway,
	"ASK":         http.StatusBadGateway,
	"OOM":         http.StatusInsufficientStorage,
}

var titles = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Body too large",
	http.StatusUnsupportedMediaType:  "Unsupported media type",
	http.StatusUnprocessableEntity:   "Not valid UTF-8",
	http.StatusTooManyRequests:       "Too many requests",
	499:                              "Client closed request",
	http.StatusInternalServerError:   "Internal error",
	http.StatusBadGateway:            "Bad gateway",
	http.StatusServiceUnavailable:    "Service unavailable",
	http.StatusGatewayTimeout:        "Gateway timeout",
	http.StatusInsufficientStorage:   "Out of memory",
}

// classify turns any error into the problem the client sees. It is the
// only place that chooses a status for an error.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	var re *client.Error
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, client.ErrFenced):
		return errReplyLost
	case errors.Is(err, client.ErrTxAborted):
		return errorf(http.StatusConflict, CodeTxAborted, "the transaction was aborted because a watched key changed; nothing ran")
	case errors.Is(err, client.ErrForbiddenCommand), errors.Is(err, client.ErrEmptyCommand):
		detail := "the command is empty"
		var fe *client.ForbiddenError
		if errors.As(err, &fe) {
			detail = fe.Command + " is not allowed: " + fe.Reason
		}
		ae := errorf(http.StatusForbidden, CodeForbiddenCommand, "%s", detail)
		ae.outcome = OutcomeNotSent
		return ae
	case errors.Is(err, client.ErrPoolTimeout):
		return &apiError{status: http.StatusServiceUnavailable, code: CodePoolTimeout, detail: "no Redis connection became free in time; the command was not sent", retryAfter: 1, outcome: OutcomeNotSent}
	case errors.Is(err, context.Canceled):
		ae := errorf(499, CodeCanceled, "the request was canceled")
		ae.outcome = outcomeOf(err)
		return ae
	case errors.As(err, &re):
		status, ok := redisStatus[re.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		ae := &apiError{status: status, code: re.Code, detail: re.Msg}
		if status == http.StatusServiceUnavailable {
			ae.retryAfter = 1
			if re.Code == "NOAUTH" || re.Code == "WRONGPASS" {
				ae.code = CodeUpstreamUnavailable
				ae.detail = "the gateway could not authenticate to Redis"
			}
		}
		return ae
	case errors.Is(err, client.ErrNotSent):
		// Dial or handshake failed, the deadline passed before writing, or
		// the client is closed: nothing reached Redis.
		detail := "Redis is unreachable; the command was not sent"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			detail = "the command timeout passed before the command reached Redis whole (no connection was ready, or Redis was not reading); the command was not sent"
		}
		return &apiError{status: http.StatusServiceUnavailable, code: CodeUpstreamUnavailable, detail: detail, retryAfter: 1, outcome: OutcomeNotSent}
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return &apiError{status: http.StatusGatewayTimeout, code: CodeTimeout, detail: "Redis did not answer within the command timeout; the command may have run", outcome: OutcomeUnknown}
	case errors.As(err, new(*callbacks.ShapeError)):
		// Redis answered: the command ran. Not a transport failure, so
		// no outcome and no Retry-After.
		return errorf(http.StatusBadGateway, CodeUnexpectedReply, "Redis answered, so the command ran, but its reply does not fit the response callback (%s); ?raw=true on /command shows it unshaped", err.Error())
	case client.IsTransport(err):
		return &apiError{status: http.StatusBadGateway, code: CodeConnectionLost, detail: "the connection to Redis failed before the reply came; the command may have run", outcome: OutcomeUnknown}
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error")
}

// outcomeOf reports whether a command that failed with err may have run.
func outcomeOf(err error) string {
	if errors.Is(err, client.ErrNotSent) {
		return OutcomeNotSent
	}
	return OutcomeUnknown
}

// isTimeout reports a network deadline (the per-command timeout set on the
// connection).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// writeError sends err as problem+json. It chooses the status (through
// classify), adds Retry-After on 503 and WWW-Authenticate on 401, and logs
// server-side failures with the request ID (repeated ones are summarised by
// the server's failureSummary); nothing else writes errors.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	ae := classify(err)
	st := stateOf(r.Context())
	st.failure = ae
	reqID := st.id
	switch {
	case ae.status == 499:
		logger.Info("client went away", "req_id", reqID, "err", err)
	case ae.status >= 500:
		logger.Error("request failed", "req_id", reqID, "code", ae.code, "err", err)
	}
	p := Problem{
		Type:      "urn:redis-gateway:problem:" + ae.code,
		Title:     titles[ae.status],
		Status:    ae.status,
		Detail:    ae.detail,
		Code:      ae.code,
		Instance:  r.URL.Path,
		RequestID: reqID,
		Errors:    ae.fields,
		Outcome:   ae.outcome,
	}
	var pe *client.PipelineError
	if errors.As(err, &pe) {
		n := len(pe.Results)
		p.Completed = &n
		if pe.NotSent > 0 {
			p.NotSent = &pe.NotSent
		}
	}
	if ae.title != "" {
		p.Title = ae.title
	}
	if p.Title == "" {
		p.Title = http.StatusText(ae.status)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("ETag")
	if ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	if ae.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="redis-gateway"`)
	}
	if ae.status == 499 {
		return // nobody is listening
	}
	writeJSON(w, logger, ae.status, p)
}

// failureLogInterval is the window over which repeated request failures of
// one code are summarised in the log.
const failureLogInterval = 5 * time.Second

// isFailureMessage reports the per-request failure lines that are
// summarised.
func isFailureMessage(msg string) bool {
	switch msg {
	case "request failed", "upstash request failed", "websocket request failed", msgIdemUnavailable, msgIdemNotStored:
		return true
	}
	return false
}

// failureSummary is a slog.Handler that keeps an outage from flooding the
// log: the first failure line of a code in each interval is logged as it
// comes; the others go out at debug level only, and when the interval ends
// one ERROR line "request failures summarised" gives the code and how many
// there were. Other records pass through untouched. It is safe for
// concurrent use.
type failureSummary struct {
	inner slog.Handler
	st    *failureState // shared by the handlers derived with WithAttrs
}

type failureState struct {
	interval time.Duration
	mu       sync.Mutex
	windows  map[string]*failureWindow // by problem code
	closed   bool
}

type failureWindow struct {
	end        time.Time
	suppressed int
	timer      *time.Timer
}

// summarizeFailures wraps logger's handler in a failureSummary. flush logs
// the pending summaries and stops the timers; call it on close.
func summarizeFailures(logger *slog.Logger, interval time.Duration) (_ *slog.Logger, flush func()) {
	st := &failureState{interval: interval, windows: map[string]*failureWindow{}}
	h := &failureSummary{inner: logger.Handler(), st: st}
	return slog.New(h), func() {
		st.mu.Lock()
		st.closed = true
		pending := st.windows
		st.windows = map[string]*failureWindow{}
		st.mu.Unlock()
		for code, w := range pending {
			w.timer.Stop()
			h.summarise(code, w.suppressed)
		}
	}
}

func (h *failureSummary) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *failureSummary) WithAttrs(as []slog.Attr) slog.Handler {
	return &failureSummary{inner: h.inner.WithAttrs(as), st: h.st}
}

func (h *failureSummary) WithGroup(name string) slog.Handler {
	return &failureSummary{inner: h.inner.WithGroup(name), st: h.st}
}

func (h *failureSummary) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError || !isFailureMessage(r.Message) {
		return h.inner.Handle(ctx, r)
	}
	code := "?"
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "code" {
			code = a.Value.String()
			return false
		}
		return true
	})
	if h.st.count(code, r.Time, h) {
		return h.inner.Handle(ctx, r) // first of its interval
	}
	if !h.inner.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	r.Level = slog.LevelDebug
	return h.inner.Handle(ctx, r)
}

// count records one failure of code at t and reports whether it opens a
// new interval (and is logged as it is).
func (st *failureState) count(code string, t time.Time, h *failureSummary) (first bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	w := st.windows[code]
	if w != nil && t.Before(w.end) {
		w.suppressed++
		return false
	}
	if st.closed {
		return true
	}
	w = &failureWindow{end: t.Add(st.interval)}
	st.windows[code] = w
	w.timer = time.AfterFunc(st.interval, func() {
		st.mu.Lock()
		if st.windows[code] != w {
			st.mu.Unlock()
			return // flushed
		}
		delete(st.windows, code)
		n := w.suppressed
		st.mu.Unlock()
		h.summarise(code, n)
	})
	return true
}

// summarise logs one line for n failures of code beyond the first of an
// interval (nothing when n is 0).
func (h *failureSummary) summarise(code string, n int) {
	if n == 0 {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelError, "request failures summarised", 0)
	r.AddAttrs(slog.String("code", code), slog.Int("count", n), slog.String("dur", h.st.interval.String()))
	_ = h.inner.Handle(context.Background(), r)
}
