package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/idempotency"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// keyedSurface is a route that runs INCR n for a keyed request.
type keyedSurface struct {
	name, path string
	body       any
	cmds       [][]string // what the route runs, for the earlier attempt
	ok         func(r reply) bool
}

func keyedSurfaces(n string) []keyedSurface {
	incr := [][]string{{"INCR", n}}
	return []keyedSurface{
		{"REST /command", "/db/0/command", map[string]any{"command": []string{"INCR", n}}, incr,
			func(r reply) bool { return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"result":`) }},
		{"REST typed incr", "/db/0/strings/" + n + "/incr", incrBy1, [][]string{{"INCRBY", n, "1"}},
			func(r reply) bool { return r.Status == http.StatusOK }},
		{"REST /pipeline", "/db/0/pipeline", map[string]any{"commands": [][]string{{"INCR", n}}}, incr,
			func(r reply) bool { return r.Status == http.StatusOK }},
		{"REST /transaction", "/db/0/transaction", map[string]any{"commands": [][]string{{"INCR", n}}}, incr,
			func(r reply) bool { return r.Status == http.StatusOK }},
		{"Upstash command", "/upstash/0", []string{"INCR", n}, incr,
			func(r reply) bool { return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"result":1`) }},
		{"Upstash /pipeline", "/upstash/0/pipeline", [][]string{{"INCR", n}}, incr,
			func(r reply) bool { return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"result":1`) }},
		{"Upstash /multi-exec", "/upstash/0/multi-exec", [][]string{{"INCR", n}}, incr,
			func(r reply) bool { return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"result":1`) }},
	}
}

// earlierAttempt plays the first attempt of a keyed request on the route
// of s as a gateway would (the same record, fingerprint and run key):
// it takes the key fenced, runs the route's commands fenced when ran, and
// ends as end says.
func earlierAttempt(t *testing.T, g *gateway, store *idempotency.Store, s keyedSurface, key string, ran bool, end func(*idempotency.Attempt)) {
	t.Helper()
	raw, _ := json.Marshal(s.body)
	req, _ := http.NewRequest("POST", g.URL+s.path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	a, _, st, err := store.BeginFenced(t.Context(), identityOf(nil), key, idempotency.Fingerprint(req, raw), fenceScope(nil))
	if err != nil || st != idempotency.Started {
		t.Fatalf("%s: BeginFenced: %v %v", s.name, st, err)
	}
	if ran {
		ctx := client.WithFence(t.Context(), a.Fence())
		if _, err := g.DBs["0"].Client.Transaction(ctx, nil, s.cmds); err != nil {
			t.Fatalf("%s: the earlier attempt: %v", s.name, err)
		}
	}
	end(a)
}

// TestIdempotencyUncertainRetry: an earlier attempt whose reply never came
// (its record left uncertain) is followed by a retry on every surface. If
// it ran, the retry is told so (409 IDEMPOTENCY_REPLY_LOST, outcome ran),
// and that answer is replayed from then on; if not, the retry runs it. The
// counter is 1 either way.
func TestIdempotencyUncertainRetry(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	store := idempotency.New(idempotency.Config{Backend: g.DBs["0"].Client})
	for _, ran := range []bool{true, false} {
		for i := range keyedSurfaces("") {
			s := keyedSurfaces(fmt.Sprintf("n:%v:%d", ran, i))[i] // a counter of its own
			key := idemValue(t, s.cmds[0][1])
			earlierAttempt(t, g, store, s, key, ran, func(a *idempotency.Attempt) {
				if err := a.Uncertain(t.Context()); err != nil {
					t.Fatal(err)
				}
			})
			hdr := idempotency.Header + `: "` + key + `"`
			r := g.do(t, "POST", s.path, s.body, hdr)
			if ran {
				if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "ran exactly once") || !strings.Contains(string(r.Body), `"ran"`) {
					t.Errorf("%s, earlier attempt ran: retry %d %s; want 409 IDEMPOTENCY_REPLY_LOST with outcome ran", s.name, r.Status, r.Body)
				}
				again := g.do(t, "POST", s.path, s.body, hdr)
				if again.Status != r.Status || string(again.Body) != string(r.Body) || again.Header.Get(idempotency.ReplayedHeader) != "true" {
					t.Errorf("%s: the next retry %d %s; want the reply-lost answer replayed", s.name, again.Status, again.Body)
				}
			} else if !s.ok(r) || r.Header.Get(idempotency.ReplayedHeader) != "" {
				t.Errorf("%s, earlier attempt did not run: retry %d %s; want it run", s.name, r.Status, r.Body)
			}
			counter := s.cmds[0][1]
			if v := rs.Do(t, "GET", counter); string(v.Str) != "1" {
				t.Errorf("%s (earlier ran %v): %s = %q; want 1", s.name, ran, counter, v.Str)
			}
		}
	}
}

// TestIdempotencyInterruptedFenced: a gateway that stopped in the middle
// of a fenced attempt (no lease, no response) is recovered once the lease
// has lapsed: the retry learns from the run key whether it ran.
func TestIdempotencyInterruptedFenced(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	lease := 300 * time.Millisecond
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{IdempotencyLease: lease}})
	store := idempotency.New(idempotency.Config{Backend: g.DBs["0"].Client, Lease: lease})
	for _, ran := range []bool{true, false} {
		s := keyedSurfaces(map[bool]string{true: "crash:ran", false: "crash:not"}[ran])[0]
		key := idemValue(t, s.cmds[0][1])
		earlierAttempt(t, g, store, s, key, ran, func(a *idempotency.Attempt) { a.Abandon() })
		hdr := idempotency.Header + `: "` + key + `"`
		var r reply
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
			r = g.do(t, "POST", s.path, s.body, hdr)
			if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), CodeIdempotencyInFlight) {
				break
			}
		}
		switch {
		case ran && (r.Status != http.StatusConflict || r.Problem(t).Code != CodeIdempotencyReplyLost || r.Problem(t).Outcome != OutcomeRan):
			t.Errorf("after the lease, earlier attempt ran: %d %s; want 409 IDEMPOTENCY_REPLY_LOST", r.Status, r.Body)
		case !ran && !s.ok(r):
			t.Errorf("after the lease, earlier attempt did not run: %d %s; want it run", r.Status, r.Body)
		}
		if v := rs.Do(t, "GET", s.cmds[0][1]); string(v.Str) != "1" {
			t.Errorf("%s = %q; want 1", s.cmds[0][1], v.Str)
		}
	}
}

