// Command ssebench measures Server-Sent Events fan-out of a running gateway.
//
// It opens -n subscribers to one channel (GET /db/{db}/channels/{channel}/events),
// waits until every stream has sent its opening comment (the gateway sends
// it only after Redis has confirmed the subscription), then publishes
// -messages messages through the gateway (POST …/channels/{channel}/messages),
// one every -interval. Each message carries its sequence number and the
// time it was sent, so every subscriber can compute the publish-to-delivery
// latency of each message it reads.
//
// It reports the latency percentiles over all deliveries, the time until a
// message had reached every subscriber, the deliveries that had not
// arrived -drain-timeout after the last publish, the delivery rate,
// the Redis client connections seen with CLIENT LIST on -redis (the gateway
// shares one pub/sub connection per database, so this should not grow with
// -n), and, with -pid, the gateway's resident memory from /proc before and
// after the subscribers connected.
//
// The gateway and the subscribers share the machine, so the numbers include
// the cost of the load generator. Raise the open-file limit first
// (ulimit -n 65536) for large -n; scripts/bench-sse.sh does all of this.
//
// Usage:
//
//	ssebench -url http://127.0.0.1:8080 -redis 127.0.0.1:6380 -pid 1234 -n 10000
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis-gateway/redis-gateway/resp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(1)
	}
}

// config holds the command-line flags.
type config struct {
	url         string
	db          string
	channel     string
	n           int
	messages    int
	interval    time.Duration
	redis       string
	pid         int
	dialers     int
	connectWait time.Duration
	drainWait   time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "gateway base URL")
	fs.StringVar(&c.db, "db", "0", "database name")
	fs.StringVar(&c.channel, "channel", "ssebench", "channel to subscribe and publish to")
	fs.IntVar(&c.n, "n", 10000, "concurrent SSE subscribers")
	fs.IntVar(&c.messages, "messages", 200, "messages to publish")
	fs.DurationVar(&c.interval, "interval", 10*time.Millisecond, "time between two publishes")
	fs.StringVar(&c.redis, "redis", "", "Redis host:port to count client connections on (empty: skip)")
	fs.IntVar(&c.pid, "pid", 0, "gateway process id, to read its RSS from /proc (0: skip)")
	fs.IntVar(&c.dialers, "dialers", 256, "subscribers connecting at the same time (keeps the listen backlog from overflowing)")
	fs.DurationVar(&c.connectWait, "connect-timeout", 2*time.Minute, "how long all subscribers may take to connect")
	fs.DurationVar(&c.drainWait, "drain-timeout", 10*time.Second, "how long to wait for deliveries after the last publish")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if c.n < 1 || c.messages < 1 || c.dialers < 1 {
		return c, errors.New("-n, -messages and -dialers must be at least 1")
	}
	return c, nil
}

