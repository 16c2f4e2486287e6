package api

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/redis-gateway/redis-gateway/client"
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
	u.b = roomFor(u.b)
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

// upstashBatchJSON writes an Upstash /pipeline or /multi-exec reply while
// the replies are read ([{"result":…}|{"error":…}, …]), as the batch
// handler writes it from Results. refused holds, per command of the
// batch, the refusal that kept it from running (nil for those that ran):
// the visited replies are those of the others, in order.
type upstashBatchJSON struct {
	u       upstashVisitor
	refused []error
	run     []int // batch index of each command that ran
	next    int   // batch entries written so far
	start   int   // where the current entry starts
}

func newUpstashBatchJSON(b []byte, b64 bool, refused []error) *upstashBatchJSON {
	j := &upstashBatchJSON{u: upstashVisitor{b: b, b64: b64}, refused: refused}
	for i, err := range refused {
		if err == nil {
			j.run = append(j.run, i)
		}
	}
	return j
}

// RawReplies implements client.RawPipeVisitor: Upstash shows Redis's
// replies, never the callbacks' shapes.
func (j *upstashBatchJSON) RawReplies() bool { return true }

// upTo writes the refused entries in front of batch index i.
func (j *upstashBatchJSON) upTo(i int) {
	for ; j.next < i; j.next++ {
		j.open()
		j.u.b = appendUpstashError(j.u.b, j.refused[j.next])
	}
}

func (j *upstashBatchJSON) open() {
	if j.next > 0 {
		j.u.b = append(j.u.b, ',')
	}
	j.start = len(j.u.b)
}

// Reply implements client.PipeVisitor.
func (j *upstashBatchJSON) Reply(i int) client.Visitor {
	j.upTo(j.run[i])
	j.open()
	j.u.b = append(j.u.b, `{"result":`...)
	j.u.counts, j.u.skip = j.u.counts[:0], 0
	return &j.u
}

// Done implements client.PipeVisitor. With RawReplies every reply is
// visited, so Reply(i) has opened entry i.
func (j *upstashBatchJSON) Done(_ int, res client.Result) error {
	if res.Err != nil {
		j.u.b = appendUpstashError(j.u.b[:j.start], res.Err)
	} else {
		j.u.b = append(j.u.b, '}')
	}
	j.next++
	return nil
}

// finish writes the refused entries after the last command that ran.
func (j *upstashBatchJSON) finish() []byte {
	j.upTo(len(j.refused))
	return j.u.b
}

// appendUpstashError writes {"error": text} for one batch entry.
func appendUpstashError(b []byte, err error) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, strings.ToValidUTF8(upstashErrorText(err), "\uFFFD"))
	return append(b, '}')
}
