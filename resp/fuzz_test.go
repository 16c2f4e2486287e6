package resp

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReader: arbitrary bytes never panic or exceed the limits, and any
// value read re-encodes to bytes that read back as the same value.
func FuzzReader(f *testing.F) {
	for _, tc := range typeCases {
		f.Add([]byte(tc.wire))
	}
	for _, seed := range []string{"*3\r\n$5\r\nhel", "$999999999999\r\n", "*99999999\r\n", "%1\r\n", "|1\r\n+a\r\n", strings.Repeat("*1\r\n", 40), "=2\r\nab\r\n", ",1e400\r\n"} {
		f.Add([]byte(seed))
	}
	lim := Limits{MaxBulk: 1 << 20, MaxElems: 1 << 10, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewReader(bytes.NewReader(data), lim).Read()
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteValue(v); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		again, err := NewReader(&buf, lim).Read()
		if err != nil {
			t.Fatalf("re-read of %q: %v", buf.Bytes(), err)
		}
		if !equal(v, again) {
			t.Fatalf("round trip changed %v into %v", v, again)
		}
	})
}

// FuzzWriteCommand: any arguments read back as an array of the same bulk
// strings.
func FuzzWriteCommand(f *testing.F) {
	f.Add("SET", "key", "va\r\nl\x00ue")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteCommand(a, b, c); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		v, err := NewReader(&buf, Limits{}).Read()
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind != Array || len(v.Elems) != 3 || string(v.Elems[0].Str) != a || string(v.Elems[1].Str) != b || string(v.Elems[2].Str) != c {
			t.Fatalf("got %v", v)
		}
	})
}
