// Command soak runs a bounded mixed load against a gateway it starts in
// process, over a redis-server it starts itself, and restarts that Redis
// periodically to check that the gateway rides through it.
//
// Every request carries its own key and value and checks that the reply
// is its own; a crossed reply (one request receiving another's answer) is
// counted and makes the run fail. Every few seconds it prints the
// requests, errors by kind, p99 latency, heap and goroutines of the last
// interval; at the end it prints a summary in Markdown, including how long
// each Redis restart took to recover from.
//
// Usage:
//
//	go run ./cmd/soak [-duration 60s] [-restart-every 15s] [-workers 16] [-report 5s]
//
// It needs redis-server on PATH and talks only to 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	duration     time.Duration
	restartEvery time.Duration
	workers      int
	report       time.Duration
	cmdTimeout   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load runs")
	fs.DurationVar(&o.restartEvery, "restart-every", 15*time.Second, "kill and restart Redis this often (0: never)")
	fs.IntVar(&o.workers, "workers", 16, "concurrent clients")
	fs.DurationVar(&o.report, "report", 5*time.Second, "interval of the progress lines")
	fs.DurationVar(&o.cmdTimeout, "command-timeout", time.Second, "the gateway's per-command timeout")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.duration <= 0 || o.workers <= 0 || o.report <= 0 {
		return o, errors.New("-duration, -workers and -report must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rs, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer rs.stop()

	goroutinesBefore := runtime.NumGoroutine()
	pc, err := client.ParseURL("redis://" + rs.addr + "/0")
	if err != nil {
		return err
	}
	pc.PoolTimeout = time.Second
	c, err := client.New(client.Config{Pool: pc})
	if err != nil {
		return err
	}
	srv := api.NewServer(slog.New(slog.DiscardHandler), api.Config{CommandTimeout: o.cmdTimeout}, []*api.Database{{Name: "0", Client: c, Addr: rs.addr}}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.Close()
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	hs.RegisterOnShutdown(srv.Close)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	base := "http://" + ln.Addr().String()

	fmt.Fprintf(stdout, "soak: gateway %s over redis-server %s, %d workers for %v, Redis restarted every %v\n", base, rs.addr, o.workers, o.duration, o.restartEvery)
	st := newStats()
	tr := &http.Transport{MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	loadCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := range o.workers {
		wg.Go(func() { worker(loadCtx, hc, base, w, st) })
	}
	var restarts []restart
	restartErr := make(chan error, 1)
	wg.Go(func() {
		rl, rerr := restartLoop(loadCtx, rs, o.restartEvery, st)
		restarts = rl
		restartErr <- rerr
	})
	start := time.Now()
	tick := time.NewTicker(o.report)
	fmt.Fprintln(stdout, "| t | requests | req/s | errors (kind ×n) | p99 | heap MiB | goroutines |")
	fmt.Fprintln(stdout, "|---|---:|---:|---|---:|---:|---:|")
	prev := start
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case now := <-tick.C:
			iv := st.interval()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(stdout, "| %4.0fs | %d | %.0f | %s | %v | %.1f | %d |\n",
				now.Sub(start).Seconds(), iv.n, float64(iv.n)/now.Sub(prev).Seconds(), iv.errors(), iv.p99().Round(10*time.Microsecond),
				float64(ms.HeapAlloc)/(1<<20), runtime.NumGoroutine())
			prev = now
		}
	}
	tick.Stop()
	wg.Wait()
	if err := <-restartErr; err != nil {
		return err
	}
	elapsed := time.Since(start)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapEnd, goroutinesLoaded := ms.HeapAlloc, runtime.NumGoroutine()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	tr.CloseIdleConnections()
	c.Close()
	goroutinesAfter := settleGoroutines(goroutinesBefore)

	total := st.total()
	summary(stdout, o, elapsed, total, restarts, heapEnd, goroutinesBefore, goroutinesLoaded, goroutinesAfter)
	if total.crossed > 0 {
		return fmt.Errorf("%d crossed replies", total.crossed)
	}
	if total.ok == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// settleGoroutines waits up to 5 s for the goroutine count to fall back
// to want and returns the last count.
func settleGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart is one kill and restart of Redis, and how long until the
// gateway served a request successfully again.
type restart struct {
	at       time.Duration // since the start of the load
	down     time.Duration // Redis not listening
	recovery time.Duration // from Redis answering PING to the gateway's first 200
}

func restartLoop(ctx context.Context, rs *redisProc, every time.Duration, st *stats) ([]restart, error) {
	var out []restart
	if every <= 0 {
		<-ctx.Done()
		return nil, nil
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out, nil
		case <-t.C:
		}
		killed := time.Now()
		rs.stop()
		if err := rs.start(); err != nil {
			return out, fmt.Errorf("restart redis-server: %w", err)
		}
		up := time.Now()
		r := restart{at: killed.Sub(start), down: up.Sub(killed)}
		st.markRestart(up)
		// Wait for the workers' first success after the restart.
		for ctx.Err() == nil {
			if d, ok := st.recoveredAfter(up); ok {
				r.recovery = d
				out = append(out, r)
				break
			}
			time.Sleep(time.Millisecond)
		}
		// A restart the load ended before recovering from is not reported.
	}
}

// worker loops over the mixed operations until ctx is done.
func worker(ctx context.Context, hc *http.Client, base string, w int, st *stats) {
	ops := []func(ctx context.Context, hc *http.Client, base, id string) result{opString, opEcho, opPipeline, opHash}
	for seq := 0; ctx.Err() == nil; seq++ {
		id := fmt.Sprintf("soak:%d:%d", w, seq)
		r := ops[seq%len(ops)](context.WithoutCancel(ctx), hc, base, id)
		st.add(r)
	}
}

// result is one operation's outcome.
type result struct {
	kind    string // "200", "503 UPSTREAM_UNAVAILABLE", "transport error", "crossed"
	dur     time.Duration
	crossed bool
	at      time.Time
}

// send runs one request and returns its status, problem code and body.
func send(ctx context.Context, hc *http.Client, method, u string, body any) (int, string, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", nil, err
	}
	code := ""
	if res.StatusCode != http.StatusOK {
		var p api.Problem
		_ = json.Unmarshal(data, &p)
		code = p.Code
	}
	return res.StatusCode, code, data, nil
}

