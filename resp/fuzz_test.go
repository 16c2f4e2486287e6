package resp_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/resp"
)

// fuzzLimits are small so that the fuzzer reaches them.
var fuzzLimits = resp.Limits{MaxBulk: 1 << 20, MaxElems: 1 << 10, MaxDepth: 16}

// readerSeeds are the FuzzReader seeds besides the decode cases: truncated
// frames, absurd lengths and past regressions. Every seed is small: the
// fuzzer minimises each input that finds new coverage, and minimising a
// mutation of a large seed stalls fuzzing for up to a minute.
var readerSeeds = []string{
	"*3\r\n$5\r\nhel",
	"$999999999999\r\n",
	"$524288000\r\n0123456789",
	"*99999999\r\n",
	"*16777216\r\n",
	"%9223372036854775807\r\n",
	"$-2\r\n",
	"%1\r\n",
	"|1\r\n+a\r\n",
	"=2\r\nab\r\n",
	",1e400\r\n",
	strings.Repeat("*1\r\n", 40),
	strings.Repeat("*1\r\n", 16) + ":1\r\n",
	strings.Repeat("*1\r\n", 15) + ":1\r\n",
	strings.Repeat("*1024\r\n", 16),
	strings.Repeat("%1024\r\n", 16),
	strings.Repeat("|1\r\n:1\r\n:1\r\n", 20) + ":1\r\n",
	"|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n+x\r\n",
	"+" + strings.Repeat("a", 100) + "\r\n",
	"$40\r\n" + strings.Repeat("b", 40) + "\r\n",
	"+OK\n",
	"+OK\r\n:1\r\n$-1\r\n*-1\r\n_\r\n",
}

// FuzzReader feeds arbitrary bytes to a Reader with small limits. Reading
// must never panic, fail with anything but EOF, ErrProtocol or ErrLimit,
// return a value over the limits or allocate much more than the input
// justifies; and every value read must write and read back as itself.
func FuzzReader(f *testing.F) {
	for _, tc := range decodeCases {
		// Small seeds only (see readerSeeds); the small bufio buffer
		// below reaches the long-line paths with short inputs.
		if len(tc.wire) <= 1024 {
			f.Add([]byte(tc.wire))
		}
	}
	f.Add([]byte(sampleFrame))
	for i := 1; i < len(sampleFrame); i += 5 {
		f.Add([]byte(sampleFrame[:i]))
	}
	for _, s := range readerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p := os.Getenv("RESP_FUZZ_TRACE"); p != "" {
			os.WriteFile(p+strconv.Itoa(os.Getpid()), data, 0o644)
		}
		fuzzReader(t, data)
	})
}

