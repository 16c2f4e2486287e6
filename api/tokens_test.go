package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/tokens"
)

var testSigningSecret = []byte("test-signing-secret-of-32-bytes!")

func TestSignedTokens(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	v, err := tokens.NewVerifier(tokens.Config{HMACSecret: testSigningSecret, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Signed: v, Tokens: []Token{
		{Name: "backend", Secret: "backend", Databases: []string{"0", "1"}, Level: LevelWrite, Keys: []string{"user:*"}, Mint: true},
		{Name: "plain", Secret: "plain", Databases: []string{"0"}, Level: LevelWrite},
		{Name: "admin", Secret: "admin", Databases: []string{"*"}, Level: LevelAdmin},
	}}})
	mint := func(token string, body map[string]any) reply {
		return g.do(t, "POST", "/tokens", body, "Authorization: Bearer "+token)
	}
	// Narrowing: never wider than the caller.
	for _, c := range []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
	}{
		{"other database", "backend", map[string]any{"databases": []string{"2"}, "level": "read", "keys": []string{"user:42:*"}, "ttl_seconds": 60}, 403, CodeScopeTooWide},
		{"every database", "backend", map[string]any{"databases": []string{"*"}, "level": "read", "keys": []string{"user:42:*"}, "ttl_seconds": 60}, 403, CodeScopeTooWide},
		{"all keys", "backend", map[string]any{"databases": []string{"0"}, "level": "read", "ttl_seconds": 60}, 403, CodeScopeTooWide},
		{"wider keys", "backend", map[string]any{"databases": []string{"0"}, "level": "read", "keys": []string{"*"}, "ttl_seconds": 60}, 403, CodeScopeTooWide},
		{"too long", "backend", map[string]any{"databases": []string{"0"}, "level": "read", "keys": []string{"user:42:*"}, "ttl_seconds": 7200}, 400, CodeValidation},
		{"no mint right", "plain", map[string]any{"databases": []string{"0"}, "level": "read", "ttl_seconds": 60}, 403, CodeForbiddenCommand},
		{"admin level", "admin", map[string]any{"databases": []string{"0"}, "level": "admin", "ttl_seconds": 60}, 400, CodeValidation},
	} {
		rep := mint(c.token, c.body)
		if rep.Status != c.status || rep.Problem(t).Code != c.code {
			t.Errorf("%s: got %d %s, want %d %s", c.name, rep.Status, rep.Body, c.status, c.code)
		}
	}
	rep := mint("backend", map[string]any{"subject": "user-42", "databases": []string{"0"}, "level": "write", "keys": []string{"user:42:*"}, "ttl_seconds": 60})
	if rep.Status != 201 {
		t.Fatalf("mint: %d %s", rep.Status, rep.Body)
	}
	var m MintReply
	if err := json.Unmarshal(rep.Body, &m); err != nil || m.Token == "" || time.Until(m.ExpiresAt) > time.Minute+time.Second {
		t.Fatalf("mint reply %s: %v", rep.Body, err)
	}
	// The minted token is contained by Redis on every surface.
	user := "Authorization: Bearer " + m.Token
	if rep := g.do(t, "PUT", "/db/0/strings/user:42:name", map[string]any{"value": "ann"}, user); rep.Status != 200 {
		t.Fatalf("minted token, own key: %d %s", rep.Status, rep.Body)
	}
	for _, c := range []struct{ method, path string }{
		{"PUT", "/db/0/strings/user:7:name"},
		{"GET", "/db/1/strings/user:42:name"},
	} {
		if rep := g.do(t, c.method, c.path, map[string]any{"value": "x"}, user); rep.Status != 403 {
			t.Errorf("minted token %s %s: got %d %s, want 403", c.method, c.path, rep.Status, rep.Body)
		}
	}
	if rep := g.do(t, "POST", "/db/0/command", map[string]any{"command": []string{"EVAL", "return redis.call('SET','user:7:name','x')", "0"}}, user); rep.Status != 403 {
		t.Errorf("minted token's script outside its keys: got %d %s", rep.Status, rep.Body)
	}
	if rep := g.do(t, "POST", "/upstash/0", []string{"SET", "user:7:name", "x"}, user); !strings.Contains(string(rep.Body), "NOPERM") {
		t.Errorf("minted token via Upstash: got %d %s", rep.Status, rep.Body)
	}
	if v := rs.Do(t, "EXISTS", "user:7:name"); v.Int != 0 {
		t.Fatal("a refused write of the minted token landed")
	}
	if rep := g.do(t, "GET", "/db/0/strings/user:42:name?_token="+m.Token, nil); rep.Status != 200 {
		t.Errorf("minted token as ?_token=: %d %s", rep.Status, rep.Body)
	}

	// Every claim error has its own code.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: testSigningSecret}, nil)
	wrong, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a-different-secret-of-32-bytes!!")}, nil)
	now := time.Now()
	claims := func(f func(*tokens.Claims)) tokens.Claims {
		c := tokens.Claims{Audience: jwt.Audience{"redis-gateway"}, Expiry: jwt.NewNumericDate(now.Add(time.Minute)), Databases: []string{"0"}, Level: "read"}
		f(&c)
		return c
	}
	signed := func(s jose.Signer, c tokens.Claims) string {
		raw, err := jwt.Signed(s).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, c := range []struct {
		name, token, code string
	}{
		{"expired", signed(signer, claims(func(c *tokens.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour)) })), CodeTokenExpired},
		{"not yet valid", signed(signer, claims(func(c *tokens.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })), CodeTokenNotYetValid},
		{"wrong audience", signed(signer, claims(func(c *tokens.Claims) { c.Audience = jwt.Audience{"other"} })), CodeTokenAudience},
		{"wrong signature", signed(wrong, claims(func(*tokens.Claims) {})), CodeTokenSignature},
		{"too long", signed(signer, claims(func(c *tokens.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(48 * time.Hour)) })), CodeTokenInvalid},
		{"bad level", signed(signer, claims(func(c *tokens.Claims) { c.Level = "admin" })), CodeTokenInvalid},
	} {
		rep := g.do(t, "GET", "/db/0/dbsize", nil, "Authorization: Bearer "+c.token)
		if rep.Status != 401 || rep.Problem(t).Code != c.code || rep.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: got %d %s, want 401 %s", c.name, rep.Status, rep.Body, c.code)
		}
	}
}