// finish turns a request's status and the check of its body into a
// result.
func finish(start time.Time, status int, code string, err error, own bool) result {
	r := result{dur: time.Since(start), at: time.Now()}
	switch {
	case err != nil:
		r.kind = "transport error"
	case status != http.StatusOK:
		r.kind = strings.TrimSpace(strconv.Itoa(status) + " " + code)
	case !own:
		r.kind, r.crossed = "crossed reply", true
	default:
		r.kind = "200"
	}
	return r
}

func opString(ctx context.Context, hc *http.Client, base, id string) result {
	start := time.Now()
	u := base + "/db/0/strings/" + url.PathEscape(id)
	val := "v-" + id
	status, code, _, err := send(ctx, hc, "PUT", u, map[string]any{"value": val})
	if err != nil || status != http.StatusOK {
		return finish(start, status, code, err, false)
	}
	status, code, data, err := send(ctx, hc, "GET", u, nil)
	var got api.StringValue
	_ = json.Unmarshal(data, &got)
	return finish(start, status, code, err, got.Value == val)
}

func opEcho(ctx context.Context, hc *http.Client, base, id string) result {
	start := time.Now()
	status, code, data, err := send(ctx, hc, "POST", base+"/db/0/command", map[string]any{"command": []string{"ECHO", id}})
	var got struct {
		Result string `json:"result"`
	}
	_ = json.Unmarshal(data, &got)
	return finish(start, status, code, err, got.Result == id)
}

func opPipeline(ctx context.Context, hc *http.Client, base, id string) result {
	start := time.Now()
	status, code, data, err := send(ctx, hc, "POST", base+"/db/0/pipeline", map[string]any{"commands": [][]string{{"SET", id, "p-" + id}, {"GET", id}, {"DEL", id}}})
	var got api.PipelineReply
	_ = json.Unmarshal(data, &got)
	own := len(got.Results) == 3 && got.Results[0].Result == true && got.Results[1].Result == "p-"+id
	return finish(start, status, code, err, own)
}

func opHash(ctx context.Context, hc *http.Client, base, id string) result {
	start := time.Now()
	u := base + "/db/0/hashes/" + url.PathEscape(id) + "/fields/f"
	status, code, _, err := send(ctx, hc, "PUT", u, map[string]any{"value": "h-" + id})
	if err != nil || status != http.StatusOK {
		return finish(start, status, code, err, false)
	}
	status, code, data, err := send(ctx, hc, "GET", u, nil)
	var got struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(data, &got)
	return finish(start, status, code, err, got.Value == "h-"+id)
}

// stats collects results for the progress lines (per interval) and the
// summary (whole run). It is safe for concurrent use.
type stats struct {
	mu        sync.Mutex
	cur, all  *window
	restartAt time.Time
	firstOK   time.Time // first 200 after restartAt
}

// window is a set of results.
type window struct {
	n       int
	ok      int
	crossed int
	kinds   map[string]int
	durs    []time.Duration
}

func newWindow() *window { return &window{kinds: map[string]int{}} }

func newStats() *stats { return &stats{cur: newWindow(), all: newWindow()} }

func (w *window) add(r result) {
	w.n++
	w.kinds[r.kind]++
	w.durs = append(w.durs, r.dur)
	if r.kind == "200" {
		w.ok++
	}
	if r.crossed {
		w.crossed++
	}
}