// fuzzReader is the body of FuzzReader, also run on named regression
// inputs.
func fuzzReader(t *testing.T, data []byte) {
	var got []resp.Value
	var readErr error
	read := func() {
		got, readErr = nil, nil
		// Inputs of odd length go through a 16-byte bufio buffer, so
		// that short inputs reach the paths for lines longer than the
		// buffer and for aggregates whose data is not buffered yet.
		var src io.Reader = bytes.NewReader(data)
		if len(data)%2 == 1 {
			src = bufio.NewReaderSize(src, 16)
		}
		r := resp.NewReader(src, fuzzLimits)
		for {
			v, err := r.Read()
			if err != nil {
				readErr = err
				return
			}
			got = append(got, v)
		}
	}
	// The reader's own buffer, one bulk chunk reserved ahead of its
	// data, and a generous allowance per input byte (a 3-byte "_\r\n"
	// element becomes a 104-byte Value in a slice grown by append).
	budget := uint64(256<<10 + 256*len(data))
	if n := allocatedRoughly(read); n > budget {
		if n := allocated(read); n > budget {
			t.Fatalf("Read(%q): allocated %d bytes, want at most %d", data, n, budget)
		}
	}
	if readErr != io.EOF && readErr != io.ErrUnexpectedEOF &&
		!errors.Is(readErr, resp.ErrProtocol) && !errors.Is(readErr, resp.ErrLimit) {
		t.Fatalf("Read(%q): unexpected error %v", data, readErr)
	}
	for _, v := range got {
		checkLimits(t, data, v, 0)
	}
	checkVisit(t, data, got, readErr)

	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	for _, v := range got {
		if err := w.WriteValue(v); err != nil {
			t.Fatalf("WriteValue(%s) read from %q: %v", dump(v), data, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	wire := buf.Bytes()
	r := resp.NewReader(bytes.NewReader(wire), fuzzLimits)
	for i, want := range got {
		again, err := r.Read()
		if err != nil {
			t.Fatalf("Read(%q) again, value %d of %d (first read from %q): %v", wire, i, len(got), data, err)
		}
		if !equalValue(again, want) {
			t.Fatalf("round trip of value %d read from %q: got %s, want %s", i, data, dump(again), dump(want))
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("Read(%q) again after %d values: got %v, want io.EOF", wire, len(got), err)
	}
}

// checkLimits fails when v, found at the given nesting depth, is over
// fuzzLimits.
func checkLimits(tb testing.TB, data []byte, v resp.Value, depth int) {
	tb.Helper()
	lim := fuzzLimits
	if n := int64(len(v.Str)); n > lim.MaxBulk {
		tb.Fatalf("Read(%q): %s of %d bytes over MaxBulk %d", data, v.Kind, n, lim.MaxBulk)
	}
	maxElems := lim.MaxElems
	if v.Kind == resp.Map {
		maxElems *= 2
	}
	if n := int64(len(v.Elems)); n > maxElems {
		tb.Fatalf("Read(%q): %s of %d elements over MaxElems %d", data, v.Kind, n, lim.MaxElems)
	}
	if n := int64(len(v.Attrs)); n > 2*lim.MaxElems {
		tb.Fatalf("Read(%q): %d attribute elements over MaxElems %d pairs", data, n, lim.MaxElems)
	}
	if (v.IsAggregate() || v.Attrs != nil) && depth >= lim.MaxDepth {
		tb.Fatalf("Read(%q): aggregate at depth %d, MaxDepth %d", data, depth, lim.MaxDepth)
	}
	for _, e := range v.Elems {
		checkLimits(tb, data, e, depth+1)
	}
	for _, a := range v.Attrs {
		checkLimits(tb, data, a, depth+1)
	}
}

// FuzzWriteCommand writes arbitrary arguments (a, b, then c split at each
// 0xff byte) and checks the exact encoding and that it reads back as an
// array of the same bulk strings.
func FuzzWriteCommand(f *testing.F) {
	f.Add("SET", "key", "va\r\nl\x00ue")
	f.Add("", "", "")
	f.Add("PING", "\r\n", "\n")
	f.Add("MSET", "k", "a\xffb\xffc\xffd\xff\xff")
	f.Add("SET", "k", strings.Repeat("v", 20<<10))
	f.Add("$-1\r\n", "*-1\r\n", "_\r\n\xff+OK\r\n")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := append([]string{a, b}, strings.Split(c, "\xff")...)
		want := commandWire(args...)

		var buf bytes.Buffer
		w := resp.NewWriter(&buf)
		if err := w.WriteCommand(args...); err != nil {
			t.Fatalf("WriteCommand(%q): %v", args, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if got := buf.String(); got != want {
			t.Fatalf("WriteCommand(%q): got %q, want %q", args, got, want)
		}

		bargs := make([][]byte, len(args))
		for i, s := range args {
			bargs[i] = []byte(s)
		}
		buf.Reset()
		if err := w.WriteCommandBytes(bargs...); err != nil {
			t.Fatalf("WriteCommandBytes(%q): %v", args, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if got := buf.String(); got != want {
			t.Fatalf("WriteCommandBytes(%q): got %q, want %q", args, got, want)
		}

		r := resp.NewReader(&buf, resp.Limits{})
		v, err := r.Read()
		if err != nil {
			t.Fatalf("Read(WriteCommand(%q)): %v", args, err)
		}
		if v.Kind != resp.Array || len(v.Elems) != len(args) {
			t.Fatalf("Read(WriteCommand(%q)): got %s, want an array of %d bulk strings", args, dump(v), len(args))
		}
		for i, e := range v.Elems {
			if e.Kind != resp.BulkString || string(e.Str) != args[i] {
				t.Fatalf("Read(WriteCommand(%q)): element %d is %s, want bulk %q", args, i, dump(e), args[i])
			}
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("Read after WriteCommand(%q): got %v, want io.EOF", args, err)
		}
	})
}

// allocated returns the bytes allocated on the heap while f runs. It stops
// the world twice (runtime.ReadMemStats), which is exact but slow.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// allocatedRoughly is allocated through runtime/metrics, ten times
// faster in the fuzzer but short or over by the partly used spans of the
// allocator's per-P caches, so a result over a budget needs checking with
// allocated.
func allocatedRoughly(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}