// TestIdempotencyScopedFence: a key-patterned write token's keyed write
// runs fenced on its ACL user, whose run key lies under its own scope's
// prefix; the token can touch neither another scope's run keys nor the
// records (checked over an admin connection).
func TestIdempotencyScopedFence(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: redTeamTokens}})
	r := g.do(t, "POST", "/db/0/strings/user:42:n/incr", incrBy1, "Authorization: Bearer user42", idemKey(t, "scoped"))
	if r.Status != http.StatusOK {
		t.Fatalf("scoped keyed write: %d %s", r.Status, r.Body)
	}
	r = g.do(t, "POST", "/db/0/strings/k/incr", incrBy1, "Authorization: Bearer admin", idemKey(t, "admin"))
	if r.Status != http.StatusOK {
		t.Fatalf("admin keyed write: %d %s", r.Status, r.Body)
	}
	store := g.DBs["0"].Client
	prefix := idempotency.New(idempotency.Config{Backend: store}).FencePrefix()
	runs := rs.Do(t, "KEYS", prefix+"*").Elems
	var own, admin string
	for _, k := range runs {
		switch name := string(k.Str); {
		case strings.HasPrefix(name, prefix+"gateway:"):
			admin = name
		default:
			own = name
		}
	}
	if own == "" || admin == "" || len(runs) != 2 {
		t.Fatalf("run keys %v; want the scope's and the admin's", runs)
	}
	if id := strings.TrimPrefix(own, prefix); strings.HasPrefix(id, "gateway:") || !strings.Contains(id, ":{") {
		t.Fatalf("the scope's run key %q is not under its own scope id", own)
	}
	adminVal := string(rs.Do(t, "GET", admin).Str)
	recs := idemRecordPattern(t, rs)
	for _, args := range [][]string{{"SET", admin, "forged"}, {"DEL", admin}, {"GET", admin}, {"SET", prefix + "gateway:{x}", "1"}, {"SET", recs[0], "x"}} {
		r := g.do(t, "POST", "/db/0/command", map[string]any{"command": args}, "Authorization: Bearer user42")
		wantCode(t, r, http.StatusForbidden, "NOPERM")
	}
	if got := string(rs.Do(t, "GET", admin).Str); got != adminVal {
		t.Errorf("the admin's run key changed to %q (was %q)", got, adminVal)
	}
	if rs.Do(t, "EXISTS", prefix+"gateway:{x}").Int != 0 {
		t.Error("the scope wrote a run key outside its own")
	}
	if v := rs.Do(t, "GET", "user:42:n"); string(v.Str) != "1" {
		t.Errorf("user:42:n = %q; want 1", v.Str)
	}
}

// TestIdempotencyUncertainAcrossGateways: an uncertain attempt is retried
// by many clients at once on two gateways sharing one Redis: one retry
// takes the key over, the others are told it is in flight, and the
// counter moves once; every later retry gets the one kept answer.
func TestIdempotencyUncertainAcrossGateways(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	gws := []*gateway{newGateway(t, gatewayOpts{redis: rs}), newGateway(t, gatewayOpts{redis: rs})}
	store := idempotency.New(idempotency.Config{Backend: gws[0].DBs["0"].Client})
	for _, ran := range []bool{true, false} {
		s := keyedSurfaces(fmt.Sprintf("two:%v", ran))[0]
		key := idemValue(t, s.cmds[0][1])
		earlierAttempt(t, gws[0], store, s, key, ran, func(a *idempotency.Attempt) {
			if err := a.Uncertain(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
		hdr := idempotency.Header + `: "` + key + `"`
		var mu sync.Mutex
		kinds := map[string]int{}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				r := gws[i%2].do(t, "POST", s.path, s.body, hdr)
				kind := fmt.Sprint(r.Status)
				if r.Status != http.StatusOK {
					kind += " " + r.Problem(t).Code
				}
				mu.Lock()
				kinds[kind]++
				mu.Unlock()
			})
		}
		wg.Wait()
		final := "200"
		if ran {
			final = "409 " + CodeIdempotencyReplyLost
		}
		if kinds[final] == 0 || kinds[final]+kinds["409 "+CodeIdempotencyInFlight] != 16 {
			t.Errorf("earlier ran %v: 16 concurrent retries on two gateways answered %v; want %s and in-flight only", ran, kinds, final)
		}
		for _, g := range gws {
			r := g.do(t, "POST", s.path, s.body, hdr)
			if r.Header.Get(idempotency.ReplayedHeader) != "true" || !strings.HasPrefix(final, fmt.Sprint(r.Status)) {
				t.Errorf("a later retry: %d %s; want %s replayed", r.Status, r.Body, final)
			}
		}
		if v := rs.Do(t, "GET", s.cmds[0][1]); string(v.Str) != "1" {
			t.Errorf("%s = %q; want 1", s.cmds[0][1], v.Str)
		}
	}
}
