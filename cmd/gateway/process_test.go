package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// These tests run the real binary as a child process, as an operator
// would, and talk to it over HTTP.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// gatewayBinary builds cmd/gateway once per test run.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gateway-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gateway")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// proc is a running gateway binary.
type proc struct {
	cmd  *exec.Cmd
	URL  string
	done chan error
}

// startBinary runs the binary with env (on top of a minimal environment)
// and waits for its "listening on" line.
func startBinary(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startBinaryIn(t, "", env, args...)
}

// startBinaryIn is startBinary with the process moved into the cgroup
// whose cgroup.procs file is procs (empty: where the test runs) before
// the binary starts.
func startBinaryIn(t *testing.T, procs string, env []string, args ...string) *proc {
	t.Helper()
	args = append([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(gatewayBinary(t), args...)
	if procs != "" {
		// The shell joins the cgroup, then becomes the binary.
		cmd = exec.Command("sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, procs, gatewayBinary(t)}, args...)...)
	}
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
		if !ok {
			t.Fatalf("unexpected first line %q", line)
		}
		p.URL = url
	case <-time.After(30 * time.Second):
		t.Fatal("the binary did not start listening")
	}
	waitStatus(t, p.URL+"/readyz", http.StatusOK)
	return p
}

func TestBinaryEmbeddedDefault(t *testing.T) {
	p := startBinary(t, nil)
	if code, body := httpDo(t, "PUT", p.URL+"/db/0/strings/greeting", `{"value":"hello"}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := httpDo(t, "GET", p.URL+"/db/0/strings/greeting", ""); code != 200 || strings.TrimSpace(body) != `{"value":"hello"}` {
		t.Fatalf("GET: %d %q", code, body)
	}
	out, err := exec.Command(gatewayBinary(t), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "redis-gateway ") {
		t.Fatalf("--version: %v %q", err, out)
	}
	out, err = exec.Command(gatewayBinary(t), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GATEWAY_UPSTASH_PREFIX") {
		t.Fatalf("--help: %v, want the option table:\n%s", err, out)
	}
}

// TestBinarySIGTERMLetsSlowRequestFinish sends SIGTERM while a request is
// blocked in Redis: the request completes with its reply, new connections
// are refused, and the process exits 0.
func TestBinarySIGTERMLetsSlowRequestFinish(t *testing.T) {
	rs := redistest.Start(t)
	p := startBinary(t, []string{"REDIS_URL=" + rs.URL(0)})
	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.URL+"/db/0/command", strings.NewReader(`{"command":["BLPOP","never-pushed","1.5"]}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- result{code: resp.StatusCode, body: string(b)}
	}()
	// Wait until Redis sees the BLPOP, then ask the process to stop.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:1") {
		if time.Now().After(deadline) {
			t.Fatal("the BLPOP never reached Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed.
	refused := false
	for time.Since(sent) < time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/healthz", nil)
		req.Close = true
		resp, err := http.DefaultTransport.(*http.Transport).Clone().RoundTrip(req)
		cancel()
		if err != nil {
			refused = true
			break
		}
		resp.Body.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if !refused {
		t.Error("new connections were still accepted a second after SIGTERM")
	}
	select {
	case r := <-slow:
		if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"result":null`) {
			t.Fatalf("in-flight request: %d %q %v, want 200 with the BLPOP timeout reply", r.code, r.body, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the in-flight request never finished")
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
		p.done <- nil // for Cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("the process did not exit after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec.Cmd
// and the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// metricValue reads one unlabelled sample from the binary's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	code, body := httpDo(t, "GET", base+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// The least GC headroom is on by default: once the collector has run, the
// GC percent in force is raised (a small live heap and a 32 MiB headroom);
// GOGC in the environment replaces it.
func TestBinaryGCHeadroom(t *testing.T) {
	big := `{"value":"` + strings.Repeat("x", 1<<20) + `"}`
	for _, tc := range []struct {
		name   string
		env    []string
		raised bool
	}{
		{"default", nil, true},
		{"GOGC set", []string{"GOGC=100"}, false},
		{"headroom 0", []string{"GATEWAY_GC_HEADROOM_MIB=0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startBinary(t, tc.env)
			if code, body := httpDo(t, "PUT", p.URL+"/db/0/strings/big", big); code != http.StatusOK {
				t.Fatalf("PUT: %d %s", code, body)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				// Each GET of the 1 MiB value allocates a few MiB, so
				// collections come quickly.
				for i := 0; i < 10; i++ {
					if code, _ := httpDo(t, "GET", p.URL+"/db/0/strings/big", ""); code != http.StatusOK {
						t.Fatalf("GET: %d", code)
					}
				}
				gcs := metricValue(t, p.URL, "go_gc_duration_seconds_count")
				pct := metricValue(t, p.URL, "go_gc_gogc_percent")
				if tc.raised && pct > 100 {
					return
				}
				if !tc.raised && gcs >= 5 {
					if pct != 100 {
						t.Fatalf("GC percent %v after %v collections, want 100", pct, gcs)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("after %v collections the GC percent is %v", gcs, pct)
				}
			}
		})
	}
}

// memoryCgroup makes a memory cgroup limited to limit bytes and returns
// its cgroup.procs file, or skips the test when this machine offers no
// writable memory controller (cgroup v1's memory hierarchy or a v2 tree
// with the memory controller).
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	name := fmt.Sprintf("redis-gateway-test-%d", os.Getpid())
	for _, c := range []struct{ root, file string }{
		{"/sys/fs/cgroup/memory", "memory.limit_in_bytes"}, // v1
		{"/sys/fs/cgroup", "memory.max"},                   // v2
	} {
		dir := filepath.Join(c.root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		t.Cleanup(func() {
			// The group can go once its processes have exited.
			for i := 0; i < 50 && os.Remove(dir) != nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		})
		if err := os.WriteFile(filepath.Join(dir, c.file), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
			continue
		}
		return filepath.Join(dir, "cgroup.procs")
	}
	t.Skip("no writable memory cgroup here (needs root and cgroup v1's memory hierarchy or v2's memory controller)")
	return ""
}

// In a container with a memory limit the runtime's soft limit follows it
// (90 %), so the GC headroom gives way near the limit instead of the
// process being killed; GOMEMLIMIT in the environment wins.
func TestBinaryMemoryLimitFromCgroup(t *testing.T) {
	const limit = 512 << 20
	procs := memoryCgroup(t, limit)
	for _, tc := range []struct {
		name string
		env  []string
		want float64
	}{
		{"from the cgroup", nil, float64(limit / 10 * 9)},
		{"GOMEMLIMIT wins", []string{"GOMEMLIMIT=100MiB"}, 100 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startBinaryIn(t, procs, tc.env)
			if got := metricValue(t, p.URL, "go_gc_gomemlimit_bytes"); got < tc.want-1<<20 || got > tc.want+1<<20 {
				t.Fatalf("go_gc_gomemlimit_bytes = %.0f, want about %.0f", got, tc.want)
			}
		})
	}
	// Outside the cgroup nothing limits the runtime.
	p := startBinary(t, nil)
	if got := metricValue(t, p.URL, "go_gc_gomemlimit_bytes"); got < 1<<62 {
		t.Fatalf("go_gc_gomemlimit_bytes = %.0f without a cgroup limit, want no limit", got)
	}
}
