package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// echoServer answers every line it reads with the same line, on a loopback
// port, until the test ends.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// startProxy runs a proxy to target until the test ends.
func startProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// dial connects to the proxy with a deadline on every operation.
func dial(tb testing.TB, p *Proxy) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// exchange writes line and reads len(line) bytes back.
func exchange(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line); err != nil {
		return "", err
	}
	buf := make([]byte, len(line))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func TestForwards(t *testing.T) {
	t.Parallel()
	p := startProxy(t, echoServer(t))
	c := dial(t, p)
	for _, line := range []string{"hello\n", "second line\n"} {
		got, err := exchange(c, line)
		if err != nil || got != line {
			t.Fatalf("exchange %q: got %q, %v", line, got, err)
		}
	}
	if acc, open, cuts := p.Stats(); acc != 1 || open != 1 || cuts != 0 {
		t.Fatalf("Stats() = %d accepted, %d open, %d cuts; want 1, 1, 0", acc, open, cuts)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	p := startProxy(t, echoServer(t))
	c := dial(t, p)
	p.SetLatency(100 * time.Millisecond)
	start := time.Now()
	if got, err := exchange(c, "slow\n"); err != nil || got != "slow\n" {
		t.Fatalf("exchange: got %q, %v", got, err)
	}
	// One delay each way.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("round trip took %v with 100ms latency each way, want at least 200ms", d)
	}
	p.SetLatency(0)
	if got, err := exchange(c, "fast\n"); err != nil || got != "fast\n" {
		t.Fatalf("exchange after latency off: got %q, %v", got, err)
	}
}

func TestCutNextReply(t *testing.T) {
	t.Parallel()
	p := startProxy(t, echoServer(t))
	other := dial(t, p)
	if _, err := exchange(other, "warm\n"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	p.CutNextReply()
	got, err := exchange(c, "0123456789\n")
	if got != "01234" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut reply: got %q, %v; want %q, unexpected EOF", got, err, "01234")
	}
	if _, _, cuts := p.Stats(); cuts != 1 {
		t.Fatalf("cuts = %d, want 1", cuts)
	}
	// Only the next reply is cut, and only on the connection it came on.
	if got, err := exchange(other, "still here\n"); err != nil || got != "still here\n" {
		t.Fatalf("other connection after the cut: got %q, %v", got, err)
	}
	if got, err := exchange(dial(t, p), "new\n"); err != nil || got != "new\n" {
		t.Fatalf("new connection after the cut: got %q, %v", got, err)
	}
}

// TestCutRequestAfter: the server reads exactly the bytes before the
// bound and then an orderly end; the client, still writing, is reset.
func TestCutRequestAfter(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // EOF: the server side gets a FIN
		got <- b
	}()
	p := startProxy(t, ln.Addr().String())
	c := dial(t, p)
	if _, err := io.WriteString(c, "before|"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // forwarded before the cut is armed
	p.CutRequestAfter(5)
	var werr error
	for range 200 { // the reset reaches the client while it writes
		if _, werr = io.WriteString(c, "0123456789"); werr != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if werr == nil {
		t.Fatal("writes after the cut kept succeeding")
	}
	select {
	case b := <-got:
		if string(b) != "before|01234" {
			t.Fatalf("server read %q; want %q", b, "before|01234")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server side not closed after the cut")
	}
	if _, _, cuts := p.Stats(); cuts != 1 {
		t.Fatalf("cuts = %d, want 1", cuts)
	}
}

func TestResetAll(t *testing.T) {
	t.Parallel()
	p := startProxy(t, echoServer(t))
	a, b := dial(t, p), dial(t, p)
	for _, c := range []net.Conn{a, b} {
		if _, err := exchange(c, "x\n"); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.ResetAll(); n != 2 {
		t.Fatalf("ResetAll() = %d, want 2", n)
	}
	for _, c := range []net.Conn{a, b} {
		_, err := exchange(c, "y\n")
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, io.EOF) {
			t.Fatalf("exchange after reset: %v, want connection reset", err)
		}
	}
	if got, err := exchange(dial(t, p), "z\n"); err != nil || got != "z\n" {
		t.Fatalf("new connection after reset: got %q, %v", got, err)
	}
}

func TestBlackhole(t *testing.T) {
	t.Parallel()
	p := startProxy(t, echoServer(t))
	old := dial(t, p)
	if _, err := exchange(old, "before\n"); err != nil {
		t.Fatal(err)
	}
	p.SetBlackhole(true)
	held := dial(t, p) // accepted, never forwarded
	for _, c := range []net.Conn{old, held} {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := exchange(c, "lost\n")
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("exchange while blackholed: %v, want a read timeout", err)
		}
	}
	p.SetBlackhole(false)
	_ = old.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(old)
	if _, err := io.WriteString(old, "after\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "after\n" {
		t.Fatalf("existing connection after the blackhole: got %q, %v", line, err)
	}
}

func TestCloseLeavesNothingRunning(t *testing.T) {
	target := echoServer(t) // its accept loop outlives the check
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	p.SetBlackhole(true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, c)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if acc, _, _ := p.Stats(); acc == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, c := range conns {
		c.Close()
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("the proxy still accepts connections after Close")
	}
}
