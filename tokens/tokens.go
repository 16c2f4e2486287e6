package tokens

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of [Verifier.Verify]; each is a distinct 401 for the client.
var (
	ErrMalformed   = errors.New("tokens: not a well-formed signed token")
	ErrSignature   = errors.New("tokens: the signature does not verify")
	ErrExpired     = errors.New("tokens: the token has expired")
	ErrNotYetValid = errors.New("tokens: the token is not valid yet")
	ErrAudience    = errors.New("tokens: the token is for another audience")
	ErrLifetime    = errors.New("tokens: the token lives longer than allowed")
	ErrClaims      = errors.New("tokens: the token's scope claims are invalid")
)

// Claims is what a signed token carries: the registered claims the
// gateway checks, and the same scope as a configured token.
type Claims struct {
	// Subject names the holder in logs ("sub"), e.g. the user id.
	Subject string `json:"sub,omitempty"`
	// Audience must contain the gateway's audience ("aud").
	Audience jwt.Audience `json:"aud,omitempty"`
	// Expiry is required ("exp").
	Expiry *jwt.NumericDate `json:"exp,omitempty"`
	// NotBefore is optional ("nbf").
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	// IssuedAt is set by [Signer.Mint] ("iat").
	IssuedAt *jwt.NumericDate `json:"iat,omitempty"`
	// ID is unique per minted token ("jti").
	ID string `json:"jti,omitempty"`
	// Databases lists database names, "*" for every one.
	Databases []string `json:"dbs"`
	// Level is "read" or "write" (signed tokens are never admin).
	Level string `json:"lvl"`
	// Keys and Channels are glob patterns, as on a configured token.
	Keys     []string `json:"keys,omitempty"`
	Channels []string `json:"chs,omitempty"`
	// RateLimit is requests per second, 0 for none.
	RateLimit float64 `json:"rl,omitempty"`
}

// Config configures a [Verifier]. HMACSecret or JWKSFile (or both) must be
// set.
type Config struct {
	// HMACSecret verifies (and, for minting, signs) HS256 tokens. At least
	// 32 bytes.
	HMACSecret []byte
	// JWKSFile is a JSON Web Key Set of public keys (EdDSA, ES256, RS256)
	// that tokens signed elsewhere are verified against; a token's "kid"
	// picks the key.
	JWKSFile string
	// Audience is this gateway's name, required in every token's "aud".
	// Default "redis-gateway".
	Audience string
	// MaxLifetime is the longest a token may live (exp - iat, or exp -
	// now when iat is absent). Default 1h.
	MaxLifetime time.Duration
	// Leeway tolerates clock skew on nbf (a token minted elsewhere a
	// moment ago); exp has none, so that requests and streams end at the
	// same instant. Default 5s.
	Leeway time.Duration
}

// Verifier checks signed tokens. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	keys []jose.JSONWebKey // JWKS keys
	algs []jose.SignatureAlgorithm
}

// NewVerifier validates cfg and loads the key set.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Audience == "" {
		cfg.Audience = "redis-gateway"
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = time.Hour
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 5 * time.Second
	}
	v := &Verifier{cfg: cfg}
	if len(cfg.HMACSecret) > 0 {
		if len(cfg.HMACSecret) < 32 {
			return nil, errors.New("tokens: the HMAC secret must be at least 32 bytes")
		}
		v.algs = append(v.algs, jose.HS256)
	}
	if cfg.JWKSFile != "" {
		b, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("tokens: read key set: %w", err)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("tokens: key set %s: %w", cfg.JWKSFile, err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				return nil, fmt.Errorf("tokens: key set %s: key %q is private; publish public keys only", cfg.JWKSFile, k.KeyID)
			}
			v.keys = append(v.keys, k)
		}
		v.algs = append(v.algs, jose.EdDSA, jose.ES256, jose.RS256)
	}
	if len(v.algs) == 0 {
		return nil, errors.New("tokens: set an HMAC secret or a JWKS file")
	}
	return v, nil
}

// Audience returns the audience tokens must carry.
func (v *Verifier) Audience() string { return v.cfg.Audience }

