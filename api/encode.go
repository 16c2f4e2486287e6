package api

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/redis-gateway/redis-gateway/client"
)

// Encoding is how bulk strings travel in JSON, chosen per request with
// ?encoding=.
type Encoding uint8

const (
	// EncodingUTF8 (the default) writes bulk strings as JSON text and
	// refuses, with 422 NOT_UTF8, bytes that are not valid UTF-8.
	EncodingUTF8 Encoding = iota
	// EncodingBase64 writes every bulk string as standard base64, and
	// decodes request values (and key path segments) from base64.
	EncodingBase64
)

// encodingOf reads ?encoding= (utf8, the default, or base64).
func encodingOf(r *http.Request) (Encoding, error) {
	switch queryOf(r).Get("encoding") {
	case "", "utf8", "utf-8", "text":
		return EncodingUTF8, nil
	case "base64":
		return EncodingBase64, nil
	}
	return 0, errValidation("unknown encoding", FieldError{Field: "encoding", Message: "must be utf8 or base64"})
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// replyBufs recycles the byte slices replies are encoded into.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// writeJSON encodes a plain Go value (no []byte inside: encoding/json would
// silently base64 it) with encoding/json. Used for gateway-made documents
// such as problems and database lists.
func writeJSON(w http.ResponseWriter, logger *slog.Logger, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		logger.Error("encode response", "err", err)
		http.Error(w, `{"status":500,"code":"INTERNAL"}`, http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		logger.Debug("write response", "err", err)
	}
}

// respond encodes a reply value (the output of the response callbacks, or
// a client.Map built by a handler) with the request's encoding and writes
// it with status. A reply that is not valid UTF-8 under the default
// encoding becomes a 422 NOT_UTF8 problem instead: bytes are never altered.
func respond(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, v any) {
	e, err := newReplyEncoder(r)
	if err != nil {
		writeError(w, r, logger, err)
		return
	}
	defer e.release()
	if err := e.value(v); err != nil {
		writeError(w, r, logger, err)
		return
	}
	e.send(w, r, logger, status)
}

// respondField is respond of a one-field object: open is its opening
// text up to the colon (`{"value":`), a constant, so no map is built.
// (Not through respondWith: its closure would cost the typed routes an
// allocation per request.)
func respondField(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, open string, v any) {
	e, err := newReplyEncoder(r)
	if err != nil {
		writeError(w, r, logger, err)
		return
	}
	defer e.release()
	e.b = append(e.b, open...)
	if err := e.value(v); err != nil {
		writeError(w, r, logger, err)
		return
	}
	e.b = append(e.b, '}')
	e.send(w, r, logger, status)
}

// respondWith writes open, what fill encodes, and close as the JSON
// response; an error of fill becomes the problem instead.
func respondWith(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, open, close string, fill func(e *valueEncoder) error) {
	e, err := newReplyEncoder(r)
	if err != nil {
		writeError(w, r, logger, err)
		return
	}
	defer e.release()
	e.b = append(e.b, open...)
	if err := fill(&e.valueEncoder); err != nil {
		writeError(w, r, logger, err)
		return
	}
	e.b = append(e.b, close...)
	e.send(w, r, logger, status)
}

// replyEncoder is a valueEncoder over a pooled buffer, for one response.
type replyEncoder struct {
	valueEncoder
	bp *[]byte
}

// newReplyEncoder returns an encoder with the request's ?encoding=; call
// release when the response is written.
func newReplyEncoder(r *http.Request) (replyEncoder, error) {
	enc, err := encodingOf(r)
	if err != nil {
		return replyEncoder{}, err
	}
	bp := replyBufs.Get().(*[]byte)
	return replyEncoder{valueEncoder: valueEncoder{b: (*bp)[:0], enc: enc}, bp: bp}, nil
}

// release returns the buffer to the pool (unless it grew huge).
func (e *replyEncoder) release() {
	if cap(e.b) <= 64<<10 { // do not keep huge buffers alive
		*e.bp = e.b[:0]
		replyBufs.Put(e.bp)
	}
}

// send writes what was encoded as the JSON response, with ETag and
// conditional GET, and gzip when the client takes it.
func (e *replyEncoder) send(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int) {
	e.b = append(e.b, '\n')
	h := w.Header()
	// Canonical keys and shared value slices: net/http only reads them,
	// and Set would allocate a slice per header per request.
	h["Content-Type"] = hdrJSON
	if _, ok := h["Cache-Control"]; !ok {
		h["Cache-Control"] = hdrNoStore // Redis data changes under any cache
	}
	body := e.b
	var cl []string // Content-Length's value slice
	gz := len(body) >= gzipMin && acceptsGzip(r)
	if gz {
		h.Add("Vary", "Accept-Encoding")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		tag := etag(body)
		if gz {
			// A strong validator names one representation: the gzipped
			// one gets its own.
			tag = tag[:len(tag)-1] + `-gz"`
		}
		hv := &stateOf(r.Context()).hdrs // allocated with the request state
		hv.etag[0] = tag
		h["Etag"] = hv.etag[:]
		cl = hv.length[:]
		if status == http.StatusOK && ifNoneMatch(r, tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if gz {
		zb := gzipBufs.Get().(*bytes.Buffer)
		defer gzipBufs.Put(zb)
		if zbody, err := gzipInto(zb, body); err == nil {
			body = zbody
			h["Content-Encoding"] = hdrGzip
		}
	}
	if cl == nil {
		cl = make([]string, 1)
	}
	cl[0] = strconv.Itoa(len(body))
	h["Content-Length"] = cl
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		logger.Debug("write response", "req_id", RequestID(r.Context()), "err", err)
	}
}

// gzipMin is the smallest reply worth compressing: below about one TCP
// segment, gzip saves no round trip and costs CPU.
const gzipMin = 1400

var (
	hdrGzip  = []string{"gzip"}
	gzipBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzippers = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return zw
	}}
)