// subscriber is one event stream. Only its own goroutine writes to it
// until that goroutine has finished.
type subscriber struct {
	// latency[seq] is the publish-to-delivery time of message seq, or -1
	// while it has not arrived.
	latency []time.Duration
	got     int
	lagged  int
	err     error
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	base := strings.TrimRight(cfg.url, "/") + "/db/" + url.PathEscape(cfg.db) + "/channels/" + url.PathEscape(cfg.channel)

	// One connection per stream: no cap per host, no idle pool to trim.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxConnsPerHost:     0,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	clientsBefore, err := redisClients(ctx, cfg.redis)
	if err != nil {
		return err
	}
	rssBefore, err := rss(cfg.pid)
	if err != nil {
		return err
	}

	// start is the clock of every timestamp: subscribers compute latencies
	// on the same monotonic clock the publisher used.
	start := time.Now()
	subCtx, cancelSubs := context.WithCancel(ctx)
	defer cancelSubs()
	subs := make([]*subscriber, cfg.n)
	var connected, delivered atomic.Int64
	allConnected := make(chan struct{})
	sem := make(chan struct{}, cfg.dialers)
	var wg sync.WaitGroup
	for i := range subs {
		s := &subscriber{latency: make([]time.Duration, cfg.messages)}
		for j := range s.latency {
			s.latency[j] = -1
		}
		subs[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			// onOpen frees the dial slot and, if the stream opened,
			// counts it.
			onOpen := func(ok bool) {
				<-sem
				if ok && connected.Add(1) == int64(cfg.n) {
					close(allConnected)
				}
			}
			sem <- struct{}{}
			s.err = s.listen(subCtx, hc, base+"/events", start, onOpen, &delivered)
		}()
	}

	connectStart := time.Now()
	select {
	case <-allConnected:
	case <-time.After(cfg.connectWait):
		cancelSubs()
		wg.Wait()
		return fmt.Errorf("only %d of %d subscribers connected within %s: %w", connected.Load(), cfg.n, cfg.connectWait, firstErr(subs))
	case <-ctx.Done():
		return ctx.Err()
	}
	connectTime := time.Since(connectStart)

	clientsConnected, err := redisClients(ctx, cfg.redis)
	if err != nil {
		return err
	}
	rssConnected, err := rss(cfg.pid)
	if err != nil {
		return err
	}

	publishStart := time.Now()
	// Publish, paced by a ticker; a slow publish delays the next tick
	// rather than piling requests up.
	pubErrs := 0
	tick := time.NewTicker(cfg.interval)
	for seq := range cfg.messages {
		if err := publish(ctx, hc, base+"/messages", seq, time.Since(start)); err != nil {
			pubErrs++
			fmt.Fprintf(os.Stderr, "ssebench: publish %d: %v\n", seq, err)
		}
		if seq < cfg.messages-1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				tick.Stop()
				return ctx.Err()
			}
		}
	}
	tick.Stop()
	publishTime := time.Since(publishStart)

	// Wait until every delivery has arrived or the drain time is over.
	want := int64(cfg.n) * int64(cfg.messages)
	deadline := time.Now().Add(cfg.drainWait)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Deliveries per second from the first publish to the last delivery
	// (to within the 5 ms poll): the fan-out rate the gateway sustained.
	deliveryTime := time.Since(publishStart)
	rate := float64(delivered.Load()) / deliveryTime.Seconds()
	rssAfter, err := rss(cfg.pid)
	if err != nil {
		return err
	}
	cancelSubs()
	wg.Wait()

	// Merge: every delivery's latency, and per message the slowest
	// delivery (the time until it had reached everyone who got it).
	all := make([]time.Duration, 0, want)
	slowest := make([]time.Duration, cfg.messages)
	var lagged int
	var dropped []int
	for i, s := range subs {
		lagged += s.lagged
		if s.err != nil && !errors.Is(s.err, context.Canceled) {
			dropped = append(dropped, i)
		}
		for seq, d := range s.latency {
			if d < 0 {
				continue
			}
			all = append(all, d)
			slowest[seq] = max(slowest[seq], d)
		}
	}
	// A delivery that has not arrived by now is counted as undelivered,
	// whether the gateway dropped it or is still sending it.
	lost := want - int64(len(all))
	slices.Sort(all)
	slices.Sort(slowest)

	fmt.Fprintf(stdout, "subscribers           %d (connected in %s)\n", cfg.n, connectTime.Round(time.Millisecond))
	fmt.Fprintf(stdout, "messages              %d published, every %s, %d publish errors\n", cfg.messages, cfg.interval, pubErrs)
	fmt.Fprintf(stdout, "deliveries            %d of %d (undelivered %d when the drain timeout of %s ran out, lagged events %d, streams broken early %d)\n",
		len(all), want, lost, cfg.drainWait, lagged, len(dropped))
	fmt.Fprintf(stdout, "latency all           p50 %s  p99 %s  max %s\n", pct(all, 50), pct(all, 99), pct(all, 100))
	fmt.Fprintf(stdout, "latency to all subs   p50 %s  p99 %s  max %s\n", pct(slowest, 50), pct(slowest, 99), pct(slowest, 100))
	fmt.Fprintf(stdout, "publish phase         %s (%s planned)\n", publishTime.Round(time.Millisecond), time.Duration(cfg.messages-1)*cfg.interval)
	fmt.Fprintf(stdout, "delivery phase        %s, %.0f deliveries/s\n", deliveryTime.Round(time.Millisecond), rate)
	if cfg.redis != "" {
		fmt.Fprintf(stdout, "redis clients         before %s, with subscribers %s\n", clientsBefore, clientsConnected)
	}
	if cfg.pid != 0 {
		per := float64(rssConnected-rssBefore) / float64(cfg.n)
		fmt.Fprintf(stdout, "gateway RSS           before %s, connected %s, after messages %s; %.0f B per subscriber\n",
			mib(rssBefore), mib(rssConnected), mib(rssAfter), per)
	}
	// One markdown row for docs/benchmarks.md.
	fmt.Fprintf(stdout, "| %d | %d every %s | %s | %s | %s | %s | %.0f | %d | %s | %s | %s | %.0f |\n",
		cfg.n, cfg.messages, cfg.interval, connectTime.Round(time.Millisecond), pct(all, 50), pct(all, 99), pct(all, 100), rate, lost,
		clientsConnected, mib(rssBefore), mib(rssConnected), float64(rssConnected-rssBefore)/float64(cfg.n))
	return nil
}