// MaxLifetime returns the longest lifetime a token may have.
func (v *Verifier) MaxLifetime() time.Duration { return v.cfg.MaxLifetime }

// Looks reports whether s has the shape of a compact JWS (three
// base64url parts), so that a configured opaque token is never parsed.
func Looks(s string) bool { return strings.Count(s, ".") == 2 && len(s) > 20 }

// Verify checks the token's signature, audience, lifetime and scope
// claims at time now and returns its claims, or one of the Err values.
func (v *Verifier) Verify(raw string, now time.Time) (Claims, error) {
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := v.claims(tok, &c); err != nil {
		return Claims{}, err
	}
	if c.Expiry == nil {
		return Claims{}, fmt.Errorf("%w: exp is required", ErrClaims)
	}
	exp := c.Expiry.Time()
	if !now.Before(exp) { // no leeway: streams end exactly at exp too
		return Claims{}, ErrExpired
	}
	if c.NotBefore != nil && now.Add(v.cfg.Leeway).Before(c.NotBefore.Time()) {
		return Claims{}, ErrNotYetValid
	}
	start := now
	if c.IssuedAt != nil && c.IssuedAt.Time().Before(now) {
		start = c.IssuedAt.Time()
	}
	if exp.Sub(start) > v.cfg.MaxLifetime+v.cfg.Leeway {
		return Claims{}, ErrLifetime
	}
	if !slices.Contains([]string(c.Audience), v.cfg.Audience) {
		return Claims{}, ErrAudience
	}
	if c.Level != "read" && c.Level != "write" {
		return Claims{}, fmt.Errorf("%w: lvl must be read or write", ErrClaims)
	}
	if len(c.Databases) == 0 {
		return Claims{}, fmt.Errorf("%w: dbs is required", ErrClaims)
	}
	return c, nil
}

// claims verifies tok against the configured keys into c.
func (v *Verifier) claims(tok *jwt.JSONWebToken, c *Claims) error {
	if len(tok.Headers) != 1 {
		return ErrMalformed
	}
	h := tok.Headers[0]
	if h.Algorithm == string(jose.HS256) {
		if len(v.cfg.HMACSecret) == 0 || tok.Claims(v.cfg.HMACSecret, c) != nil {
			return ErrSignature
		}
		return nil
	}
	for _, k := range v.keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if tok.Claims(k.Key, c) == nil {
			return nil
		}
	}
	return ErrSignature
}

// Mint signs claims with the HMAC secret, setting iat, jti and aud, and
// exp from ttl (at most the maximum lifetime).
func (v *Verifier) Mint(c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(v.cfg.HMACSecret) == 0 {
		return "", errors.New("tokens: minting needs an HMAC secret")
	}
	if ttl <= 0 || ttl > v.cfg.MaxLifetime {
		return "", fmt.Errorf("%w: ttl must be between 1s and %s", ErrLifetime, v.cfg.MaxLifetime)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: v.cfg.HMACSecret}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("tokens: signer: %w", err)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	c.ID = hex.EncodeToString(id[:])
	c.IssuedAt = jwt.NewNumericDate(now)
	c.Expiry = jwt.NewNumericDate(now.Add(ttl))
	c.Audience = jwt.Audience{v.cfg.Audience}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// Narrower reports whether the patterns want allow no more than have: no
// patterns in have allow everything; otherwise every wanted pattern must
// equal one of have's, or extend the literal prefix of one that ends in a
// single "*" (so "user:42:*" may narrow to "user:42:inbox:*").
func Narrower(want, have []string) bool {
	if len(have) == 0 {
		return true
	}
	if len(want) == 0 {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return h == w || prefixCovers(h, w) }) {
			return false
		}
	}
	return true
}

// prefixCovers reports whether pattern h, a literal prefix and one
// trailing "*", matches everything pattern w can.
func prefixCovers(h, w string) bool {
	prefix, ok := strings.CutSuffix(h, "*")
	if !ok || strings.ContainsAny(prefix, `*?[\`) {
		return false
	}
	return strings.HasPrefix(w, prefix)
}
