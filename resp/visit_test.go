package resp_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/resp"
)

// recorder writes the calls a Visitor receives as text, one per line.
type recorder struct {
	strings.Builder
	failAt int // fail the call with this number (1-based); 0: never
	calls  int
}

var errStop = errors.New("visitor stops")

func (r *recorder) call(format string, args ...any) error {
	r.calls++
	fmt.Fprintf(r, format+"\n", args...)
	if r.calls == r.failAt {
		return errStop
	}
	return nil
}

func (r *recorder) Scalar(v resp.Value) error {
	return r.call("scalar %s %q %d %v %v %q", v.Kind, v.Str, v.Int, v.Float, v.Bool, v.Format[:])
}
func (r *recorder) Begin(k resp.Kind, n int) error { return r.call("begin %s %d", k, n) }
func (r *recorder) End() error                     { return r.call("end") }

// checkVisit reads data again with Visit and checks that it makes, value
// for value, the calls Walk makes over what Read returned, and stops with
// an error of the same class where Read did.
func checkVisit(t *testing.T, data []byte, got []resp.Value, readErr error) {
	t.Helper()
	var src io.Reader = bytes.NewReader(data)
	if len(data)%2 == 1 {
		src = bufio.NewReaderSize(src, 16)
	}
	r := resp.NewReader(src, fuzzLimits)
	for i, want := range got {
		var walked, visited recorder
		if err := resp.Walk(want, &walked); err != nil {
			t.Fatalf("Walk: %v", err)
		}
		verr, err := r.Visit(&visited)
		if err != nil || verr != nil {
			t.Fatalf("Visit of value %d in %q: %v, %v; Read gave %s", i, data, verr, err, dump(want))
		}
		if visited.String() != walked.String() {
			t.Fatalf("Visit of value %d in %q:\n%s\nWalk of what Read gave:\n%s", i, data, visited.String(), walked.String())
		}
	}
	_, err := r.Visit(&recorder{})
	if class(err) != class(readErr) {
		t.Fatalf("Visit after %d values of %q: error %v, Read's was %v", len(got), data, err, readErr)
	}
}

// class names the kind of a read error.
func class(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case err == io.ErrUnexpectedEOF:
		return "unexpected EOF"
	case errors.Is(err, resp.ErrLimit):
		return "limit"
	case errors.Is(err, resp.ErrProtocol):
		return "protocol"
	}
	return fmt.Sprint(err)
}

func TestVisitMatchesRead(t *testing.T) {
	for _, tc := range decodeCases {
		if len(tc.wire) > 4096 {
			continue
		}
		r := resp.NewReader(strings.NewReader(tc.wire), fuzzLimits)
		var got []resp.Value
		var err error
		for {
			var v resp.Value
			if v, err = r.Read(); err != nil {
				break
			}
			got = append(got, v)
		}
		checkVisit(t, []byte(tc.wire), got, err)
	}
	for _, s := range readerSeeds {
		fuzzReader(t, []byte(s))
	}
}

// A visitor that fails stops being called, and the stream stays in step:
// the next value reads whole.
func TestVisitErrorKeepsStreamInStep(t *testing.T) {
	const wire = "*3\r\n$1\r\na\r\n%1\r\n+k\r\n*2\r\n:1\r\n:2\r\n_\r\n" + "+NEXT\r\n"
	for failAt := 1; failAt <= 9; failAt++ {
		r := resp.NewReader(strings.NewReader(wire), resp.Limits{})
		rec := recorder{failAt: failAt}
		verr, err := r.Visit(&rec)
		if err != nil {
			t.Fatalf("failAt %d: read error %v", failAt, err)
		}
		if wantErr := failAt <= 9; wantErr != (verr == errStop) {
			t.Fatalf("failAt %d: visitor error %v", failAt, verr)
		}
		if rec.calls != failAt {
			t.Fatalf("failAt %d: %d calls after the failure:\n%s", failAt, rec.calls, rec.String())
		}
		next, err := r.Read()
		if err != nil || string(next.Str) != "NEXT" {
			t.Fatalf("failAt %d: next value %s, %v", failAt, dump(next), err)
		}
	}
}

func TestVisitCutShort(t *testing.T) {
	for _, wire := range []string{"*2\r\n:1\r\n", "%1\r\n+k\r\n", "|1\r\n+a\r\n:1\r\n", "*1\r\n$5\r\nab"} {
		_, err := resp.NewReader(strings.NewReader(wire), resp.Limits{}).Visit(&recorder{})
		if err != io.ErrUnexpectedEOF {
			t.Errorf("Visit(%q): %v, want io.ErrUnexpectedEOF", wire, err)
		}
	}
}
