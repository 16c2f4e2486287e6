package api

// Fault injection under load (issue 7). Each scenario runs for a few
// seconds against its own redis-server, drives the gateway with concurrent
// clients whose every request carries its own key and value, and checks
// the outcome of every single request: its status and problem code, how
// long it took, and that a successful reply is the request's own (a
// crossed reply, one request receiving another's answer, fails the test).
//
// The scenarios are not parallel: each is wrapped in leakCheck, which
// compares goroutines and open file descriptors with the counts from
// before it, and only a test running alone can count them. The figures
// they log (t.Logf, visible with -v) are the ones in docs/reliability.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/faultproxy"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// leakCheck runs body as a subtest, so that everything the scenario
// registered with t.Cleanup (gateway, pools, redis-server, proxy) is
// closed first, and then requires the goroutines and open file
// descriptors of the process to be back where they were before. Both are
// polled for a while: closing is asynchronous in places (a reaped child,
// a connection's read loop).
func leakCheck(t *testing.T, name string, body func(t *testing.T)) {
	t.Helper()
	http.DefaultClient.CloseIdleConnections() // earlier tests' keep-alives
	ignore := goleak.IgnoreCurrent()
	fdsBefore := openFDs(t)
	if !t.Run(name, body) {
		return
	}
	// goleak retries for about half a second; a loaded machine may need
	// longer to end what the scenario closed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := goleak.Find(ignore)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: goroutines left behind: %v", name, err)
		}
	}
	for {
		n := openFDs(t)
		if n <= fdsBefore {
			t.Logf("%s: open file descriptors %d before, %d after", name, fdsBefore, n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d file descriptors open after the scenario, %d before", name, n, fdsBefore)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts the entries of /proc/self/fd.
func openFDs(tb testing.TB) int {
	tb.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}

// relDatabase is a database named name over the Redis at addr, with the
// client settings changed by tweak (nil: defaults; never auto-pipelined
// unless tweak says so, since the scenarios count pooled connections).
func relDatabase(tb testing.TB, name, addr string, tweak func(*client.Config)) *Database {
	tb.Helper()
	db := newTestDBWith(tb, name, "redis://"+addr+"/0", tweak)
	db.Addr = addr
	return db
}

// loadClient is an HTTP client of its own for a scenario (so that its
// keep-alive connections are closed with it), with a hard timeout that
// no request of a scenario may reach.
func loadClient(tb testing.TB) *http.Client {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}

// outcome is what one request of a scenario ended with.
type outcome struct {
	status     int    // 0: transport error (err)
	code       string // problem code of an error reply
	retryAfter string
	sent       string // the problem's outcome: not_sent, unknown or ""
	dur        time.Duration
	crossed    bool   // a 200 whose reply is not this request's own
	detail     string // what was crossed, for the failure message
	err        error
}

// call sends one JSON request and decodes a 200 body into out, or a
// problem body into the outcome.
func call(ctx context.Context, hc *http.Client, method, url string, body any, out any) outcome {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return outcome{err: err, dur: time.Since(start)}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	o := outcome{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), dur: time.Since(start), err: err}
	if err != nil {
		return o
	}
	if res.StatusCode != http.StatusOK {
		var p Problem
		if jerr := json.Unmarshal(data, &p); jerr != nil || res.Header.Get("Content-Type") != "application/problem+json" {
			o.crossed, o.detail = true, fmt.Sprintf("status %d without a problem body: %q", res.StatusCode, data)
		}
		o.code, o.sent = p.Code, p.Outcome
		return o
	}
	if out != nil {
		if jerr := json.Unmarshal(data, out); jerr != nil {
			o.crossed, o.detail = true, fmt.Sprintf("200 with a body that does not decode: %q", data)
		}
	}
	return o
}

// echoOp runs ECHO with a token unique to the request and checks that the
// reply carries that token.
func echoOp(ctx context.Context, hc *http.Client, base, db, token string) outcome {
	var rep struct {
		Result string `json:"result"`
	}
	o := call(ctx, hc, "POST", base+"/db/"+db+"/command", map[string]any{"command": []string{"ECHO", token}}, &rep)
	if o.status == http.StatusOK && !o.crossed && rep.Result != token {
		o.crossed, o.detail = true, fmt.Sprintf("ECHO %q answered %q", token, rep.Result)
	}
	return o
}

// setGetOp writes the request's own value under its own key and reads it
// back in one pipeline (one connection, one round trip), and checks both
// replies.
func setGetOp(ctx context.Context, hc *http.Client, base, db, key, val string) outcome {
	var rep struct {
		Results []struct {
			Result any    `json:"result"`
			Code   string `json:"code"`
		} `json:"results"`
	}
	o := call(ctx, hc, "POST", base+"/db/"+db+"/pipeline", map[string]any{"commands": [][]string{{"SET", key, val}, {"GET", key}}}, &rep)
	if o.status == http.StatusOK && !o.crossed {
		if len(rep.Results) != 2 || rep.Results[0].Result != true || rep.Results[1].Result != val {
			o.crossed, o.detail = true, fmt.Sprintf("SET+GET %q=%q answered %+v", key, val, rep.Results)
		}
	}
	return o
}

// stringOp is PUT then GET /db/{db}/strings/{key} with the request's own
// value.
func stringOp(ctx context.Context, hc *http.Client, base, db, key, val string) outcome {
	u := base + "/db/" + db + "/strings/" + url.PathEscape(key)
	o := call(ctx, hc, "PUT", u, map[string]any{"value": val}, nil)
	if o.status != http.StatusOK || o.crossed {
		return o
	}
	var rep StringValue
	g := call(ctx, hc, "GET", u, nil, &rep)
	g.dur += o.dur
	if g.status == http.StatusOK && !g.crossed && rep.Value != val {
		g.crossed, g.detail = true, fmt.Sprintf("GET %q after PUT %q answered %q", key, val, rep.Value)
	}
	return g
}

// tally collects the outcomes of a phase. It is safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	byKind   map[string]int
	crossed  []string
	durs     []time.Duration
	maxBy    map[string]time.Duration // slowest request per kind
	noRetry  int                      // 503 without Retry-After
	muddled  []string                 // failures whose outcome contradicts their status
	requests int
}

func newTally() *tally {
	return &tally{byKind: map[string]int{}, maxBy: map[string]time.Duration{}}
}

// kind names an outcome for the tables: "200", "503 UPSTREAM_UNAVAILABLE",
// "transport: …".
func (o outcome) kind() string {
	switch {
	case o.status == 0:
		return "transport error"
	case o.code != "":
		return fmt.Sprintf("%d %s", o.status, o.code)
	}
	return fmt.Sprint(o.status)
}

func (t *tally) add(o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.byKind[o.kind()]++
	t.maxBy[o.kind()] = max(t.maxBy[o.kind()], o.dur)
	t.durs = append(t.durs, o.dur)
	if o.crossed {
		t.crossed = append(t.crossed, o.detail)
	}
	if o.status == http.StatusServiceUnavailable && o.retryAfter == "" {
		t.noRetry++
	}
	// 503 (retry invited) only for commands that never reached Redis;
	// 502 and 504 say the command may have run and invite no retry.
	switch {
	case o.status == http.StatusServiceUnavailable && o.code != CodeUpstreamUnavailable && o.code != CodePoolTimeout:
		// a Redis reply such as LOADING: no outcome needed
	case o.status == http.StatusServiceUnavailable && o.sent != OutcomeNotSent,
		(o.status == http.StatusBadGateway || o.status == http.StatusGatewayTimeout) && (o.sent != OutcomeUnknown || o.retryAfter != ""):
		t.muddled = append(t.muddled, fmt.Sprintf("%s with outcome %q, Retry-After %q", o.kind(), o.sent, o.retryAfter))
	}
}

// max returns the longest request of the phase.
func (t *tally) max() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var m time.Duration
	for _, d := range t.durs {
		m = max(m, d)
	}
	return m
}

