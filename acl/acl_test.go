package acl

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

var matchCases = []struct {
	pattern, s string
	want       bool
}{
	{"*", "", true},
	{"*", "anything", true},
	{"user:42:*", "user:42:name", true},
	{"user:42:*", "user:420", false},
	{"user:4?:x", "user:42:x", true},
	{"user:4?:x", "user:4:x", false},
	{"h[ae]llo", "hallo", true},
	{"h[ae]llo", "hillo", false},
	{"h[^e]llo", "hallo", true},
	{"h[^e]llo", "hello", false},
	{"h[a-c]llo", "hbllo", true},
	{"h[a-c]llo", "hdllo", false},
	{`a\*b`, "a*b", true},
	{`a\*b`, "axb", false},
	{"a**b", "ab", true},
	{"*:x:*", "a:x:b", true},
	{"*:x:*", "a:y:b", false},
	{"__keyspace@0__:*", "__keyspace@1__:k", false},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// TestMatchAgreesWithRedis asks a real Redis the same questions (KEYS
// uses the same glob matcher as ACL patterns and PSUBSCRIBE).
func TestMatchAgreesWithRedis(t *testing.T) {
	rs := redistest.Start(t)
	for _, c := range matchCases {
		rs.Do(t, "FLUSHALL")
		if c.s == "" {
			continue // no key to SET
		}
		rs.Do(t, "SET", c.s, "1")
		v := rs.Do(t, "KEYS", c.pattern)
		if got := len(v.Elems) == 1; got != c.want {
			t.Errorf("Redis KEYS %q with key %q: matched %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		allowed []string
		pattern string
		want    bool
	}{
		{nil, "anything*", true},
		{[]string{"user:42:*"}, "user:42:*", true},
		{[]string{"user:42:*"}, "user:*", false},
		{[]string{"user:42:*"}, "user:42:a*", false}, // Redis's rule: equal, not narrower
		{[]string{"*"}, "x*", true},
	} {
		if got := Covers(c.allowed, c.pattern); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.allowed, c.pattern, got, c.want)
		}
	}
}

func TestUserNames(t *testing.T) {
	r := Scope{}
	w := Scope{Write: true}
	p := Scope{Write: true, Keys: []string{"user:42:*"}}
	if r.UserName("gw-") == w.UserName("gw-") || w.UserName("gw-") == p.UserName("gw-") {
		t.Fatal("distinct scopes share a user")
	}
	if p.UserName("gw-") != (Scope{Write: true, Keys: []string{"user:42:*"}}).UserName("gw-") {
		t.Fatal("the same scope is named differently")
	}
	if !strings.HasPrefix(r.UserName("gw-"), "gw-read-") || !strings.HasPrefix(w.UserName("gw-"), "gw-write-") {
		t.Fatalf("names %s %s", r.UserName("gw-"), w.UserName("gw-"))
	}
	if Password("a", "u") == Password("b", "u") || Password("a", "u") != Password("a", "u") {
		t.Fatal("passwords must be derived from the secret and stable")
	}
}

// TestUsersSurviveRestartAndShare checks that a scope's backend keeps
// working after Redis lost its users (a restart without an ACL file), and
// that two Users (two gateway processes) share one user without locking
// each other out.
func TestUsersSurviveRestartAndShare(t *testing.T) {
	rs := redistest.Start(t)
	open := func(init [][]string) (client.Backend, error) {
		pc, _ := client.ParseURL(rs.URL(0))
		pc.InitCommands = init
		return client.New(client.Config{Pool: pc})
	}
	admin := func() client.Backend { b, _ := open(nil); t.Cleanup(func() { b.Close() }); return b }
	ctx := context.Background()
	s := Scope{Keys: []string{"mine:*"}}
	var backends []client.Backend
	for range 2 {
		u := New(Config{Admin: admin(), Open: open, Secret: "same"})
		t.Cleanup(func() { u.Close() })
		b, err := u.Backend(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		backends = append(backends, b)
	}
	for i, b := range backends {
		if _, err := b.DoRaw(ctx, "GET", "mine:x"); err != nil {
			t.Fatalf("gateway %d: read inside its patterns: %v", i, err)
		}
		if _, err := b.DoRaw(ctx, "GET", "other"); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Fatalf("gateway %d: read outside its patterns: %v, want NOPERM", i, err)
		}
	}
	rs.Restart()
	// the pooled connections died with the server; new ones re-create
	// the user first
	for attempt := 0; ; attempt++ {
		_, err := backends[0].DoRaw(ctx, "GET", "mine:x")
		if err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("after a restart: %v", err)
		}
	}
	if v := rs.Do(t, "ACL", "LIST"); !strings.Contains(v.String(), s.UserName("gw-")) {
		t.Fatalf("user not re-created: %s", v)
	}
}

