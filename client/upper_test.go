//go:build !race

package client

import (
	"strconv"
	"strings"
	"testing"
)

// TestUpperInternsCommandNames: upper converts like strings.ToUpper, and
// a lower-case name it has seen before costs no allocation (the Upstash
// path form sends "get"; several checks per request upper-case it). The
// table stops growing at 1024 names and never holds names over 32 bytes,
// which are still converted. Not run under the race detector, which
// allocates on its own.
func TestUpperInternsCommandNames(t *testing.T) {
	for _, s := range []string{"GET", "get", "Get", "hgetall", "x" + strings.Repeat("y", 40), "", "été"} {
		if got, want := upper(s), strings.ToUpper(s); got != want {
			t.Errorf("upper(%q) = %q, want %q", s, got, want)
		}
	}
	upper("zrangebyscore")
	if n := testing.AllocsPerRun(100, func() { upper("zrangebyscore") }); n != 0 {
		t.Errorf("upper of a name seen before allocates %.0f times, want 0", n)
	}
	for i := range 2000 {
		upper("made-up-" + strconv.Itoa(i))
	}
	m := *upperNames.m.Load()
	if len(m) > 1024 {
		t.Errorf("the table holds %d names, want at most 1024", len(m))
	}
	for k := range m {
		if len(k) > 32 {
			t.Errorf("the table holds a name of %d bytes", len(k))
		}
	}
	if got := upper("made-up-1999"); got != "MADE-UP-1999" {
		t.Errorf("upper past the bound = %q", got)
	}
}