// maxOf returns the longest request that ended with kind k.
func (t *tally) maxOf(k string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxBy[k]
}

// p99 returns the 99th percentile request duration.
func (t *tally) p99() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.durs) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), t.durs...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)*99/100]
}

// String lists the kinds, most frequent first.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	kinds := make([]string, 0, len(t.byKind))
	for k := range t.byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return t.byKind[kinds[i]] > t.byKind[kinds[j]] })
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s ×%d", k, t.byKind[k])
	}
	return b.String()
}

// count returns how many outcomes were of kind k.
func (t *tally) count(k string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byKind[k]
}

// only fails the test unless every outcome is one of kinds, and no reply
// was crossed.
func (t *tally) only(tb testing.TB, phase string, kinds ...string) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.crossed) > 0 {
		tb.Errorf("%s: %d crossed replies, first: %s", phase, len(t.crossed), t.crossed[0])
	}
	if len(t.muddled) > 0 {
		tb.Errorf("%s: %d failures whose outcome contradicts their status, first: %s", phase, len(t.muddled), t.muddled[0])
	}
	for k, n := range t.byKind {
		ok := false
		for _, want := range kinds {
			ok = ok || k == want
		}
		if !ok {
			tb.Errorf("%s: %d requests ended with %s, want only %v", phase, n, k, kinds)
		}
	}
}

// load runs workers goroutines, each calling op with its worker number and
// a sequence number, until ctx is done; every outcome goes to the
// returned tally. It returns when all workers have stopped.
func load(ctx context.Context, workers int, op func(ctx context.Context, worker, seq int) outcome) *tally {
	t := newTally()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for seq := 0; ctx.Err() == nil; seq++ {
				// Requests get their own context: the phase ending must not
				// cancel a request half-way and count it as a failure.
				o := op(context.WithoutCancel(ctx), w, seq)
				t.add(o)
			}
		})
	}
	wg.Wait()
	return t
}

// phase runs load for d.
func phase(tb testing.TB, d time.Duration, workers int, op func(ctx context.Context, worker, seq int) outcome) *tally {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.(interface{ Context() context.Context }).Context(), d)
	defer cancel()
	return load(ctx, workers, op)
}

// mixedOp alternates ECHO and a SET+GET pipeline, each with its own
// token, key and value.
func mixedOp(hc *http.Client, base, db, prefix string) func(ctx context.Context, w, seq int) outcome {
	return func(ctx context.Context, w, seq int) outcome {
		id := fmt.Sprintf("%s:%d:%d", prefix, w, seq)
		if seq%2 == 0 {
			return echoOp(ctx, hc, base, db, "echo-"+id)
		}
		return setGetOp(ctx, hc, base, db, "k-"+id, "v-"+id)
	}
}

