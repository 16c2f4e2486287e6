package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader is set to "true" on a response that was replayed from a
// record rather than produced by running the request.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLength is the longest key accepted.
const MaxKeyLength = 255

// ErrBadKey is a header value that is not a key: empty, too long, or with
// characters outside printable ASCII.
var ErrBadKey = errors.New("idempotency: the key must be 1 to 255 printable ASCII characters, optionally as a quoted string")

// ParseKey returns the key of an Idempotency-Key header value. The draft
// makes it a Structured Field string ("…"); a bare value is accepted too.
func ParseKey(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		s, err := strconv.Unquote(v)
		if err != nil {
			return "", ErrBadKey
		}
		v = s
	}
	if v == "" || len(v) > MaxKeyLength {
		return "", ErrBadKey
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", ErrBadKey
		}
	}
	return v, nil
}

// Fingerprint identifies a request: method, escaped path (which names the
// database), raw query, content type and body. Two requests with the same
// fingerprint would run the same commands.
func Fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	for _, s := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type")} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	b := sha256.Sum256(body)
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
}

// KeptHeaders are the response headers a record keeps; others (request
// ID, CORS, Date) belong to the request that carries them.
var KeptHeaders = []string{"Content-Type", "Cache-Control", "Location", "ETag", "Last-Modified", "Content-Disposition", "Allow"}

// Recorder is an http.ResponseWriter that holds the response until
// [Recorder.Send] sends it, keeping up to max body bytes; past that it
// sends what it holds and passes the rest through. It belongs to the
// handler's goroutine.
type Recorder struct {
	w       http.ResponseWriter
	max     int
	status  int
	buf     bytes.Buffer
	through bool // past max: sent, not kept
}

// NewRecorder returns a Recorder in front of w.
func NewRecorder(w http.ResponseWriter, max int) *Recorder { return &Recorder{w: w, max: max} }

// Header returns the underlying writer's header map.
func (rec *Recorder) Header() http.Header { return rec.w.Header() }

// WriteHeader records the status (the first call wins).
func (rec *Recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
		if rec.through {
			rec.w.WriteHeader(status)
		}
	}
}

// Write keeps b, or passes it through once the body is over max.
func (rec *Recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.through {
		return rec.w.Write(b)
	}
	if rec.buf.Len()+len(b) > rec.max {
		rec.through = true
		rec.w.WriteHeader(rec.status)
		if _, err := rec.w.Write(rec.buf.Bytes()); err != nil {
			return 0, err
		}
		rec.buf = bytes.Buffer{}
		return rec.w.Write(b)
	}
	return rec.buf.Write(b)
}

// Flush sends what is held and passes the rest of the response through, as
// for a body over max: a streamed response (server-sent events) is sent as
// it comes and not kept.
func (rec *Recorder) Flush() {
	if !rec.through {
		rec.through = true
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		rec.w.WriteHeader(rec.status)
		_, _ = rec.w.Write(rec.buf.Bytes())
		rec.buf = bytes.Buffer{}
	}
	_ = http.NewResponseController(rec.w).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (rec *Recorder) Unwrap() http.ResponseWriter { return rec.w }

// Response returns the held response, or nil when it was too large to
// keep (it has been passed through).
func (rec *Recorder) Response() *Response {
	if rec.through {
		return nil
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h := http.Header{}
	for _, k := range KeptHeaders {
		if v := rec.w.Header().Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	return &Response{Status: status, Header: h, Body: bytes.Clone(rec.buf.Bytes())}
}

// Send sends the held response (nothing when it was passed through).
func (rec *Recorder) Send() {
	if rec.through {
		return
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	rec.w.WriteHeader(status)
	_, _ = rec.w.Write(rec.buf.Bytes())
}

// Write sends a stored response on w, marked with [ReplayedHeader].
func (resp *Response) Write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
