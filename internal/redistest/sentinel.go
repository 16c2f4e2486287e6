package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

// SentinelSetup is a Sentinel-monitored Redis owned by a test: a primary,
// one replica and three sentinels watching them under MasterName, with a
// short down-after period so failovers end in seconds. Everything is
// stopped in tb.Cleanup.
type SentinelSetup struct {
	MasterName string
	Primary    *Server
	Replica    *Server
	Sentinels  []*Sentinel
}

// Sentinel is one redis-sentinel process.
type Sentinel struct {
	port int
	cmd  *exec.Cmd
}

// Addr returns "127.0.0.1:port".
func (s *Sentinel) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// SentinelAddrs returns the sentinels' addresses.
func (ss *SentinelSetup) SentinelAddrs() []string {
	out := make([]string, len(ss.Sentinels))
	for i, s := range ss.Sentinels {
		out[i] = s.Addr()
	}
	return out
}

// StartSentinel starts the primary, the replica (waiting until it is in
// sync) and three sentinels (waiting until each knows the replica and the
// other sentinels, so a failover can be voted), in about a second.
func StartSentinel(tb testing.TB) *SentinelSetup {
	tb.Helper()
	return StartSentinelVia(tb, func(p *Server) string { return p.Addr() })
}

// StartSentinelVia is StartSentinel with the replica replicating from the
// address via returns for the primary (a fault proxy in front of it, to
// make replication lag); the sentinels watch the primary itself.
func StartSentinelVia(tb testing.TB, via func(primary *Server) string) *SentinelSetup {
	tb.Helper()
	ss := &SentinelSetup{MasterName: "mymaster"}
	ss.Primary = Start(tb)
	host, port, err := net.SplitHostPort(via(ss.Primary))
	if err != nil {
		tb.Fatalf("redistest: replica source: %v", err)
	}
	ss.Replica = Start(tb, "--replicaof", host, port)
	waitFor(tb, 10*time.Second, "replica in sync", func() bool {
		v := ss.Replica.Do(tb, "ROLE")
		return len(v.Elems) > 3 && string(v.Elems[3].Str) == "connected"
	})
	for range 3 {
		ss.Sentinels = append(ss.Sentinels, startSentinel(tb, ss.MasterName, ss.Primary.Port()))
	}
	for _, s := range ss.Sentinels {
		waitFor(tb, 15*time.Second, "sentinel discovery", func() bool {
			v := do(tb, s.Addr(), "SENTINEL", "MASTER", ss.MasterName)
			f := map[string]string{}
			for i := 0; i+1 < len(v.Elems); i += 2 {
				f[string(v.Elems[i].Str)] = string(v.Elems[i+1].Str)
			}
			return f["num-slaves"] == "1" && f["num-other-sentinels"] == "2"
		})
	}
	return ss
}

func startSentinel(tb testing.TB, name string, primaryPort int) *Sentinel {
	tb.Helper()
	dir := tb.TempDir()
	for range 5 {
		port := FreePort(tb)
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, port, dir, filepath.Join(dir, "sentinel.log"), name, primaryPort, name, name, name)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("redis-server", conf, "--sentinel")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			tb.Fatalf("redistest: start sentinel: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		s := &Sentinel{port: port, cmd: cmd}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{} // port taken or bad config: try again
				continue
			default:
			}
			if ping(s.Addr()) == nil {
				tb.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
				return s
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	tb.Fatal("redistest: sentinel did not start")
	return nil
}

// do runs one command on a fresh connection to addr.
func do(tb testing.TB, addr string, args ...string) resp.Value {
	tb.Helper()
	s := &Server{port: portOf(tb, addr)}
	return s.Do(tb, args...)
}

func portOf(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, _ := cutLast(addr, ':')
	n, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatalf("redistest: bad address %q", addr)
	}
	return n
}

func cutLast(s string, c byte) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// waitFor polls cond every 20ms until it holds, failing the test after
// limit.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("redistest: %s: not within %v", what, limit)
}