// Scenario 1: Redis killed under concurrent load, then restarted.
func TestReliabilityRedisKilledUnderLoad(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		const cmdTimeout = time.Second
		g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: cmdTimeout}})
		hc := loadClient(t)
		op := mixedOp(hc, g.URL, "0", "kill")
		const workers = 8

		before := phase(t, 300*time.Millisecond, workers, op)
		before.only(t, "before the kill", "200")

		// Kill Redis while the load runs, then keep loading: every request
		// either made it before the kill or fails fast with 503.
		ctx, cancel := context.WithCancel(t.Context())
		down := make(chan *tally, 1) // buffered: a failing test need not receive
		go func() { down <- load(ctx, workers, op) }()
		time.Sleep(50 * time.Millisecond)
		rs.Kill()
		time.Sleep(700 * time.Millisecond)
		cancel()
		during := <-down
		during.only(t, "while Redis is down", "200", "503 UPSTREAM_UNAVAILABLE", "502 CONNECTION_LOST")
		if n := during.count("503 UPSTREAM_UNAVAILABLE"); n == 0 {
			t.Errorf("while Redis is down: no 503 at all (%s)", during)
		}
		if during.noRetry > 0 {
			t.Errorf("while Redis is down: %d 503 replies without Retry-After", during.noRetry)
		}
		if m := during.max(); m > cmdTimeout {
			t.Errorf("while Redis is down the slowest request took %v, want under the command timeout %v", m, cmdTimeout)
		}
		t.Logf("Redis down: %d requests (%s), p99 %v, max %v", during.requests, during, during.p99(), during.max())

		// Restart on the same port; the gateway is not touched. Success must
		// resume within the bound, with no crossed reply on the way.
		ctx, cancel = context.WithCancel(t.Context())
		up := make(chan *tally, 1) // buffered: a failing test need not receive
		go func() { up <- load(ctx, workers, op) }()
		time.Sleep(100 * time.Millisecond)
		rs.Restart()
		restarted := time.Now()
		const recoveryBound = 5 * time.Second
		var recovered time.Duration
		for {
			if o := echoOp(t.Context(), hc, g.URL, "0", "probe"); o.status == http.StatusOK {
				recovered = time.Since(restarted)
				break
			}
			if time.Since(restarted) > recoveryBound {
				t.Fatalf("no success within %v of Redis answering again", recoveryBound)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
		restart := <-up
		restart.only(t, "across the restart", "200", "503 UPSTREAM_UNAVAILABLE", "502 CONNECTION_LOST")

		after := phase(t, 300*time.Millisecond, workers, op)
		after.only(t, "after the restart", "200")
		t.Logf("recovery: first 200 %v after Redis answered PING again (bound %v); after: %d requests, p99 %v", recovered, recoveryBound, after.requests, after.p99())
	})
}

// Scenario 2: Redis paused with SIGSTOP: 504 (or 503 for commands never
// sent) within the command timeout,
// and after SIGCONT no stale reply reaches a later request.
func TestReliabilityRedisPaused(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		const cmdTimeout = 300 * time.Millisecond
		g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: cmdTimeout}})
		hc := loadClient(t)
		const workers = 8
		strOp := func(prefix string) func(ctx context.Context, w, seq int) outcome {
			return func(ctx context.Context, w, seq int) outcome {
				id := fmt.Sprintf("%s:%d:%d", prefix, w, seq)
				if seq%3 == 0 {
					return stringOp(ctx, hc, g.URL, "0", "s-"+id, "v-"+id)
				}
				return mixedOp(hc, g.URL, "0", prefix)(ctx, w, seq)
			}
		}
		// Warm the pool so that the pause catches connections mid-use.
		phase(t, 200*time.Millisecond, workers, strOp("warm")).only(t, "before the pause", "200")

		rs.Pause()
		paused := phase(t, 800*time.Millisecond, workers, strOp("paused"))
		rs.Resume()
		// Commands written before the pause end with 504 (outcome unknown);
		// later ones wait on a handshake that never completes and end with
		// 503 (not sent).
		paused.only(t, "while paused", "504 TIMEOUT", "503 UPSTREAM_UNAVAILABLE")
		// The bound: the command timeout plus a generous margin for a loaded
		// machine; the measured figure is logged.
		if m := paused.max(); m > cmdTimeout+time.Second {
			t.Errorf("while paused the slowest request took %v, want about the command timeout %v", m, cmdTimeout)
		}
		t.Logf("paused: %d requests (%s), p99 %v, max %v (command timeout %v)", paused.requests, paused, paused.p99(), paused.max(), cmdTimeout)

		// Redis now answers everything it had buffered; none of those
		// replies may reach a new request.
		after := phase(t, 500*time.Millisecond, workers, strOp("resumed"))
		after.only(t, "after SIGCONT", "200")
		t.Logf("after SIGCONT: %d requests, all their own replies, p99 %v", after.requests, after.p99())
	})
}

