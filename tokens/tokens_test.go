package tokens

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func sign(t *testing.T, key jose.SigningKey, c Claims) string {
	t.Helper()
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Algorithm: string(jose.EdDSA)}}})
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, set, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Config{HMACSecret: secret, JWKSFile: jwks, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := func() Claims {
		return Claims{Audience: jwt.Audience{"redis-gateway"}, Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), Databases: []string{"0"}, Level: "read"}
	}
	hs := jose.SigningKey{Algorithm: jose.HS256, Key: secret}
	ed := jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}}
	with := func(f func(*Claims)) Claims { c := good(); f(&c); return c }
	other := jose.SigningKey{Algorithm: jose.HS256, Key: []byte("another-secret-another-secret-xx")}
	minted, err := v.Mint(good(), time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		raw  string
		want error
	}{
		{"HS256", sign(t, hs, good()), nil},
		{"EdDSA from the key set", sign(t, ed, good()), nil},
		{"minted", minted, nil},
		{"expired", sign(t, hs, with(func(c *Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) })), ErrExpired},
		{"not yet valid", sign(t, hs, with(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })), ErrNotYetValid},
		{"other audience", sign(t, hs, with(func(c *Claims) { c.Audience = jwt.Audience{"someone-else"} })), ErrAudience},
		{"no audience", sign(t, hs, with(func(c *Claims) { c.Audience = nil })), ErrAudience},
		{"wrong secret", sign(t, other, good()), ErrSignature},
		{"no exp", sign(t, hs, with(func(c *Claims) { c.Expiry = nil })), ErrClaims},
		{"too long", sign(t, hs, with(func(c *Claims) { c.Expiry = jwt.NewNumericDate(now.Add(3 * time.Hour)) })), ErrLifetime},
		{"admin level", sign(t, hs, with(func(c *Claims) { c.Level = "admin" })), ErrClaims},
		{"no databases", sign(t, hs, with(func(c *Claims) { c.Databases = nil })), ErrClaims},
		{"garbage", "a.b.c", ErrMalformed},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJsdmwiOiJyZWFkIn0.", ErrMalformed},
	} {
		_, err := v.Verify(c.raw, now)
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := v.Mint(good(), 2*time.Hour, now); !errors.Is(err, ErrLifetime) {
		t.Errorf("minting past the maximum lifetime: %v", err)
	}
}

func TestNarrower(t *testing.T) {
	for _, c := range []struct {
		want, have []string
		ok         bool
	}{
		{nil, nil, true},
		{[]string{"a:*"}, nil, true},
		{nil, []string{"a:*"}, false}, // nothing means everything
		{[]string{"user:42:*"}, []string{"user:42:*"}, true},
		{[]string{"user:42:inbox:*"}, []string{"user:42:*"}, true},
		{[]string{"user:4*"}, []string{"user:42:*"}, false},
		{[]string{"user:*"}, []string{"user:42:*"}, false},
		{[]string{"x"}, []string{"user:[0-9]*"}, false},
	} {
		if got := Narrower(c.want, c.have); got != c.ok {
			t.Errorf("Narrower(%q, %q) = %v, want %v", c.want, c.have, got, c.ok)
		}
	}
}