func (s *stats) add(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.add(r)
	s.all.add(r)
	if r.kind == "200" && !s.restartAt.IsZero() && s.firstOK.IsZero() && r.at.After(s.restartAt) {
		s.firstOK = r.at
	}
}

// interval returns the results since the last call and starts a new one.
func (s *stats) interval() *window {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.cur
	s.cur = newWindow()
	return w
}

func (s *stats) total() *window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

func (s *stats) markRestart(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restartAt, s.firstOK = at, time.Time{}
}

// recoveredAfter reports how long after up the first success came, once
// one has.
func (s *stats) recoveredAfter(up time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstOK.IsZero() {
		return 0, false
	}
	return s.firstOK.Sub(up), true
}

// errors lists the non-200 kinds, most frequent first; "-" when none.
func (w *window) errors() string {
	var kinds []string
	for k := range w.kinds {
		if k != "200" {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return "-"
	}
	sort.Slice(kinds, func(i, j int) bool { return w.kinds[kinds[i]] > w.kinds[kinds[j]] })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s ×%d", k, w.kinds[k])
	}
	return strings.Join(parts, ", ")
}

// quantile returns the q-quantile of the durations (0 when there are
// none).
func (w *window) quantile(q float64) time.Duration {
	if len(w.durs) == 0 {
		return 0
	}
	d := slices.Clone(w.durs)
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*q))]
}

func (w *window) p99() time.Duration { return w.quantile(0.99) }

func summary(out io.Writer, o options, elapsed time.Duration, t *window, restarts []restart, heapEnd uint64, gBefore, gLoaded, gAfter int) {
	fmt.Fprintf(out, "\n## Soak summary\n\n")
	fmt.Fprintf(out, "- load: %d workers for %v (mixed: PUT+GET string, ECHO, SET/GET/DEL pipeline, HSET+HGET field; every reply checked to be the request's own)\n", o.workers, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "- gateway: command timeout %v; Redis killed and restarted every %v\n", o.cmdTimeout, o.restartEvery)
	fmt.Fprintf(out, "- GOMAXPROCS %d, %s\n\n", runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(out, "| outcome | requests | share |\n|---|---:|---:|\n")
	kinds := make([]string, 0, len(t.kinds))
	for k := range t.kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return t.kinds[kinds[i]] > t.kinds[kinds[j]] })
	for _, k := range kinds {
		fmt.Fprintf(out, "| %s | %d | %.3f%% |\n", k, t.kinds[k], 100*float64(t.kinds[k])/float64(t.n))
	}
	fmt.Fprintf(out, "| **total** | %d | %.0f req/s |\n\n", t.n, float64(t.n)/elapsed.Seconds())
	fmt.Fprintf(out, "| latency | p50 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(out, "| all requests | %v | %v | %v | %v |\n\n", t.quantile(0.5).Round(time.Microsecond), t.p99().Round(time.Microsecond), t.quantile(0.999).Round(time.Microsecond), t.quantile(1).Round(time.Microsecond))
	if len(restarts) > 0 {
		fmt.Fprintf(out, "| restart | at | Redis down | first 200 after Redis is up |\n|---:|---:|---:|---:|\n")
		for i, r := range restarts {
			fmt.Fprintf(out, "| %d | %v | %v | %v |\n", i+1, r.at.Round(time.Millisecond), r.down.Round(time.Millisecond), r.recovery.Round(time.Microsecond))
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "- crossed replies: **%d**\n", t.crossed)
	fmt.Fprintf(out, "- heap at the end of the load: %.1f MiB\n", float64(heapEnd)/(1<<20))
	fmt.Fprintf(out, "- goroutines: %d before the gateway started, %d under load, %d after shutdown\n", gBefore, gLoaded, gAfter)
}

// redisProc is a redis-server child process on a fixed loopback port.
type redisProc struct {
	dir  string
	addr string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis runs redis-server on a free port with persistence off.
func startRedis(dir string) (*redisProc, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server not found on PATH (make deps installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rs := &redisProc{dir: dir, port: port, addr: "127.0.0.1:" + strconv.Itoa(port)}
	return rs, rs.start()
}

// start runs the server and waits until it answers PING.
func (rs *redisProc) start() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(rs.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", rs.dir, "--logfile", filepath.Join(rs.dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	rs.cmd, rs.done = cmd, done
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited at start (see %s)", filepath.Join(rs.dir, "redis.log"))
		default:
		}
		if ping(rs.addr) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	rs.stop()
	return fmt.Errorf("redis-server on %s did not answer PING within 5s", rs.addr)
}

// stop kills the server and waits for it to exit.
func (rs *redisProc) stop() {
	if rs.cmd == nil {
		return
	}
	_ = rs.cmd.Process.Kill()
	<-rs.done
	rs.cmd = nil
}

// ping reports whether a PING on a fresh connection gets +PONG.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