// TestUsersReclaimLeastRecentlyUsed checks the bound on scope backends:
// the oldest is closed and its user deleted after the grace period.
func TestUsersReclaimLeastRecentlyUsed(t *testing.T) {
	rs := redistest.Start(t)
	open := func(init [][]string) (client.Backend, error) {
		pc, _ := client.ParseURL(rs.URL(0))
		pc.InitCommands = init
		return client.New(client.Config{Pool: pc})
	}
	admin, _ := open(nil)
	t.Cleanup(func() { admin.Close() })
	u := New(Config{Admin: admin, Open: open, MaxUsers: 2, Grace: time.Millisecond})
	t.Cleanup(func() { u.Close() })
	ctx := context.Background()
	scopes := []Scope{{Keys: []string{"a:*"}}, {Keys: []string{"b:*"}}, {Keys: []string{"c:*"}}}
	for i, s := range scopes {
		b, err := u.Backend(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.DoRaw(ctx, "PING"); err != nil {
			t.Fatalf("scope %d: %v", i, err)
		}
		if i == 1 {
			// touch the first again: the second becomes the oldest
			if _, err := u.Backend(ctx, scopes[0], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := u.Names(); len(got) != 2 || strings.Contains(strings.Join(got, " "), scopes[1].UserName("gw-")) {
		t.Fatalf("open scopes %v: want the first and third", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(rs.Do(t, "ACL", "LIST").String(), scopes[1].UserName("gw-")) {
		if time.Now().After(deadline) {
			t.Fatal("the reclaimed user was not deleted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := rs.Do(t, "ACL", "LIST").String(); !strings.Contains(v, scopes[0].UserName("gw-")) || !strings.Contains(v, scopes[2].UserName("gw-")) {
		t.Fatalf("users in use were deleted: %s", v)
	}
}

// TestUsersOpenWithoutTheLock checks that opening a new scope (a dial
// that may hang on a paused Redis) does not hold up scopes already open,
// and that concurrent first uses of one scope end with one backend.
func TestUsersOpenWithoutTheLock(t *testing.T) {
	rs := redistest.Start(t)
	gate := make(chan struct{})
	var opens sync.WaitGroup
	open := func(init [][]string) (client.Backend, error) {
		if len(init) > 0 && strings.Contains(strings.Join(init[0], " "), "slow:*") {
			<-gate
		}
		pc, _ := client.ParseURL(rs.URL(0))
		pc.InitCommands = init
		return client.New(client.Config{Pool: pc})
	}
	admin, _ := open(nil)
	t.Cleanup(func() { admin.Close() })
	u := New(Config{Admin: admin, Open: open})
	t.Cleanup(func() { u.Close() })
	ctx := context.Background()
	fast := NewScope(false, []string{"fast:*"}, nil)
	if _, err := u.Backend(ctx, fast, nil); err != nil {
		t.Fatal(err)
	}
	slow := NewScope(false, []string{"slow:*"}, nil)
	got := make(chan client.Backend, 4)
	for range 4 {
		opens.Add(1)
		go func() {
			defer opens.Done()
			b, err := u.Backend(ctx, slow, nil)
			if err != nil {
				t.Error(err)
			}
			got <- b
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := u.Backend(ctx, fast, nil); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an open scope waited for another scope's dial")
	}
	close(gate)
	opens.Wait()
	close(got)
	var first client.Backend
	for b := range got {
		if first == nil {
			first = b
		} else if b != first {
			t.Fatal("concurrent first uses of one scope got different backends")
		}
	}
	if n := len(u.Names()); n != 2 {
		t.Fatalf("%d scope backends open, want 2", n)
	}
}

// TestUsersRESP2 checks that a scope's RESP2 backend is a second pool as
// the same ACL user: Redis answers it in RESP2 (HGETALL a flat array), it
// is refused what the scope may not do, and both pools close with Users.
func TestUsersRESP2(t *testing.T) {
	rs := redistest.Start(t)
	opener := func(proto int) Opener {
		return func(init [][]string) (client.Backend, error) {
			pc, _ := client.ParseURL(rs.URL(0))
			pc.InitCommands = init
			pc.Protocol = proto
			return client.New(client.Config{Pool: pc})
		}
	}
	admin, _ := opener(3)(nil)
	t.Cleanup(func() { admin.Close() })
	ctx := context.Background()
	s := NewScope(true, []string{"mine:*"}, nil)
	if _, err := New(Config{Admin: admin, Open: opener(3)}).BackendRESP2(ctx, s, nil); err != ErrUnavailable {
		t.Fatalf("BackendRESP2 without OpenRESP2: %v, want ErrUnavailable", err)
	}
	u := New(Config{Admin: admin, Open: opener(3), OpenRESP2: opener(2)})
	b2, err := u.BackendRESP2(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	b3, err := u.Backend(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := u.BackendRESP2(ctx, s, nil); again != b2 {
		t.Fatal("a second BackendRESP2 opened another pool")
	}
	if _, err := b2.DoRaw(ctx, "HSET", "mine:h", "f", "v"); err != nil {
		t.Fatal(err)
	}
	v2, err := b2.DoRaw(ctx, "HGETALL", "mine:h")
	if err != nil || v2.Kind != resp.Array {
		t.Fatalf("HGETALL on RESP2: %v %v, want a flat array", v2, err)
	}
	if v3, err := b3.DoRaw(ctx, "HGETALL", "mine:h"); err != nil || v3.Kind == resp.Array {
		t.Fatalf("HGETALL on RESP3: %v %v, want a map", v3, err)
	}
	if _, err := b2.DoRaw(ctx, "GET", "other"); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("RESP2 read outside the patterns: %v, want NOPERM", err)
	}
	if got := u.Names(); len(got) != 1 {
		t.Fatalf("scopes %v: want one user for both protocols", got)
	}
	// a scope used only through RESP2 (the Upstash surface) counts too
	if _, err := u.BackendRESP2(ctx, NewScope(false, []string{"other:*"}, nil), nil); err != nil {
		t.Fatal(err)
	}
	if users, pools := u.Stats(); users != 2 || pools.TotalConns < 2 {
		t.Fatalf("Stats: %d users, %d connections; want 2 users and both open pools' connections", users, pools.TotalConns)
	}
	u.Close()
	if _, err := b2.DoRaw(ctx, "PING"); err == nil {
		t.Fatal("the RESP2 pool is still open after Close")
	}
}