// Scenario 3: a proxy between gateway and Redis cuts replies in half and
// resets connections: only the requests on those connections fail, and the
// pool recovers.
func TestReliabilityBrokenConnections(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		p, err := faultproxy.Start(rs.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		db := relDatabase(t, "proxied", p.Addr(), nil)
		g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: 500 * time.Millisecond}, extra: []*Database{db}})
		hc := loadClient(t)

		t.Run("cut one reply", func(t *testing.T) {
			if o := echoOp(t.Context(), hc, g.URL, "proxied", "warm"); o.status != http.StatusOK {
				t.Fatalf("warm-up: %s", o.kind())
			}
			for i := range 5 {
				p.CutNextReply()
				if o := echoOp(t.Context(), hc, g.URL, "proxied", fmt.Sprint("cut-", i)); o.status != http.StatusBadGateway || o.code != CodeConnectionLost || o.sent != OutcomeUnknown || o.retryAfter != "" {
					t.Fatalf("request %d whose reply was cut: got %s (outcome %q, Retry-After %q), want 502 CONNECTION_LOST, outcome unknown, no Retry-After", i, o.kind(), o.sent, o.retryAfter)
				}
				// The very next request gets its own reply.
				if o := echoOp(t.Context(), hc, g.URL, "proxied", fmt.Sprint("next-", i)); o.status != http.StatusOK || o.crossed {
					t.Fatalf("request after cut %d: got %s %s", i, o.kind(), o.detail)
				}
			}
		})

		t.Run("cuts under load", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			res := make(chan *tally, 1) // buffered: a failing test need not receive
			go func() { res <- load(ctx, 8, mixedOp(hc, g.URL, "proxied", "cutload")) }()
			_, _, cutsBefore := p.Stats()
			for range 10 {
				time.Sleep(50 * time.Millisecond)
				p.CutNextReply()
			}
			time.Sleep(200 * time.Millisecond)
			cancel()
			tl := <-res
			_, _, cutsAfter := p.Stats()
			cuts := cutsAfter - cutsBefore
			failed := tl.requests - tl.count("200")
			tl.only(t, "cuts under load", "200", "503 UPSTREAM_UNAVAILABLE", "502 CONNECTION_LOST")
			// A cut reply fails the request it belonged to, or a dial in
			// progress, and nothing else.
			if failed > cuts {
				t.Errorf("%d requests failed for %d cut replies (%s)", failed, cuts, tl)
			}
			t.Logf("cuts under load: %d replies cut, %d of %d requests failed (%s)", cuts, failed, tl.requests, tl)
		})

		t.Run("reset all connections under load", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			res := make(chan *tally, 1) // buffered: a failing test need not receive
			go func() { res <- load(ctx, 8, mixedOp(hc, g.URL, "proxied", "reset")) }()
			reset := 0
			for range 3 {
				time.Sleep(150 * time.Millisecond)
				reset += p.ResetAll()
			}
			time.Sleep(300 * time.Millisecond)
			cancel()
			tl := <-res
			failed := tl.requests - tl.count("200")
			tl.only(t, "resets under load", "200", "503 UPSTREAM_UNAVAILABLE", "502 CONNECTION_LOST")
			// Each reset connection fails at most the one request on it (or the
			// next one to take it from the pool), never more.
			if failed > reset {
				t.Errorf("%d requests failed for %d reset connections (%s)", failed, reset, tl)
			}
			t.Logf("resets under load: %d connections reset, %d of %d requests failed (%s)", reset, failed, tl.requests, tl)
			after := phase(t, 300*time.Millisecond, 8, mixedOp(hc, g.URL, "proxied", "afterreset"))
			after.only(t, "after the resets", "200")
		})

		t.Run("blackhole", func(t *testing.T) {
			// Pooled connections now lose every byte, new ones are held.
			p.SetBlackhole(true)
			tl := phase(t, 600*time.Millisecond, 4, mixedOp(hc, g.URL, "proxied", "hole"))
			p.SetBlackhole(false)
			tl.only(t, "blackholed", "504 TIMEOUT", "503 UPSTREAM_UNAVAILABLE")
			if m := tl.max(); m > 500*time.Millisecond+time.Second {
				t.Errorf("blackholed requests took up to %v, want about the command timeout 500ms", m)
			}
			after := phase(t, 300*time.Millisecond, 8, mixedOp(hc, g.URL, "proxied", "afterhole"))
			after.only(t, "after the blackhole", "200")
			t.Logf("blackhole: %d requests (%s), max %v; after: %d requests all 200", tl.requests, tl, tl.max(), after.requests)
		})
	})
}

// Scenario 4: HTTP clients that go away in the middle of BLPOP and DEBUG
// SLEEP leave nothing behind in the gateway or in Redis.
func TestReliabilityClientDisconnects(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: 3 * time.Second}})
		hc := loadClient(t)
		const blockers = 6
		var wg sync.WaitGroup
		var early atomic.Int32 // requests that ended before their client gave up
		for i := range blockers {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				o := call(ctx, hc, "POST", g.URL+"/db/0/command", map[string]any{"command": []string{"BLPOP", fmt.Sprint("queue-", i%2), "10"}}, nil)
				if o.err == nil {
					early.Add(1)
				}
			})
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if o := call(ctx, hc, "POST", g.URL+"/db/0/command", map[string]any{"command": []string{"DEBUG", "SLEEP", "0.5"}}, nil); o.err == nil {
				early.Add(1)
			}
		})
		wg.Wait()
		if n := early.Load(); n > 0 {
			t.Fatalf("%d blocking requests ended before their client went away", n)
		}
		// The gateway must close the connections of the abandoned BLPOPs:
		// otherwise Redis keeps them blocked and they would swallow the
		// next pushes.
		start := time.Now()
		for {
			v := rs.Do(t, "INFO", "clients")
			if strings.Contains(string(v.Str), "blocked_clients:0\r\n") {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("Redis still has blocked clients 5s after their HTTP clients left: %s", v.Str)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("abandoned BLPOPs released in Redis %v after the last client left", time.Since(start))
		for _, q := range []string{"queue-0", "queue-1"} {
			rs.Do(t, "RPUSH", q, "kept")
			if n := rs.Do(t, "LLEN", q).Int; n != 1 {
				t.Fatalf("LLEN %s = %d after one push, want 1: an abandoned BLPOP took it", q, n)
			}
		}
		var blpop struct {
			Result []string `json:"result"`
		}
		if o := call(t.Context(), hc, "POST", g.URL+"/db/0/command", map[string]any{"command": []string{"BLPOP", "queue-0", "1"}}, &blpop); o.status != http.StatusOK || len(blpop.Result) != 2 || blpop.Result[1] != "kept" {
			t.Fatalf("BLPOP after the disconnects: %s %v, want [queue-0 kept]", o.kind(), blpop.Result)
		}
		phase(t, 300*time.Millisecond, 8, mixedOp(hc, g.URL, "0", "afterleave")).only(t, "after the disconnects", "200")
		for _, name := range []string{"0"} {
			if s := g.DBs[name].Client.Stats(); s.InUse != 0 {
				t.Errorf("database %s: %d connections still in use", name, s.InUse)
			}
		}
	})
}

