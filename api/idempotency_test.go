package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redis-gateway/redis-gateway/idempotency"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// incrBy1 is the body of a typed INCR.
var incrBy1 = map[string]any{"by": 1}

// idemNonces makes each test's keys its own, also across -count runs on
// the shared server (whose records outlive a test).
var idemNonces sync.Map // testing.TB → string

// idemValue is key k made unique to the test.
func idemValue(tb testing.TB, k string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	n, _ := idemNonces.LoadOrStore(tb, hex.EncodeToString(b))
	return k + "-" + n.(string)
}

// idemKey is the header that sends key k, made unique to the test.
func idemKey(tb testing.TB, k string) string {
	return idempotency.Header + `: "` + idemValue(tb, k) + `"`
}

// wantReplay fails unless got is a replay of first: same status and body,
// marked Idempotent-Replayed.
func wantReplay(tb testing.TB, first, got reply) {
	tb.Helper()
	if got.Status != first.Status || string(got.Body) != string(first.Body) || got.Header.Get(idempotency.ReplayedHeader) != "true" {
		tb.Fatalf("retry: got %d %s (replayed %q), want %d %s replayed", got.Status, got.Body, got.Header.Get(idempotency.ReplayedHeader), first.Status, first.Body)
	}
	if ct := got.Header.Get("Content-Type"); ct != first.Header.Get("Content-Type") {
		tb.Fatalf("retry Content-Type = %q, want %q", ct, first.Header.Get("Content-Type"))
	}
}

func wantCode(tb testing.TB, r reply, status int, code string) Problem {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	p := r.Problem(tb)
	if p.Code != code {
		tb.Fatalf("code = %s, want %s (%s)", p.Code, code, r.Body)
	}
	return p
}

func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	k := t.Name() + ":n"
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"typed incr", "POST", "/db/0/strings/" + k + "/incr", incrBy1},
		{"command", "POST", "/db/0/command", map[string]any{"command": []string{"INCR", k}}},
		{"pipeline", "POST", "/db/0/pipeline", map[string]any{"commands": [][]string{{"INCR", k}, {"GET", k}}}},
		{"transaction", "POST", "/db/0/transaction", map[string]any{"commands": [][]string{{"INCR", k}}}},
		{"upstash", "POST", "/upstash/0", []string{"INCR", k}},
		{"upstash pipeline", "POST", "/upstash/0/pipeline", [][]string{{"INCR", k}}},
		{"push", "POST", "/db/0/lists/" + t.Name() + ":l/push", map[string]any{"values": []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := g.Redis.Do(t, "GET", k)
			first := g.do(t, tc.method, tc.path, tc.body, idemKey(t, t.Name()))
			if first.Status != http.StatusOK || first.Header.Get(idempotency.ReplayedHeader) != "" {
				t.Fatalf("first: %d %s %v", first.Status, first.Body, first.Header)
			}
			after := g.Redis.Do(t, "GET", k)
			for range 3 {
				wantReplay(t, first, g.do(t, tc.method, tc.path, tc.body, idemKey(t, t.Name())))
			}
			if v := g.Redis.Do(t, "GET", k); string(v.Str) != string(after.Str) {
				t.Fatalf("counter after retries = %s, want %s (before %s): a retry ran again", v.Str, after.Str, before.Str)
			}
		})
	}
	// a new key runs again
	r := g.do(t, "POST", "/db/0/strings/"+k+"/incr", incrBy1, idemKey(t, "another"))
	if r.Status != http.StatusOK || r.Header.Get(idempotency.ReplayedHeader) != "" {
		t.Fatalf("new key: %d %s", r.Status, r.Body)
	}
}