func TestSignedTokenStreamsEndExpired(t *testing.T) {
	t.Parallel()
	v, err := tokens.NewVerifier(tokens.Config{HMACSecret: testSigningSecret})
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, gatewayOpts{cfg: Config{Signed: v, Tokens: []Token{{Name: "admin", Secret: "admin", Databases: []string{"*"}, Level: LevelAdmin}}}})
	rep := g.do(t, "POST", "/tokens", map[string]any{"databases": []string{"0"}, "level": "read", "ttl_seconds": 2}, "Authorization: Bearer admin")
	if rep.Status != 201 {
		t.Fatalf("mint: %d %s", rep.Status, rep.Body)
	}
	var m MintReply
	if err := json.Unmarshal(rep.Body, &m); err != nil {
		t.Fatal(err)
	}
	ch := "/db/0/channels/" + t.Name() + "/events?_token=" + m.Token
	sub := openSSE(t, g.URL, ch)
	tail := openSSE(t, g.URL, "/db/0/streams/"+t.Name()+"/events?_token="+m.Token)
	for _, s := range []*sseStream{sub, tail} {
		s.next(t, "expired")
		if at := time.Now(); at.Before(m.ExpiresAt.Add(-time.Second)) {
			t.Fatalf("expired at %s, before the token's exp %s", at, m.ExpiresAt)
		}
	}
	if rep := g.do(t, "GET", "/db/0/dbsize?_token="+m.Token, nil); rep.Status != 401 || rep.Problem(t).Code != CodeTokenExpired {
		t.Fatalf("after expiry: got %d %s, want 401 TOKEN_EXPIRED", rep.Status, rep.Body)
	}
}
