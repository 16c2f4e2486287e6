package api

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/resp"
)

// visitCorpus holds RESP replies of every type and shape: nested maps
// whose keys are strings, numbers, nulls, doubles, booleans and
// aggregates; errors inside arrays; text that needs escaping; bytes that
// are not UTF-8; attributes.
var visitCorpus = []string{
	"+OK\r\n",
	"$5\r\nhello\r\n",
	"$-1\r\n",
	"*-1\r\n",
	"_\r\n",
	":-42\r\n",
	",3.25\r\n", ",inf\r\n", ",-inf\r\n", ",nan\r\n", ",1e300\r\n",
	"#t\r\n", "#f\r\n",
	"(123456789012345678901234567890\r\n",
	"=15\r\ntxt:Some string\r\n",
	"*0\r\n", "%0\r\n", "~0\r\n",
	"*3\r\n$1\r\na\r\n_\r\n:7\r\n",
	"*2\r\n$2\r\n\xff\xfe\r\n$1\r\nb\r\n",
	"$6\r\n\"\\\n\t\x01\r\n",
	"$6\r\na\xe2\x80\xa8b\x00\r\n",
	"%2\r\n$1\r\nk\r\n$1\r\nv\r\n:5\r\n,1.5\r\n",
	"%3\r\n_\r\n:1\r\n#t\r\n:2\r\n,inf\r\n:3\r\n",
	"%1\r\n*2\r\n:1\r\n$1\r\nx\r\n$3\r\nval\r\n",
	"%1\r\n%1\r\n+a\r\n+b\r\n*0\r\n",
	"%1\r\n+quote\"d\r\n%1\r\n$2\r\n\xc3\xa9\r\n*1\r\n_\r\n",
	"*2\r\n-ERR nested\r\n!21\r\nWRONGTYPE wrong kind\r\n",
	"~2\r\n$1\r\na\r\n$1\r\nb\r\n",
	"*1\r\n>2\r\n+x\r\n:1\r\n",
	"|1\r\n+ttl\r\n:3\r\n*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
	"%1\r\n$2\r\n\xff\x00\r\n:1\r\n",
	"*3\r\n*2\r\n$1\r\na\r\n,0.1\r\n*2\r\n$1\r\nb\r\n,-0\r\n*0\r\n",
}

// TestVisitMatchesGeneric holds the streaming encoder (replyVisitor, used
// by /command and /pipeline) to the other path, the generic conversion
// then valueEncoder: for every reply and both encodings, the same bytes,
// or both refuse the reply with the same error.
func TestVisitMatchesGeneric(t *testing.T) {
	for _, wire := range visitCorpus {
		checkVisitMatchesGeneric(t, []byte(wire))
	}
}

func FuzzVisitMatchesGeneric(f *testing.F) {
	for _, wire := range visitCorpus {
		f.Add([]byte(wire))
	}
	f.Fuzz(checkVisitMatchesGeneric)
}

func checkVisitMatchesGeneric(t *testing.T, wire []byte) {
	lim := resp.Limits{MaxBulk: 1 << 16, MaxElems: 1 << 10, MaxDepth: 16}
	v, err := resp.NewReader(bytes.NewReader(wire), lim).Read()
	if err != nil {
		return // not a reply: nothing to compare
	}
	for _, enc := range []Encoding{EncodingUTF8, EncodingBase64} {
		want := valueEncoder{enc: enc}
		wantErr := want.value(callbacks.Generic(v))

		got := valueEncoder{enc: enc}
		verr, err := resp.NewReader(bytes.NewReader(wire), lim).Visit(&replyVisitor{e: &got})
		if err != nil {
			t.Fatalf("Visit(%q): read error %v after Read succeeded", wire, err)
		}
		if !errors.Is(verr, wantErr) && (verr == nil || wantErr == nil || verr.Error() != wantErr.Error()) {
			t.Fatalf("encoding %d of %q: visit error %v, generic error %v", enc, wire, verr, wantErr)
		}
		if wantErr == nil && !bytes.Equal(got.b, want.b) {
			t.Fatalf("encoding %d of %q:\nvisit   %s\ngeneric %s", enc, wire, got.b, want.b)
		}
	}
}

// TestVisitOnlyGenericReplies: the streaming path is taken only where the
// callbacks would have used the generic conversion.
func TestVisitOnlyGenericReplies(t *testing.T) {
	reg := callbacks.Default()
	for _, args := range [][]string{{"MGET", "a"}, {"GET", "a"}, {"lrange", "l", "0", "-1"}, {"EVAL", "return 1", "0"}} {
		if !reg.Generic(args) {
			t.Errorf("%v: not generic", args)
		}
	}
	for _, args := range [][]string{{"HGETALL", "h"}, {"ZRANGE", "z", "0", "-1", "WITHSCORES"}, {"CONFIG", "GET", "x"}, {"expire", "a", "1"}} {
		if reg.Generic(args) {
			t.Errorf("%v: generic, but a callback shapes it", args)
		}
	}
	reg.Set("HGETALL", nil)
	if !reg.Generic([]string{"HGETALL", "h"}) {
		t.Error("HGETALL with its callback removed: not generic")
	}
	reg.Set("GET", func(v resp.Value, _ callbacks.Options) (any, error) { return strings.ToUpper(string(v.Str)), nil })
	if reg.Generic([]string{"GET", "a"}) {
		t.Error("GET with a custom callback: still generic")
	}
}

// TestUpstashVisitMatches holds the Upstash streaming encoder to
// appendUpstashValue, for every reply of the corpus, with and without
// base64.
func TestUpstashVisitMatches(t *testing.T) {
	for _, wire := range visitCorpus {
		checkUpstashVisit(t, []byte(wire))
	}
}

func FuzzUpstashVisitMatches(f *testing.F) {
	for _, wire := range visitCorpus {
		f.Add([]byte(wire))
	}
	f.Fuzz(checkUpstashVisit)
}

func checkUpstashVisit(t *testing.T, wire []byte) {
	lim := resp.Limits{MaxBulk: 1 << 16, MaxElems: 1 << 10, MaxDepth: 16}
	v, err := resp.NewReader(bytes.NewReader(wire), lim).Read()
	if err != nil {
		return
	}
	for _, b64 := range []bool{false, true} {
		want := appendUpstashValue(nil, v, b64)
		u := upstashVisitor{b64: b64}
		verr, err := resp.NewReader(bytes.NewReader(wire), lim).Visit(&u)
		if err != nil || verr != nil {
			t.Fatalf("Visit(%q): %v, %v", wire, verr, err)
		}
		if !bytes.Equal(u.b, want) {
			t.Fatalf("base64 %v, %q:\nvisit %s\nvalue %s", b64, wire, u.b, want)
		}
	}
}