func TestIdempotencyReplayAfterError(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	k := t.Name()
	g.Redis.Do(t, "SET", k, "not a number")
	body := map[string]any{"command": []string{"INCR", k}}
	first := g.do(t, "POST", "/db/0/command", body, idemKey(t, "e"))
	wantCode(t, first, http.StatusBadRequest, "ERR")
	g.Redis.Do(t, "SET", k, "5")
	wantReplay(t, first, g.do(t, "POST", "/db/0/command", body, idemKey(t, "e")))
	if v := g.Redis.Do(t, "GET", k); string(v.Str) != "5" {
		t.Fatalf("GET %s = %s, want 5: the retry of an answered error ran", k, v.Str)
	}

	// WRONGTYPE (409) on a typed route: stored too
	g.Redis.Do(t, "RPUSH", k+":list", "x")
	first = g.do(t, "POST", "/db/0/strings/"+k+":list/incr", incrBy1, idemKey(t, "wt"))
	wantCode(t, first, http.StatusConflict, "WRONGTYPE")
	g.Redis.Do(t, "DEL", k+":list")
	wantReplay(t, first, g.do(t, "POST", "/db/0/strings/"+k+":list/incr", incrBy1, idemKey(t, "wt")))
	if v := g.Redis.Do(t, "EXISTS", k+":list"); v.Int != 0 {
		t.Fatalf("the replayed INCR ran")
	}
}

func TestIdempotencyRefusalFreesTheKey(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{redis: redistest.Start(t)})
	k := t.Name()
	// a refused request ran nothing: the key stays free for the fixed one
	bad := g.do(t, "POST", "/db/0/command", `{"command":`, "Content-Type: application/json", idemKey(t, "fix"))
	wantCode(t, bad, http.StatusBadRequest, CodeValidation)
	ok := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCR", k}}, idemKey(t, "fix"))
	if ok.Status != http.StatusOK || ok.Header.Get(idempotency.ReplayedHeader) != "" {
		t.Fatalf("after a refusal: %d %s, want the request to run", ok.Status, ok.Body)
	}
	forbidden := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"SELECT", "1"}}, idemKey(t, "sel"))
	wantCode(t, forbidden, http.StatusForbidden, CodeForbiddenCommand)
	if recs := idemRecordPattern(t, g.Redis); len(recs) != 1 || recs[0] == "none" {
		t.Fatalf("records %v, want 1 (the refusals keep none)", recs)
	}
	bad = g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCR", k}}, idempotency.Header+": \""+strings.Repeat("k", 256)+"\"")
	wantCode(t, bad, http.StatusBadRequest, CodeValidation)
}

// idemRecordPattern lists the record keys in database 0 (not leases,
// run keys or fences).
func idemRecordPattern(tb testing.TB, rs *redistest.Server) []string {
	tb.Helper()
	v := rs.Do(tb, "KEYS", "gateway:idempotency:*")
	var keys []string
	for _, e := range v.Elems {
		if strings.HasSuffix(string(e.Str), "}") && !strings.HasPrefix(string(e.Str), "gateway:idempotency:run:") {
			keys = append(keys, string(e.Str))
		}
	}
	if len(keys) == 0 {
		keys = []string{"none"}
	}
	return keys
}

func TestIdempotencyKeyReused(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	k := t.Name()
	g.Redis.Do(t, "DEL", k)
	hk := idemKey(t, "r") // the subtests reuse the parent's key
	first := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCRBY", k, "2"}}, hk)
	if first.Status != http.StatusOK {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"other body", "POST", "/db/0/command", map[string]any{"command": []string{"INCRBY", k, "3"}}},
		{"other query", "POST", "/db/0/command?raw=true", map[string]any{"command": []string{"INCRBY", k, "2"}}},
		{"other database", "POST", "/db/1/command", map[string]any{"command": []string{"INCRBY", k, "2"}}},
		{"other route", "POST", "/db/0/strings/" + k + "/incr", incrBy1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := g.do(t, tc.method, tc.path, tc.body, hk)
			if tc.name == "other database" {
				// another database keeps its own records: the key is free there
				if r.Status != http.StatusOK {
					t.Fatalf("db 1: %d %s", r.Status, r.Body)
				}
				return
			}
			wantCode(t, r, http.StatusUnprocessableEntity, CodeIdempotencyKeyReused)
		})
	}
	if v := g.Redis.Do(t, "GET", k); string(v.Str) != "2" {
		t.Fatalf("GET %s = %s, want 2", k, v.Str)
	}
}