// acceptsGzip reports whether the client accepts gzip (and did not give
// it q=0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for len(v) > 0 {
			var part string
			part, v, _ = cut(v, ',')
			name, params, _ := cut(trimSpace(part), ';')
			if !strings.EqualFold(trimSpace(name), "gzip") && trimSpace(name) != "*" {
				continue
			}
			q := strings.ReplaceAll(trimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// gzipInto compresses body into buf and returns the compressed bytes
// (valid until buf is reused).
func gzipInto(buf *bytes.Buffer, body []byte) ([]byte, error) {
	buf.Reset()
	zw := gzippers.Get().(*gzip.Writer)
	defer gzippers.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// replyHeaders holds the value slices of a reply's ETag and
// Content-Length headers; it lives in the request state (reqState.hdrs),
// so they cost no allocation of their own.
type replyHeaders struct{ etag, length [1]string }

// Header values shared by every response (never modified).
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// etag returns a strong validator of body: a quoted FNV-1a 64 hash.
func etag(body []byte) string {
	const offset, prime = 14695981039346656037, 1099511628211
	var h uint64 = offset
	for _, c := range body {
		h ^= uint64(c)
		h *= prime
	}
	var b [16]byte
	out := append(b[:0], '"')
	out = strconv.AppendUint(out, h, 36)
	return string(append(out, '"'))
}

// ifNoneMatch reports whether the request's If-None-Match lists tag (or *).
func ifNoneMatch(r *http.Request, tag string) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	for len(inm) > 0 {
		var part string
		part, inm, _ = cut(inm, ',')
		part = trimSpace(part)
		if part == "*" || part == tag || part == "W/"+tag {
			return true
		}
	}
	return false
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// valueEncoder writes the reply value types of package callbacks as JSON
// without reflection.
type valueEncoder struct {
	b   []byte
	enc Encoding
}

func (e *valueEncoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case int64:
		e.b = strconv.AppendInt(e.b, x, 10)
	case int:
		e.b = strconv.AppendInt(e.b, int64(x), 10)
	case float64:
		e.float(x)
	case client.Number:
		e.b = append(e.b, x...)
	case rawJSON:
		e.b = append(e.b, x...)
	case string:
		e.b = appendString(e.b, x)
	case []byte:
		return e.bytes(x)
	case []any:
		e.b = append(e.b, '[')
		for i, el := range x {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	case []string:
		e.b = append(e.b, '[')
		for i, s := range x {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendString(e.b, s)
		}
		e.b = append(e.b, ']')
	case client.Map:
		e.b = append(e.b, '{')
		for i, en := range x {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.key(en.Key); err != nil {
				return err
			}
			e.b = append(e.b, ':')
			if err := e.value(en.Value); err != nil {
				return err
			}
		}
		e.b = append(e.b, '}')
	case []client.Map:
		e.b = append(e.b, '[')
		for i, m := range x {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.value(m); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	case *client.Error:
		e.b = append(e.b, `{"error":`...)
		e.b = appendString(e.b, x.Msg)
		e.b = append(e.b, '}')
	case error:
		e.b = append(e.b, `{"error":`...)
		e.b = appendString(e.b, x.Error())
		e.b = append(e.b, '}')
	default:
		// A handler passed a type outside the closed set: fall back to
		// encoding/json, which is correct for anything without []byte.
		raw, err := json.Marshal(x)
		if err != nil {
			return err
		}
		e.b = append(e.b, raw...)
	}
	return nil
}

// key writes an object key: a gateway string, or bytes from Redis (which
// follow the request's encoding like any bulk string).
func (e *valueEncoder) key(k any) error {
	switch x := k.(type) {
	case string:
		e.b = appendString(e.b, x)
		return nil
	case []byte:
		return e.bytes(x)
	case int64:
		e.b = append(e.b, '"')
		e.b = strconv.AppendInt(e.b, x, 10)
		e.b = append(e.b, '"')
		return nil
	}
	// Non-string keys (RESP3 maps may have any) become their JSON text.
	var inner valueEncoder
	inner.enc = e.enc
	if err := inner.value(k); err != nil {
		return err
	}
	e.b = appendString(e.b, string(inner.b))
	return nil
}

func (e *valueEncoder) bytes(b []byte) error {
	if e.enc == EncodingBase64 {
		e.b = append(e.b, '"')
		e.b = base64.StdEncoding.AppendEncode(e.b, b)
		e.b = append(e.b, '"')
		return nil
	}
	if !utf8.Valid(b) {
		return errNotUTF8
	}
	e.b = appendString(e.b, b)
	return nil
}

func (e *valueEncoder) float(f float64) {
	switch {
	case math.IsInf(f, 1):
		e.b = append(e.b, `"inf"`...)
	case math.IsInf(f, -1):
		e.b = append(e.b, `"-inf"`...)
	case math.IsNaN(f):
		e.b = append(e.b, `"nan"`...)
	default:
		e.b = strconv.AppendFloat(e.b, f, 'g', -1, 64)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s must be valid UTF-8; control
// characters, quotes, backslashes and U+2028/U+2029 (which break
// JavaScript embedding) are escaped.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x20 && c != '"' && c != '\\' && c != 0xE2:
			continue
		case c == 0xE2:
			// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
			if i+2 >= len(s) || s[i+1] != 0x80 || (s[i+2] != 0xA8 && s[i+2] != 0xA9) {
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[s[i+2]-0xA0])
			i += 2
		default:
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendInt64 appends n in decimal.
func appendInt64(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
