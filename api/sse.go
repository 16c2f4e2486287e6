package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sseWriter writes a text/event-stream. Each write gets its own deadline,
// so a client that stops reading cannot hold the handler forever.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

// sseWriteTimeout bounds one event write to a stalled client.
const sseWriteTimeout = 10 * time.Second

// newSSE sends the event-stream headers (no caching, no proxy buffering)
// and a first comment, so the client sees the stream open at once.
func newSSE(w http.ResponseWriter, retry time.Duration) (*sseWriter, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	s.buf = append(s.buf[:0], "retry: "...)
	s.buf = strconv.AppendInt(s.buf, retry.Milliseconds(), 10)
	s.buf = append(s.buf, "\n: stream open\n\n"...)
	return s, s.flush()
}

// event writes one event. data must not contain newlines (JSON from the
// encoder never does); id may be empty.
func (s *sseWriter) event(name, id string, data []byte) error {
	s.buf = s.buf[:0]
	if id != "" {
		s.buf = append(s.buf, "id: "...)
		s.buf = append(s.buf, id...)
		s.buf = append(s.buf, '\n')
	}
	if name != "" {
		s.buf = append(s.buf, "event: "...)
		s.buf = append(s.buf, name...)
		s.buf = append(s.buf, '\n')
	}
	s.buf = append(s.buf, "data: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, "\n\n"...)
	return s.flush()
}

// raw writes pre-formatted event-stream text (which must end with a blank
// line).
func (s *sseWriter) raw(b []byte) error {
	s.buf = append(s.buf[:0], b...)
	return s.flush()
}

// comment writes a comment line (heartbeats); clients ignore it.
func (s *sseWriter) comment(text string) error {
	s.buf = append(s.buf[:0], ": "...)
	s.buf = append(s.buf, strings.ReplaceAll(text, "\n", " ")...)
	s.buf = append(s.buf, "\n\n"...)
	return s.flush()
}

func (s *sseWriter) flush() error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && err != http.ErrNotSupported {
		return err
	}
	return nil
}