// waitBlocked waits until rs has a blocked client (the first request's
// BLPOP runs, so it holds its key).
func waitBlocked(tb testing.TB, rs *redistest.Server) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if v := rs.Do(tb, "INFO", "clients"); strings.Contains(string(v.Str), "blocked_clients:1") {
			return
		}
	}
	tb.Fatal("the first request never blocked")
}

func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{redis: redistest.Start(t)})
	k := t.Name()
	// a blocked BLPOP holds its key in flight
	body := map[string]any{"command": []string{"BLPOP", k + ":q", "10"}}
	firstc := make(chan reply, 1)
	go func() { firstc <- g.do(t, "POST", "/db/0/command", body, idemKey(t, "b")) }()
	waitBlocked(t, g.Redis)
	dup := g.do(t, "POST", "/db/0/command", body, idemKey(t, "b"))
	p := wantCode(t, dup, http.StatusConflict, CodeIdempotencyInFlight)
	if p.Outcome != OutcomeNotSent || dup.Header.Get("Retry-After") == "" {
		t.Fatalf("in-flight duplicate: outcome %q, Retry-After %q; want not_sent with Retry-After", p.Outcome, dup.Header.Get("Retry-After"))
	}
	g.Redis.Do(t, "RPUSH", k+":q", "v1", "v2")
	first := <-firstc
	if first.Status != http.StatusOK {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	wantReplay(t, first, g.do(t, "POST", "/db/0/command", body, idemKey(t, "b")))
	if v := g.Redis.Do(t, "LLEN", k+":q"); v.Int != 1 {
		t.Fatalf("LLEN = %d, want 1: one BLPOP ran", v.Int)
	}

	// many at once: exactly one runs
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := g.do(t, "POST", "/db/0/strings/"+k+":n/incr", incrBy1, idemKey(t, "many"))
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if v := g.Redis.Do(t, "GET", k+":n"); string(v.Str) != "1" {
		t.Fatalf("counter = %s after 16 concurrent duplicates (statuses %v), want 1", v.Str, statuses)
	}
	if statuses[http.StatusOK]+statuses[http.StatusConflict] != 16 {
		t.Fatalf("statuses %v, want only 200 (first or replay) and 409", statuses)
	}
}

