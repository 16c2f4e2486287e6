package api

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/redis-gateway/redis-gateway/resp"
)

// upstashVisitor writes a reply in the Upstash JSON format while the
// client reads it, byte for byte as appendUpstashValue of the whole reply
// would (TestUpstashVisitMatches holds them together), so that the Upstash
// surface, like /command, never holds a long reply as Values.
type upstashVisitor struct {
	b      []byte
	b64    bool
	counts []int // elements written per open array
	skip   int   // depth inside an aggregate that is not an array (written as "")
}

func (u *upstashVisitor) sep() {
	if n := len(u.counts); n > 0 {
		if u.counts[n-1] > 0 {
			u.b = append(u.b, ',')
		}
		u.counts[n-1]++
	}
}

// Scalar implements resp.Visitor.
func (u *upstashVisitor) Scalar(v resp.Value) error {
	if u.skip > 0 {
		return nil
	}
	if cap(u.b)-len(u.b) < 64 {
		u.b = slices.Grow(u.b, max(len(u.b), 64)) // double, as replyVisitor does
	}
	u.sep()
	switch v.Kind {
	case resp.Integer:
		u.b = strconv.AppendInt(u.b, v.Int, 10)
	case resp.Null:
		u.b = append(u.b, "null"...)
	case resp.ErrorReply:
		u.b = appendString(u.b, strings.ToValidUTF8(string(v.Str), "\uFFFD"))
	default:
		u.b = appendUpstashBytes(u.b, v.Str, u.b64)
	}
	return nil
}

// Begin implements resp.Visitor.
func (u *upstashVisitor) Begin(kind resp.Kind, _ int) error {
	if u.skip > 0 || kind != resp.Array {
		if u.skip == 0 {
			u.sep()
			u.b = append(u.b, `""`...) // as appendUpstashValue writes a non-array aggregate
		}
		u.skip++
		return nil
	}
	u.sep()
	u.b = append(u.b, '[')
	u.counts = append(u.counts, 0)
	return nil
}

// End implements resp.Visitor.
func (u *upstashVisitor) End() error {
	if u.skip > 0 {
		u.skip--
		return nil
	}
	u.counts = u.counts[:len(u.counts)-1]
	u.b = append(u.b, ']')
	return nil
}

// appendUpstashBytes writes a bulk or simple string as Upstash does:
// base64 with Upstash-Encoding, otherwise text with invalid UTF-8
// replaced (the Upstash REST format has no binary-safe text form).
func appendUpstashBytes(b, s []byte, b64 bool) []byte {
	if b64 {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, s)
		return append(b, '"')
	}
	if !utf8.Valid(s) {
		return appendString(b, bytes.ToValidUTF8(s, []byte("\uFFFD")))
	}
	return appendString(b, s)
}
