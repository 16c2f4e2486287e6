// Package redistest starts real redis-server processes for tests.
//
// [Start] runs `redis-server` on a free loopback port with persistence off
// and a private directory, waits until it answers PING, and stops it when
// the test ends. The server can be killed, paused and restarted on the same
// port to inject faults. There are no mocks: every test talks to a real
// Redis.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// Server is one redis-server process owned by a test. Its methods are safe
// for concurrent use.
type Server struct {
	tb   testing.TB
	port int
	dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs a redis-server on a free port with extra arguments appended to
// the command line (for example "--requirepass", "secret"). It fails the
// test if the server does not answer PING within 5 s, and stops the server
// in tb.Cleanup.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatal("redistest: redis-server not found on PATH (make test installs it)")
	}
	s := &Server{tb: tb, dir: tb.TempDir(), args: args}
	var lastErr error
	for range 5 {
		s.port = FreePort(tb)
		if lastErr = s.start(); lastErr == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// StartShared runs a redis-server like [Start] but outside any test, for a
// server shared by a whole package (started in TestMain). The caller stops
// it with [Server.Stop].
func StartShared(args ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, args: args}
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	argv := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--unixsocket", filepath.Join(s.dir, "redis.sock"),
		"--unixsocketperm", "700",
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--enable-debug-command", "yes",
	}
	argv = append(argv, s.args...)
	cmd := exec.Command("redis-server", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %v: %s", err, tail(log))
		default:
		}
		if ping(s.Addr()) == nil {
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			go func() { <-exited }() // reap whenever it ends
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("redis-server on port %d did not answer PING within 5s", s.port)
}

func tail(b []byte) string {
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return string(b)
}

// ping answers nil once something answers PING with PONG or NOAUTH (a
// server with requirepass is up, just not ours to use yet).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	w := resp.NewWriter(c)
	if err := w.WriteCommand("PING"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	v, err := resp.NewReader(bufio.NewReader(c), resp.Limits{}).Read()
	if err != nil {
		return err
	}
	if v.IsError() {
		e := resp.ParseError(string(v.Str))
		if e.Code == "NOAUTH" {
			return nil
		}
		if e.Code == "LOADING" {
			return e
		}
	}
	return nil
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the TCP port.
func (s *Server) Port() int { return s.port }

// URL returns redis://127.0.0.1:port/db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

// SocketPath returns the server's unix socket path.
func (s *Server) SocketPath() string { return filepath.Join(s.dir, "redis.sock") }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// CPU returns the user and system CPU time the server process has spent
// (utime + stime from /proc/PID/stat, in clock ticks of 10 ms), for
// benchmarks that report Redis's cost per operation. Linux only.
func (s *Server) CPU() (time.Duration, error) {
	s.mu.Lock()
	var pid int
	if s.cmd != nil && s.cmd.Process != nil {
		pid = s.cmd.Process.Pid
	}
	s.mu.Unlock()
	if pid == 0 {
		return 0, errors.New("redistest: server not running")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing one. utime and stime are fields
	// 14 and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("redistest: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("redistest: /proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("redistest: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// Stop kills the server and waits until its port is closed. Calling it
// twice is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr(), 50*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill is Stop: the process gets SIGKILL, with no chance to clean up.
func (s *Server) Kill() { s.Stop() }

// Pause stops the process with SIGSTOP: connections stay open but nothing
// is answered until [Server.Resume].
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

// Restart starts the server again on the same port (after Stop or Kill),
// with an empty dataset. It fails the test (or panics, for a shared
// server) if that does not work within a few tries.
func (s *Server) Restart() {
	if s.tb != nil {
		s.tb.Helper()
	}
	s.Stop()
	var err error
	for range 20 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.tb == nil {
		panic(fmt.Sprintf("redistest: restart on port %d: %v", s.port, err))
	}
	s.tb.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// Do runs one command on a fresh RESP2 connection and returns the reply.
// It is for test setup and assertions, not for the code under test; it
// fails the test on I/O errors (a Redis error reply is returned as a value).
func (s *Server) Do(tb testing.TB, args ...string) resp.Value {
	tb.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		tb.Fatalf("redistest: dial %s: %v", s.Addr(), err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return Exchange(tb, c, args...)
}

// Exchange writes one command on c and reads one reply, failing the test on
// I/O errors.
func Exchange(tb testing.TB, c net.Conn, args ...string) resp.Value {
	tb.Helper()
	w := resp.NewWriter(c)
	if err := w.WriteCommand(args...); err != nil {
		tb.Fatalf("redistest: write %s: %v", args[0], err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatalf("redistest: write %s: %v", args[0], err)
	}
	v, err := resp.NewReader(c, resp.Limits{}).Read()
	if err != nil {
		tb.Fatalf("redistest: read reply to %s: %v", args[0], err)
	}
	return v
}

// Dial opens a connection to s for a test's own commands (several on one
// connection, as after SELECT); it is closed when the test ends.
func Dial(tb testing.TB, s *Server) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		tb.Fatalf("redistest: dial %s: %v", s.Addr(), err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tb.Cleanup(func() { c.Close() })
	return c
}