// listen reads one event stream until ctx is cancelled. It calls onOpen
// exactly once: with true when the gateway's opening comment arrives, with
// false if the stream fails before that.
func (s *subscriber) listen(ctx context.Context, hc *http.Client, u string, start time.Time, onOpen func(ok bool), delivered *atomic.Int64) error {
	opened := false
	defer func() {
		if !opened {
			onOpen(false)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("subscribe: %s: %s", res.Status, bytes.TrimSpace(b))
	}
	br := bufio.NewReaderSize(res.Body, 1024)
	event := ""
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		now := time.Since(start)
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case !opened && bytes.HasPrefix(line, []byte(":")):
			opened = true
			onOpen(true)
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			switch event {
			case "message":
				seq, sent, ok := parseMessage(line)
				if ok && seq < len(s.latency) && s.latency[seq] < 0 {
					s.latency[seq] = now - sent
					s.got++
					delivered.Add(1)
				}
			case "lagged":
				s.lagged++
			}
		case len(line) == 0:
			event = ""
		}
	}
}

// parseMessage takes the "seq:nanos" message out of a data line
// {"channel":…,"message":"seq:nanos"} without a JSON decoder, which would
// cost more CPU than the gateway spends on the event.
func parseMessage(line []byte) (seq int, sent time.Duration, ok bool) {
	const key = `"message":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return 0, 0, false
	}
	rest := line[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, 0, false
	}
	a, b, found := strings.Cut(string(rest[:end]), ":")
	if !found {
		return 0, 0, false
	}
	seq, err1 := strconv.Atoi(a)
	ns, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return seq, time.Duration(ns), true
}

// publish sends message "seq:nanos" through the gateway.
func publish(ctx context.Context, hc *http.Client, u string, seq int, sent time.Duration) error {
	body := fmt.Sprintf(`{"message":"%d:%d"}`, seq, sent.Nanoseconds())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Status, bytes.TrimSpace(b))
	}
	return nil
}

// redisClients runs CLIENT LIST on addr and describes the connections
// other than its own: "total N (pubsub P)". It returns "n/a" when addr is
// empty.
func redisClients(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		return "n/a", nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	w := resp.NewWriter(conn)
	if err := w.WriteCommand("CLIENT", "LIST"); err != nil {
		return "", fmt.Errorf("redis: client list: %w", err)
	}
	if err := w.Flush(); err != nil {
		return "", fmt.Errorf("redis: client list: %w", err)
	}
	v, err := resp.NewReader(conn, resp.Limits{}).Read()
	if err != nil {
		return "", fmt.Errorf("redis: client list: %w", err)
	}
	if err := v.Err(); err != nil {
		return "", fmt.Errorf("redis: client list: %w", err)
	}
	total, pubsub := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(v.Str)), "\n") {
		if line == "" || strings.Contains(line, " cmd=client|list ") {
			continue // this probe
		}
		total++
		for _, f := range strings.Fields(line) {
			if flags, ok := strings.CutPrefix(f, "flags="); ok && strings.ContainsAny(flags, "P") {
				pubsub++
			}
		}
	}
	return fmt.Sprintf("%d (pubsub %d)", total, pubsub), nil
}

// rss returns the resident set size of process pid in bytes, from
// /proc/<pid>/status (VmRSS). It returns 0 when pid is 0.
func rss(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("rss: no VmRSS in /proc/%d/status", pid)
}

// pct returns the p-th percentile of sorted (nearest rank), or "n/a".
func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "n/a"
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	d := sorted[i]
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// firstErr returns the first subscriber error other than cancellation.
func firstErr(subs []*subscriber) error {
	for _, s := range subs {
		if s != nil && s.err != nil && !errors.Is(s.err, context.Canceled) {
			return s.err
		}
	}
	return errors.New("no subscriber reported an error")
}
