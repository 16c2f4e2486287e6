// Package jsonlog is a log/slog handler that writes the same lines as
// [slog.JSONHandler], byte for byte, at about half its cost for the
// records a server logs most: flat ones whose attributes are strings,
// integers, booleans, durations and times (the gateway's access line is
// one per request).
//
// A record or an attribute it has no fast path for (a group, a value of
// kind Any or LogValuer, a float, a time whose year has not four digits)
// goes to an [slog.JSONHandler] built with the same options over the same
// writer, so every record is written exactly as slog would write it. The
// two paths share one lock around the writer, so lines never interleave
// and the writer need not be safe for concurrent use.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Handler is the fast JSON handler; see the package comment. It is safe
// for concurrent use.
type Handler struct {
	w    *lockedWriter
	slow slog.Handler // slog.JSONHandler over w, with the same attrs
	pre  []byte       // attrs from WithAttrs, encoded: "k":v,"k2":v2
}

// lockedWriter serialises the writes of both paths.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// New returns a handler that writes JSON lines to w as
// slog.NewJSONHandler(w, opts) would. With opts.AddSource or
// opts.ReplaceAttr set there is no fast path, and New returns the
// slog.JSONHandler itself.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.AddSource || opts.ReplaceAttr != nil {
		return slog.NewJSONHandler(w, opts)
	}
	lw := &lockedWriter{w: w}
	return &Handler{w: lw, slow: slog.NewJSONHandler(lw, opts)}
}

// Enabled reports whether records of level l are logged (opts.Level).
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.slow.Enabled(ctx, l)
}

// WithAttrs returns a handler whose records carry as as well.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	pre := append([]byte(nil), h.pre...)
	for _, a := range as {
		var ok bool
		if pre, ok = appendAttr(pre, a, len(pre) > 0); !ok {
			return h.slow.WithAttrs(as) // slog's own from here on
		}
	}
	return &Handler{w: h.w, slow: h.slow.WithAttrs(as), pre: pre}
}

// WithGroup returns slog's handler for the group: records in groups take
// the general path.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.slow.WithGroup(name)
}

// bufs recycles line buffers; lines longer than maxKept are not kept.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxKept = 16 << 10

// Handle writes r as one JSON line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if y := r.Time.Year(); !r.Time.IsZero() && (y < 0 || y >= 10000) {
		return h.slow.Handle(ctx, r)
	}
	bp := bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxKept {
			bufs.Put(bp)
		}
	}()
	buf := append((*bp)[:0], '{')
	if !r.Time.IsZero() {
		buf = append(buf, `"time":"`...)
		buf = r.Time.Round(0).AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `",`...)
	}
	buf = append(buf, `"level":`...)
	buf = appendString(buf, r.Level.String())
	buf = append(buf, `,"msg":`...)
	buf = appendString(buf, r.Message)
	if len(h.pre) > 0 {
		buf = append(buf, ',')
		buf = append(buf, h.pre...)
	}
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		buf, ok = appendAttr(buf, a, true)
		return ok
	})
	*bp = buf
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	buf = append(buf, '}', '\n')
	*bp = buf
	_, err := h.w.Write(buf)
	return err
}

// appendAttr appends a's key and value, after a comma if comma; it
// reports false (and the caller must use slog) for a value with no fast
// path.
func appendAttr(buf []byte, a slog.Attr, comma bool) ([]byte, bool) {
	v := a.Value
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
	case slog.KindTime:
		if y := v.Time().Year(); y < 0 || y >= 10000 {
			return buf, false
		}
	default: // Any (also the empty Attr), Group, LogValuer, Float64
		return buf, false
	}
	if comma {
		buf = append(buf, ',')
	}
	buf = appendString(buf, a.Key)
	buf = append(buf, ':')
	switch v.Kind() {
	case slog.KindString:
		buf = appendString(buf, v.String())
	case slog.KindInt64:
		buf = strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		buf = strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindBool:
		buf = strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		buf = strconv.AppendInt(buf, int64(v.Duration()), 10) // as json.Marshal
	case slog.KindTime:
		buf = append(buf, '"')
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, '"')
	}
	return buf, true
}

// appendString appends s as a JSON string escaped as slog escapes it:
// `"` and `\`, control characters (\n, \r, \t by name, the others as
// \u00XX), invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and
// \u2029; HTML characters stay as they are.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[c&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

const hex = "0123456789abcdef"