// TestIdempotencyAcrossGateways: two gateways (separate clients and
// servers) on one Redis share the records, and a gateway restarted between
// the try and the retry replays what the first stored.
func TestIdempotencyAcrossGateways(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	a := newGateway(t, gatewayOpts{redis: rs})
	b := newGateway(t, gatewayOpts{redis: rs})
	first := a.do(t, "POST", "/db/0/strings/n/incr", incrBy1, idemKey(t, "x"))
	if first.Status != http.StatusOK {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	wantReplay(t, first, b.do(t, "POST", "/db/0/strings/n/incr", incrBy1, idemKey(t, "x")))

	// in flight on a, duplicate on b
	body := map[string]any{"command": []string{"BLPOP", "q", "10"}}
	done := make(chan reply, 1)
	go func() { done <- a.do(t, "POST", "/db/0/command", body, idemKey(t, "q")) }()
	waitBlocked(t, rs)
	dup := b.do(t, "POST", "/db/0/command", body, idemKey(t, "q"))
	wantCode(t, dup, http.StatusConflict, CodeIdempotencyInFlight)
	rs.Do(t, "RPUSH", "q", "v")
	wantReplay(t, <-done, b.do(t, "POST", "/db/0/command", body, idemKey(t, "q")))

	// restart: a new gateway (new clients, new process state) replays
	c := newGateway(t, gatewayOpts{redis: rs})
	wantReplay(t, first, c.do(t, "POST", "/db/0/strings/n/incr", incrBy1, idemKey(t, "x")))
	if v := rs.Do(t, "GET", "n"); string(v.Str) != "1" {
		t.Fatalf("n = %s, want 1", v.Str)
	}
}

// TestIdempotencyInterrupted: a gateway that stops between taking a key
// and storing the response leaves the key in flight until its lease lapses;
// then the retry is told the outcome is unknown, and nothing runs again.
func TestIdempotencyInterrupted(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	lease := 300 * time.Millisecond
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{IdempotencyLease: lease}})
	// the crashed gateway: it took the key as the HTTP layer would, ran
	// the command, and stopped
	path := "/db/0/strings/n/incr"
	req, _ := http.NewRequest("POST", g.URL+path, nil)
	req.Header.Set("Content-Type", "application/json")
	store := idempotency.New(idempotency.Config{Backend: g.DBs["0"].Client, Lease: lease})
	at, _, state, err := store.Begin(t.Context(), identityOf(nil), idemValue(t, "crash"), idempotency.Fingerprint(req, []byte(`{"by":1}`)))
	if err != nil || state != idempotency.Started {
		t.Fatalf("Begin: %v %v", state, err)
	}
	rs.Do(t, "INCR", "n")
	at.Abandon()

	r := g.do(t, "POST", path, incrBy1, idemKey(t, "crash"))
	wantCode(t, r, http.StatusConflict, CodeIdempotencyInFlight)
	var p Problem
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r = g.do(t, "POST", path, incrBy1, idemKey(t, "crash")); r.Status == http.StatusConflict {
			if p = r.Problem(t); p.Code == CodeIdempotencyUnknown {
				break
			}
		}
	}
	if p.Code != CodeIdempotencyUnknown || p.Outcome != OutcomeUnknown || r.Header.Get("Retry-After") != "" {
		t.Fatalf("after the lease: %d %s, want 409 IDEMPOTENCY_UNKNOWN, outcome unknown, no Retry-After", r.Status, r.Body)
	}
	if v := rs.Do(t, "GET", "n"); string(v.Str) != "1" {
		t.Fatalf("n = %s, want 1: the interrupted request ran again", v.Str)
	}
}

// TestIdempotencyRecordsAreOutOfReach: a key-patterned token's ACL user
// cannot read or write the records' prefix; a token with every key can
// touch the bytes but neither read a response from them nor forge one.
func TestIdempotencyRecordsAreOutOfReach(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens}})
	first := g.do(t, "POST", "/db/0/strings/user:42:n/incr", incrBy1, "Authorization: Bearer user42", idemKey(t, "k"))
	if first.Status != http.StatusOK {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	recs := idemRecordPattern(t, rs)
	if len(recs) != 1 || recs[0] == "none" {
		t.Fatalf("records %v, want one", recs)
	}
	rec := recs[0]
	for _, args := range [][]string{{"GET", rec}, {"SET", rec, "forged"}, {"DEL", rec}, {"GET", rec + ":lease"}} {
		r := g.do(t, "POST", "/db/0/command", map[string]any{"command": args}, "Authorization: Bearer user42")
		wantCode(t, r, http.StatusForbidden, "NOPERM")
	}
	// the unpatterned write token reads only sealed bytes
	r := g.do(t, "POST", "/db/0/command?encoding=base64", map[string]any{"command": []string{"GET", base64.StdEncoding.EncodeToString([]byte(rec))}}, "Authorization: Bearer write")
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "dmFsdWU") {
		t.Fatalf("GET record as write: %d %s", r.Status, r.Body)
	}
	if raw := rs.Do(t, "GET", rec); strings.Contains(string(raw.Str), `"value"`) || strings.Contains(string(raw.Str), "status") {
		t.Fatalf("the record is not sealed: %q", raw.Str)
	}
	// a forged record (a response of the attacker's choosing) does not open
	rs.Do(t, "SET", rec, `{"fp":"x","done":true,"response":{"status":200,"body":"e30="}}`)
	r = g.do(t, "POST", "/db/0/strings/user:42:n/incr", incrBy1, "Authorization: Bearer user42", idemKey(t, "k"))
	wantCode(t, r, http.StatusConflict, CodeIdempotencyUnknown)
	// a read token's requests keep no record (it may write nothing)
	before := len(idemRecordPattern(t, rs))
	for range 2 {
		r = g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"GET", "k"}}, "Authorization: Bearer read", idemKey(t, "read"))
		if r.Status != http.StatusOK || r.Header.Get(idempotency.ReplayedHeader) != "" {
			t.Fatalf("read token: %d %s replayed %q, want a plain 200", r.Status, r.Body, r.Header.Get(idempotency.ReplayedHeader))
		}
	}
	if after := len(idemRecordPattern(t, rs)); after != before {
		t.Fatalf("records %d → %d after a read token's requests", before, after)
	}
	// the same key under another token is another record
	r = g.do(t, "POST", "/db/0/strings/user:42:n/incr", incrBy1, "Authorization: Bearer admin", idemKey(t, "k"))
	if r.Status != http.StatusOK || r.Header.Get(idempotency.ReplayedHeader) != "" {
		t.Fatalf("other token, same key: %d %s, want it to run", r.Status, r.Body)
	}
	if v := rs.Do(t, "GET", "user:42:n"); string(v.Str) != "2" {
		t.Fatalf("user:42:n = %s, want 2", v.Str)
	}
}