// Scenario 5: a small pool held by slow commands: waiters get 503
// POOL_TIMEOUT after the pool timeout, /healthz stays responsive, and the
// pool serves again once the slow commands end.
func TestReliabilityPoolExhausted(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		const poolTimeout = 200 * time.Millisecond
		db := relDatabase(t, "small", rs.Addr(), func(c *client.Config) {
			c.Pool.PoolSize = 2
			c.Pool.MinIdle = 2 // both dialled before Redis sleeps
			c.Pool.PoolTimeout = poolTimeout
		})
		g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: 5 * time.Second}, extra: []*Database{db}})
		hc := loadClient(t)

		deadline := time.Now().Add(5 * time.Second)
		for db.Client.Stats().IdleConns < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("the pool never dialled its two idle connections: %+v", db.Client.Stats())
			}
			time.Sleep(2 * time.Millisecond)
		}
		// Two DEBUG SLEEPs hold both connections (the second waits in Redis
		// behind the first), about 1.6 s in all.
		var slow sync.WaitGroup
		slowOut := make([]outcome, 2)
		for i := range 2 {
			slow.Go(func() {
				slowOut[i] = call(t.Context(), hc, "POST", g.URL+"/db/small/command", map[string]any{"command": []string{"DEBUG", "SLEEP", "0.8"}}, nil)
			})
		}
		deadline = time.Now().Add(5 * time.Second)
		for db.Client.Stats().InUse < 2 {
			if time.Now().After(deadline) {
				t.Fatal("the slow commands never held both connections")
			}
			time.Sleep(2 * time.Millisecond)
		}
		waiters := phase(t, 600*time.Millisecond, 6, func(ctx context.Context, w, seq int) outcome {
			return echoOp(ctx, hc, g.URL, "small", fmt.Sprintf("wait:%d:%d", w, seq))
		})
		var health []time.Duration
		for range 5 {
			o := call(t.Context(), hc, "GET", g.URL+"/healthz", nil, nil)
			if o.status != http.StatusOK {
				t.Fatalf("/healthz while the pool is exhausted: %s", o.kind())
			}
			health = append(health, o.dur)
		}
		slow.Wait()
		for i, o := range slowOut {
			if o.status != http.StatusOK {
				t.Errorf("slow command %d: %s", i, o.kind())
			}
		}
		// Waiters that started as the second sleep ended may have got a
		// connection; all the others waited out the pool timeout.
		waiters.only(t, "waiters", "503 POOL_TIMEOUT", "200")
		if waiters.count("503 POOL_TIMEOUT") == 0 {
			t.Errorf("no waiter got POOL_TIMEOUT (%s)", waiters)
		}
		if waiters.noRetry > 0 {
			t.Errorf("%d POOL_TIMEOUT replies without Retry-After", waiters.noRetry)
		}
		if m := waiters.maxOf("503 POOL_TIMEOUT"); m > poolTimeout+time.Second {
			t.Errorf("a waiter took %v to get POOL_TIMEOUT, want about the pool timeout %v", m, poolTimeout)
		}
		healthStr := fmt.Sprint(health)
		for _, d := range health {
			if d > time.Second {
				t.Errorf("/healthz took %v while the pool was exhausted (all: %s)", d, healthStr)
			}
		}
		after := phase(t, 300*time.Millisecond, 6, mixedOp(hc, g.URL, "small", "afterpool"))
		after.only(t, "after the slow commands", "200")
		t.Logf("pool of 2 held by DEBUG SLEEP: waiters %d (%s), slowest POOL_TIMEOUT %v (pool timeout %v); /healthz %s", waiters.requests, waiters, waiters.maxOf("503 POOL_TIMEOUT"), poolTimeout, healthStr)
	})
}

