package asynclog

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is an underlying writer that records each Write it gets and can be
// blocked, as a full pipe or a stalled disk would block it.
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{} // when not nil, each Write waits for it to close
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *sink) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// eventually fails t unless cond holds within 2 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLinesWaitForTheIntervalThenGoOutInOneWrite(t *testing.T) {
	out := &sink{}
	w := New(out, Config{Interval: 50 * time.Millisecond})
	defer w.Close()
	start := time.Now()
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if got := out.String(); got != "" {
		t.Fatalf("written before the interval: %q", got)
	}
	eventually(t, "the lines", func() bool { return strings.Count(out.String(), "\n") == 100 })
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("written after %v, before the 50ms interval", el)
	}
	if n := out.Writes(); n != 1 {
		t.Errorf("100 lines took %d writes, want 1", n)
	}
	if !strings.HasPrefix(out.String(), "line 0\nline 1\n") || !strings.HasSuffix(out.String(), "line 99\n") {
		t.Errorf("lines out of order: %q…", out.String()[:20])
	}
}

func TestAFullBatchGoesOutBeforeTheInterval(t *testing.T) {
	out := &sink{}
	w := New(out, Config{Interval: time.Hour, FlushBytes: 1000})
	defer w.Close()
	line := strings.Repeat("x", 99) + "\n"
	for range 10 {
		_, _ = w.Write([]byte(line))
	}
	eventually(t, "the batch of FlushBytes", func() bool { return len(out.String()) == 1000 })
}

func TestWriteNeverWaitsForABlockedWriterAndCountsWhatItDrops(t *testing.T) {
	gate := make(chan struct{})
	out := &sink{gate: gate}
	w := New(out, Config{Interval: time.Millisecond, FlushBytes: 100, MaxBytes: 1000})
	line := strings.Repeat("y", 99) + "\n"
	// the first batch goes to the writing goroutine, which blocks in out
	_, _ = w.Write([]byte(line))
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 { // 5000 bytes against a bound of 1000
			_, _ = w.Write([]byte(line))
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Write waited for the blocked underlying writer")
	}
	if d := w.Dropped(); d != 40 {
		t.Errorf("Dropped() = %d, want 40 (10 lines fit in 1000 bytes)", d)
	}
	close(gate) // the writer recovers: what was kept is written
	w.Close()
	if got := strings.Count(out.String(), "\n"); got != 11 {
		t.Errorf("%d lines written, want 11 (1 + 10 kept)", got)
	}
}

func TestFlushAndCloseWriteEverythingBuffered(t *testing.T) {
	out := &sink{}
	w := New(out, Config{Interval: time.Hour})
	_, _ = w.Write([]byte("a\n"))
	w.Flush()
	if got := out.String(); got != "a\n" {
		t.Fatalf("after Flush: %q", got)
	}
	_, _ = w.Write([]byte("b\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "a\nb\n" {
		t.Fatalf("after Close: %q", got)
	}
	// after Close, writes go through at once (late shutdown lines)
	_, _ = w.Write([]byte("c\n"))
	if got := out.String(); got != "a\nb\nc\n" {
		t.Fatalf("write after Close: %q", got)
	}
	w.Flush() // harmless after Close
	_ = w.Close()
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	out := &sink{}
	w := New(out, Config{Interval: time.Millisecond, FlushBytes: 512})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "g%d-%d-%s\n", g, i, strings.Repeat("z", 40))
			}
		}()
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	next := map[string]int{}
	for _, l := range lines {
		var g, i int
		var tail string
		if _, err := fmt.Sscanf(l, "g%d-%d-%s", &g, &i, &tail); err != nil || tail != strings.Repeat("z", 40) {
			t.Fatalf("torn line %q", l)
		}
		key := fmt.Sprint(g)
		if i != next[key] {
			t.Fatalf("goroutine %d: line %d after %d", g, i, next[key]-1)
		}
		next[key] = i + 1
	}
	if w.Dropped() != 0 {
		t.Errorf("dropped %d lines under the default bound", w.Dropped())
	}
}

func BenchmarkWriteLine(b *testing.B) {
	w := New(discard{}, Config{})
	defer w.Close()
	line := []byte(`{"time":"2026-12-02T03:00:00.000000000Z","level":"INFO","msg":"request","req_id":"0123456789abcdef","method":"GET","route":"/db/{db}/strings/{key}","status":200,"bytes":15,"dur":"151.2µs"}` + "\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = w.Write(line)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestWakeWritesWithoutWaitingForTheInterval(t *testing.T) {
	out := &sink{}
	w := New(out, Config{Interval: time.Hour})
	defer w.Close()
	_, _ = w.Write([]byte("warn\n"))
	w.Wake()
	eventually(t, "the woken line", func() bool { return out.String() == "warn\n" })
}