// TestIdempotencyClientLeaves: a client that gives up on an idempotent
// request does not cut it short; the retry gets its real response.
func TestIdempotencyClientLeaves(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	k := t.Name()
	body := `{"command":["BLPOP","` + k + `","10"]}`
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/db/0/command", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(idempotency.Header, `"`+idemValue(t, "leave")+`"`)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request ended with %d before the push", resp.StatusCode)
	}
	g.Redis.Do(t, "RPUSH", k, "v")
	var r reply
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = g.do(t, "POST", "/db/0/command", body, "Content-Type: application/json", idemKey(t, "leave")); r.Status != http.StatusConflict {
			break
		}
	}
	if r.Status != http.StatusOK || r.Header.Get(idempotency.ReplayedHeader) != "true" || !strings.Contains(string(r.Body), `"v"`) {
		t.Fatalf("retry: %d %s (replayed %q), want the first request's reply", r.Status, r.Body, r.Header.Get(idempotency.ReplayedHeader))
	}
}

// TestOutcomeOnEverySurface: with Redis gone, a command's failure says
// not_sent on the Upstash surface ({"error","outcome"}, Retry-After) and in
// a WebSocket error frame (outcome, retry_after), as on the REST surface.
func TestOutcomeOnEverySurface(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(g.URL, "http", "ws", 1)+"/db/0/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	rs.Stop()

	r := g.do(t, "POST", "/upstash/0", []string{"INCR", "n"})
	var up struct {
		Error   string `json:"error"`
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(r.Body, &up); err != nil || r.Status != http.StatusServiceUnavailable || up.Outcome != OutcomeNotSent || up.Error == "" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("upstash: %d %s (Retry-After %q), want 503 with outcome not_sent and Retry-After", r.Status, r.Body, r.Header.Get("Retry-After"))
	}

	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"id":1,"type":"command","command":["INCR","n"]}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Type  string `json:"type"`
			Error struct {
				Status     int    `json:"status"`
				Code       string `json:"code"`
				Outcome    string `json:"outcome"`
				RetryAfter int    `json:"retry_after"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "error" {
			continue // reconnect notices of the hub
		}
		if f.Error.Status != http.StatusServiceUnavailable || f.Error.Outcome != OutcomeNotSent || f.Error.RetryAfter < 1 {
			t.Fatalf("websocket error frame %s, want status 503, outcome not_sent, retry_after", b)
		}
		break
	}
}

// TestIdempotencyKeyOnAStream: an Upstash subscription (a POST that
// streams) sent with an Idempotency-Key, even without Accept:
// text/event-stream, streams as it comes instead of being held for a
// record.
func TestIdempotencyKeyOnAStream(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/upstash/0/subscribe/"+t.Name(), strings.NewReader("[]"))
	req.Header.Set(idempotency.Header, `"`+idemValue(t, "sub")+`"`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "subscribe,"+t.Name()) {
			return
		}
	}
	t.Fatalf("the stream ended (%v) before the subscribe line", sc.Err())
}

func TestIdempotencyMetrics(t *testing.T) {
	t.Parallel()
	g, reg := metricsGateway(t, Config{})
	k := t.Name()
	body := map[string]any{"command": []string{"INCR", k}}
	g.do(t, "POST", "/db/0/command", body, idemKey(t, "m"))
	g.do(t, "POST", "/db/0/command", body, idemKey(t, "m"))
	g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCR", k + "x"}}, idemKey(t, "m"))
	g.do(t, "POST", "/db/0/command", `{"command":`, "Content-Type: application/json", idemKey(t, "bad"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "gateway_idempotency_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"ran": 1, "replayed": 1, "key_reused": 1, "released": 1}
	for r, n := range want {
		if got[r] != n {
			t.Errorf("result %q counted %v, want %v (all: %v)", r, got[r], n, got)
		}
	}
}

// TestIdempotencyFailuresAreSummarised: during an outage, requests with an
// Idempotency-Key log like the others: one line per code per interval at
// ERROR, then a count, not a line or two per request.
func TestIdempotencyFailuresAreSummarised(t *testing.T) {
	rs := redistest.Start(t)
	db := newTestDB(t, "0", rs.URL(0))
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := NewServer(logger, Config{}, []*Database{db}, nil)
	g := &gateway{URL: newHTTPServer(t, srv), Redis: rs}
	rs.Stop()
	const requests = 20
	for i := range requests {
		rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"INCR", "n"}}, idemKey(t, fmt.Sprint(i)))
		if p := wantCode(t, rep, http.StatusServiceUnavailable, CodeUpstreamUnavailable); p.Outcome != OutcomeNotSent {
			t.Fatalf("request %d: outcome %q, want not_sent", i, p.Outcome)
		}
	}
	srv.Close()
	out := buf.String()
	if n := strings.Count(out, "level=ERROR"); n > 3 {
		t.Errorf("%d ERROR lines for %d failed requests, want the first and a summary:\n%s", n, requests, out)
	}
	if !strings.Contains(out, `msg="request failures summarised" code=UPSTREAM_UNAVAILABLE`) {
		t.Errorf("no summary in:\n%s", out)
	}
}

// TestIdempotencyGraceAfterTheClientLeft: a request with a key outlives
// its client by one command timeout, not forever: a BLPOP … 0 whose client
// left is cut off (Redis has no blocked client afterwards), and its retry
// learns that it may have run.
func TestIdempotencyGraceAfterTheClientLeft(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{CommandTimeout: 300 * time.Millisecond}})
	body := `{"command":["BLPOP","q","0"]}`
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/db/0/command", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idempotency.Header, `"`+idemValue(t, "forever")+`"`)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	waitBlocked(t, rs)
	cancel()
	<-done
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(string(rs.Do(t, "INFO", "clients").Str), "blocked_clients:0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the BLPOP still blocks 5s after its client left")
		}
	}
	var r reply
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = g.do(t, "POST", "/db/0/command", body, "Content-Type: application/json", idemKey(t, "forever")); r.Status != http.StatusConflict || r.Problem(t).Code != CodeIdempotencyInFlight {
			break
		}
	}
	if p := wantCode(t, r, http.StatusConflict, CodeIdempotencyUnknown); p.Outcome != OutcomeUnknown {
		t.Fatalf("retry: outcome %q, want unknown", p.Outcome)
	}
}