// Scenario 7: graceful shutdown under write load loses no acknowledged
// write.
func TestReliabilityGracefulShutdown(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		db := relDatabase(t, "0", rs.Addr(), nil)
		srv := NewServer(nil, Config{}, []*Database{db}, nil)
		hs := httptest.NewUnstartedServer(srv)
		hs.Config.RegisterOnShutdown(srv.Close)
		hs.Start()
		t.Cleanup(hs.Close)
		hc := loadClient(t)

		type write struct{ key, val string }
		var mu sync.Mutex
		var acked []write
		var failed atomic.Int32
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for seq := 0; !stop.Load(); seq++ {
					key := fmt.Sprintf("shutdown:%d:%d", w, seq)
					val := fmt.Sprintf("value %d/%d", w, seq)
					o := call(t.Context(), hc, "PUT", hs.URL+"/db/0/strings/"+url.PathEscape(key), map[string]any{"value": val}, nil)
					if o.status >= 200 && o.status < 300 {
						mu.Lock()
						acked = append(acked, write{key, val})
						mu.Unlock()
					} else {
						failed.Add(1)
					}
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := hs.Config.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		took := time.Since(start)
		stop.Store(true)
		wg.Wait()
		if len(acked) == 0 {
			t.Fatal("no write was acknowledged before the shutdown")
		}
		var missing []string
		for _, w := range acked {
			if v := rs.Do(t, "GET", w.key); string(v.Str) != w.val {
				missing = append(missing, fmt.Sprintf("%s=%q (Redis has %q)", w.key, w.val, v.Str))
			}
		}
		if len(missing) > 0 {
			t.Fatalf("%d of %d acknowledged writes are not in Redis, first: %s", len(missing), len(acked), missing[0])
		}
		t.Logf("graceful shutdown: %d acknowledged writes all in Redis, %d refused after it began, Shutdown took %v", len(acked), failed.Load(), took)
	})
}

// TestReliabilityRetries: workers INCR under a fault (a CLIENT KILL storm,
// or Redis paused again and again past the command timeout), pooled and
// auto-pipelined, with one of two retry strategies, and the counters are
// checked key by key afterwards.
//
//   - "retry not_sent": every attempt INCRs a key of its own and only
//     not_sent failures are retried (with a new attempt). Every not_sent
//     attempt's key must be absent, every acknowledged one 1, every
//     unknown one 0 or 1 (counted), none above 1.
//   - "idempotency key": each INCR has its own key and Idempotency-Key and
//     is retried on every failure until an answer is final (a 200, a
//     replayed answer, IDEMPOTENCY_REPLY_LOST). Every counter is exactly
//     1 (each INCR meant once ran once, thanks to the fence), and no final
//     answer is IDEMPOTENCY_UNKNOWN or a replayed failure.
//
// In both, each counter equals the acknowledged INCRs plus the
// unknown-outcome ones that ran, which the test counts.
func TestReliabilityRetries(t *testing.T) {
	for _, fault := range []string{"client kill", "pause"} {
		for _, ap := range []bool{false, true} {
			for _, strategy := range []string{"retry not_sent", "idempotency key"} {
				mode := "pooled"
				if ap {
					mode = "auto-pipelined"
				}
				leakCheck(t, fault+"/"+mode+"/"+strategy, func(t *testing.T) { retryScenario(t, fault, ap, strategy == "idempotency key") })
			}
		}
	}
}

// attempt is one INCR request of retryScenario and how it ended.
type attempt struct {
	key   string
	final outcome
	tries int
}

func retryScenario(t *testing.T, fault string, autoPipeline bool, idem bool) {
	rs := redistest.Start(t)
	db := newTestDBWith(t, "0", rs.URL(0), func(c *client.Config) { c.AutoPipeline = autoPipeline })
	srv := NewServer(nil, Config{CommandTimeout: 300 * time.Millisecond, IdempotencyLease: 500 * time.Millisecond}, []*Database{db}, nil)
	base := newHTTPServer(t, srv)
	hc := loadClient(t)
	const workers = 8
	ops := 40
	if fault == "pause" {
		ops = 120 // a few pauses: each stalls every worker for 400 ms
	}
	ctx, cancel := context.WithCancel(t.Context())
	faults := make(chan int, 1)
	go func() {
		n := 0
		defer func() { faults <- n }()
		for {
			if fault == "client kill" {
				select {
				case <-ctx.Done():
					return
				case <-time.After(15 * time.Millisecond):
				}
				rs.Do(t, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
				n++
				continue
			}
			// the first pause comes early: 8 workers' 960 INCRs can be
			// done in under 100 ms, and a run without a fault proves nothing
			gap := 100 * time.Millisecond
			if n == 0 {
				gap = 5 * time.Millisecond
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(gap):
			}
			rs.Pause()
			n++
			select {
			case <-ctx.Done():
			case <-time.After(400 * time.Millisecond):
			}
			rs.Resume()
		}
	}()
	results := make([][]attempt, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for seq := range ops {
				if idem {
					results[w] = append(results[w], idemIncr(t.Context(), hc, base, fmt.Sprintf("c:%d:%d", w, seq)))
					continue
				}
				for try := 0; ; try++ {
					a := attempt{key: fmt.Sprintf("c:%d:%d:%d", w, seq, try), tries: 1}
					a.final = call(t.Context(), hc, "POST", base+"/db/0/command", map[string]any{"command": []string{"INCR", a.key}}, nil)
					results[w] = append(results[w], a)
					if a.final.sent != OutcomeNotSent || try > 200 {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	cancel()
	nFaults := <-faults
	rs.Resume()
	// commands a paused Redis had buffered run once it reads them: wait
	// until the key count stops moving
	for prev := int64(-1); ; time.Sleep(100 * time.Millisecond) {
		n := rs.Do(t, "DBSIZE").Int
		if n == prev {
			break
		}
		prev = n
	}
	var acked, notSent, unknown, ranUnknown, retries, requests int
	kinds, ranBy := map[string]int{}, map[string]int{}
	for _, as := range results {
		for _, a := range as {
			requests += a.tries
			retries += a.tries - 1
			v := rs.Do(t, "GET", a.key)
			n, _ := strconv.Atoi(string(v.Str))
			o := a.final
			kinds[o.kind()]++
			if idem {
				switch {
				case n != 1:
					t.Errorf("%s = %d after %d tries ending in %s: each INCR with an Idempotency-Key must run exactly once", a.key, n, a.tries, o.kind())
				case o.code == CodeIdempotencyReplyLost && o.sent == OutcomeRan:
					acked++
				case o.status == http.StatusOK:
					acked++
					if o.crossed {
						t.Errorf("%s: crossed reply: %s", a.key, o.detail)
					}
				default:
					t.Errorf("%s: final answer %s (outcome %q) after %d tries; want 200 or IDEMPOTENCY_REPLY_LOST", a.key, o.kind(), o.sent, a.tries)
				}
				continue
			}
			switch {
			case n > 1:
				t.Errorf("%s = %d after %d tries ending in %s: an INCR ran more than once", a.key, n, a.tries, o.kind())
			case o.status == http.StatusOK:
				acked++
				if n != 1 {
					t.Errorf("%s = %d, but its INCR was acknowledged", a.key, n)
				}
				if o.crossed {
					t.Errorf("%s: crossed reply: %s", a.key, o.detail)
				}
			case o.sent == OutcomeNotSent:
				notSent++
				if n != 0 {
					t.Errorf("%s = %d, but its INCR failed with %s, outcome not_sent", a.key, n, o.kind())
				}
			case o.sent == OutcomeUnknown:
				unknown++
				ranUnknown += n
				ranBy[o.kind()] += n
			default:
				t.Errorf("%s: final answer %s without an outcome (%v)", a.key, o.kind(), o.err)
			}
		}
	}
	if got := len(rs.Do(t, "KEYS", "c:*").Elems); got != acked+ranUnknown {
		t.Errorf("%d counters in Redis, want %d acknowledged + %d unknown that ran", got, acked, ranUnknown)
	}
	if acked == 0 || nFaults == 0 {
		t.Errorf("%d INCRs succeeded under %d faults (%v); want both above 0", acked, nFaults, kinds)
	}
	t.Logf("%s ×%d, auto-pipeline %v: %d INCRs meant, %d requests (%d retries); final: %d acknowledged, %d not_sent (absent), %d unknown of which %d ran (%v); %v",
		fault, nFaults, autoPipeline, workers*ops, requests, retries, acked, notSent, unknown, ranUnknown, ranBy, kinds)
}

// idemIncr INCRs key with an Idempotency-Key, retrying every failure
// until the answer is final: a 200, a replayed answer (the key's first
// response), IDEMPOTENCY_REPLY_LOST or IDEMPOTENCY_UNKNOWN, or an answer
// that is neither retryable nor replayed.
func idemIncr(ctx context.Context, hc *http.Client, base, key string) attempt {
	a := attempt{key: key}
	body, _ := json.Marshal(map[string]any{"command": []string{"INCR", key}})
	for {
		a.tries++
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/db/0/command", bytes.NewReader(body))
		if err != nil {
			a.final = outcome{err: err}
			return a
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		o := outcome{}
		res, err := hc.Do(req)
		if err != nil {
			o.err = err
		} else {
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			o.status, o.retryAfter, o.dur = res.StatusCode, res.Header.Get("Retry-After"), time.Since(start)
			var rep struct {
				Result any `json:"result"`
			}
			if o.status == http.StatusOK {
				if json.Unmarshal(data, &rep) != nil || rep.Result != float64(1) {
					o.crossed, o.detail = true, fmt.Sprintf("INCR %s answered %s", key, data)
				}
			} else {
				var p Problem
				_ = json.Unmarshal(data, &p)
				o.code, o.sent = p.Code, p.Outcome
			}
			if o.status == http.StatusOK || res.Header.Get("Idempotent-Replayed") == "true" || o.code == CodeIdempotencyUnknown || o.code == CodeIdempotencyReplyLost {
				a.final = o
				return a
			}
		}
		a.final = o
		if a.tries > 300 || ctx.Err() != nil {
			return a
		}
		if o.err == nil && o.sent == "" {
			return a // neither retryable nor replayed: final as it is
		}
		time.Sleep(10 * time.Millisecond) // the client's own backoff
	}
}

// TestReliabilityRecovery: an auto-pipelined database under HTTP load and
// an SSE subscriber, Redis stopped for a second and restarted on its
// port. While it is down, a listener on the port counts connection
// attempts (accepted and closed at once, so every handshake fails): the
// shared dial backoff must keep them far below the request rate. After
// the restart, the first 200 on the auto-pipelined path and the
// subscriber's reconnected event must come soon after Redis answers PING
// (asserted within a generous 250 ms; the figures are logged), and a
// publisher counts the messages that reached nobody meanwhile.
func TestReliabilityRecovery(t *testing.T) {
	leakCheck(t, "scenario", func(t *testing.T) {
		rs := redistest.Start(t)
		db := newTestDBWith(t, "0", rs.URL(0), func(c *client.Config) { c.AutoPipeline = true })
		base := newHTTPServer(t, NewServer(nil, Config{CommandTimeout: time.Second}, []*Database{db}, nil))
		hc := loadClient(t)
		sse := openSSE(t, base, "/db/0/channels/alerts/events")
		waitFor(t, func() bool { return numsub(t, rs, "alerts") == 1 })
		if o := echoOp(t.Context(), hc, base, "0", "warm"); o.status != http.StatusOK {
			t.Fatalf("warm-up: %s", o.kind())
		}

		rs.Stop()
		ln, err := net.Listen("tcp", rs.Addr())
		if err != nil {
			t.Fatalf("listen on the stopped Redis's port: %v", err)
		}
		var dials atomic.Int64
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				dials.Add(1)
				c.Close()
			}
		}()
		ctx, cancel := context.WithCancel(t.Context())
		var firstOK atomic.Int64 // unix ns of the first 200 after the restart
		var restarted atomic.Bool
		var wg sync.WaitGroup
		requests := atomic.Int64{}
		for w := range 8 {
			wg.Go(func() {
				for seq := 0; ctx.Err() == nil; seq++ {
					o := echoOp(ctx, hc, base, "0", fmt.Sprintf("r%d-%d", w, seq))
					requests.Add(1)
					if o.status == http.StatusOK && restarted.Load() {
						firstOK.CompareAndSwap(0, time.Now().UnixNano())
					}
					if o.crossed {
						t.Errorf("crossed reply: %s", o.detail)
					}
					time.Sleep(time.Millisecond) // paces a worker: ~1000 requests/s each at most
				}
			})
		}
		time.Sleep(time.Second) // the outage
		downRequests, downDials := requests.Load(), dials.Load()
		ln.Close()
		restarted.Store(true)
		rs.Restart() // returns once Redis answers PING
		up := time.Now()
		// a publisher on Redis itself counts who hears, every 2 ms
		lost := 0
		var resubscribed time.Duration
		for deadline := up.Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if v := rs.Do(t, "PUBLISH", "alerts", "p"); v.Int > 0 {
				resubscribed = time.Since(up)
				break
			}
			lost++
			if time.Now().After(deadline) {
				t.Fatal("the subscriber was never resubscribed")
			}
		}
		sse.next(t, "reconnected")
		for firstOK.Load() == 0 && time.Since(up) < 5*time.Second {
			time.Sleep(time.Millisecond)
		}
		cancel()
		wg.Wait()
		if firstOK.Load() == 0 {
			t.Fatal("the auto-pipelined path never served again")
		}
		served := max(time.Unix(0, firstOK.Load()).Sub(up), 0)
		t.Logf("down 1s: %d requests, %d connection attempts; after Redis answered PING: first 200 after %v, resubscribed after %v (%d publishes heard by nobody)",
			downRequests, downDials, served.Round(100*time.Microsecond), resubscribed.Round(100*time.Microsecond), lost)
		if served > 250*time.Millisecond || resubscribed > 250*time.Millisecond {
			t.Errorf("first 200 %v and resubscription %v after Redis answered PING, want both within about 50ms (bound 250ms)", served, resubscribed)
		}
		// 2 shared connections and the subscription, each at most one
		// dial per 40 ms once the backoff is at its bound: ~75 a second
		if downDials > 150 {
			t.Errorf("%d connection attempts in a 1s outage under %d requests: a dial storm", downDials, downRequests)
		}
	})
}

// TestReliabilityPausedPoolExhausted (docs/reliability.md, scenario 2b):
// more clients than connections while Redis is paused. The requests
// holding a connection end with 504 TIMEOUT after the command timeout; the
// others wait for a connection, and which bound ends the wait first
// decides their answer: pool_timeout (503 POOL_TIMEOUT) or the command
// timeout (503 UPSTREAM_UNAVAILABLE, nothing sent). Every request ends
// within the larger of the two (asserted with a 1 s margin); the counts and
// the slowest answer of each kind are logged for the table.
func TestReliabilityPausedPoolExhausted(t *testing.T) {
	for _, tc := range []struct {
		name              string
		poolTimeout, cmdT time.Duration
	}{
		{"pool timeout 200ms < command timeout 500ms", 200 * time.Millisecond, 500 * time.Millisecond},
		{"pool timeout 2s > command timeout 300ms", 2 * time.Second, 300 * time.Millisecond},
	} {
		leakCheck(t, tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			db := newTestDBWith(t, "0", rs.URL(0), func(c *client.Config) {
				c.AutoPipeline = false
				c.Pool.PoolSize = 4
				c.Pool.PoolTimeout = tc.poolTimeout
			})
			base := newHTTPServer(t, NewServer(nil, Config{CommandTimeout: tc.cmdT}, []*Database{db}, nil))
			hc := loadClient(t)
			const workers = 16
			op := func(ctx context.Context, w, seq int) outcome {
				return echoOp(ctx, hc, base, "0", fmt.Sprintf("e%d-%d", w, seq))
			}
			phase(t, 200*time.Millisecond, workers, op).only(t, "before the pause", "200")
			rs.Pause()
			paused := phase(t, 1200*time.Millisecond, workers, op)
			rs.Resume()
			paused.only(t, "while paused", "504 TIMEOUT", "503 POOL_TIMEOUT", "503 UPSTREAM_UNAVAILABLE")
			if m, bound := paused.max(), max(tc.poolTimeout, tc.cmdT)+time.Second; m > bound {
				t.Errorf("slowest request while paused %v, want within %v", m, bound)
			}
			t.Logf("paused 1.2s, pool 4, %d clients: %s; slowest 504 %v, POOL_TIMEOUT %v, UPSTREAM_UNAVAILABLE %v",
				workers, paused, paused.maxOf("504 TIMEOUT").Round(time.Millisecond), paused.maxOf("503 POOL_TIMEOUT").Round(time.Millisecond), paused.maxOf("503 UPSTREAM_UNAVAILABLE").Round(time.Millisecond))
			phase(t, 300*time.Millisecond, workers, op).only(t, "after SIGCONT", "200")
		})
	}
}
