package api

import (
	"net/http"
	"time"

	"github.com/redis-gateway/redis-gateway/tokens"
)

// MintRequest is the body of POST /tokens: the scope of the signed token
// to mint, which must be no wider than the caller's.
type MintRequest struct {
	// Subject names the holder (a user id); it appears in logs.
	Subject string `json:"subject,omitempty" validate:"max=200" example:"user-42"`
	// Databases the token may use; "*" only if the caller has it.
	Databases []string `json:"databases" validate:"required,min=1,dive,required" example:"0"`
	// Level is read or write, at most the caller's.
	Level string `json:"level" validate:"required,oneof=read write" example:"write"`
	// Keys are key patterns, within the caller's.
	Keys []string `json:"keys,omitempty" validate:"dive,required" example:"user:42:*"`
	// Channels are channel patterns, within the caller's.
	Channels []string `json:"channels,omitempty" validate:"dive,required" example:"user:42:*"`
	// TTLSeconds is the token's lifetime, at most the configured maximum.
	TTLSeconds int `json:"ttl_seconds" validate:"required,min=1" example:"900"`
	// RateLimit is requests per second (0: none, or the caller's limit).
	RateLimit float64 `json:"rate_limit,omitempty" validate:"gte=0" example:"10"`
}

// MintReply is the body of a successful POST /tokens.
type MintReply struct {
	// Token is the signed token (a JWT): send it as a bearer token, or as
	// ?_token= where headers cannot be set (EventSource, WebSocket).
	Token string `json:"token" example:"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.…"`
	// ExpiresAt is when it stops working (RFC 3339).
	ExpiresAt time.Time `json:"expires_at" example:"2026-12-01T12:15:00Z"`
}

// handleMint serves POST /tokens.
//
// @Summary      Mint a signed token
// @Description  Returns a short-lived signed token whose scope (databases, read or write, key and channel patterns, rate limit) is no wider than the caller's, for a backend to hand to a browser. Needs an admin token or one with `mint: true`, and signed tokens configured (404 otherwise). A wider scope than the caller's is refused (403 SCOPE_TOO_WIDE). Redis enforces the minted scope through an ACL user, as for configured tokens.
// @ID           mintToken
// @Tags         tokens
// @Accept       json
// @Produce      json
// @Param        body  body  MintRequest  true  "The scope to mint"
// @Success      201  {object}  MintReply
// @Failure      400  {object}  Problem
// @Failure      401  {object}  Problem
// @Failure      403  {object}  Problem
// @Failure      404  {object}  Problem
// @Security     BearerAuth
// @Router       /tokens [post]
func handleMint(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.auth.signed == nil {
			writeError(w, r, d.logger, errorf(http.StatusNotFound, CodeNotFound, "signed tokens are not configured (signed_tokens in the configuration)"))
			return
		}
		p := principalFrom(r)
		if p == nil || (p.tok.Level < LevelAdmin && !p.tok.Mint) {
			writeError(w, r, d.logger, errorf(http.StatusForbidden, CodeForbiddenCommand, "minting needs an admin token or one with mint: true"))
			return
		}
		req, err := decode[MintRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if err := narrower(p, req); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		rl := req.RateLimit
		if p.tok.RateLimit > 0 && (rl == 0 || rl > p.tok.RateLimit) {
			rl = p.tok.RateLimit
		}
		now := time.Now()
		ttl := time.Duration(req.TTLSeconds) * time.Second
		tok, err := d.auth.signed.Mint(tokens.Claims{
			Subject: req.Subject, Databases: req.Databases, Level: req.Level,
			Keys: req.Keys, Channels: req.Channels, RateLimit: rl,
		}, ttl, now)
		if err != nil {
			writeError(w, r, d.logger, errValidation(err.Error(), FieldError{Field: "ttl_seconds", Message: "must be at most " + d.auth.signed.MaxLifetime().String()}))
			return
		}
		respond(w, r, d.logger, http.StatusCreated, MintReply{Token: tok, ExpiresAt: now.Add(ttl).UTC().Truncate(time.Second)})
	}
}

// narrower refuses a mint request that reaches beyond the caller p.
func narrower(p *principal, req MintRequest) error {
	wide := func(what string) error {
		return errorf(http.StatusForbidden, CodeScopeTooWide, "the requested %s are wider than this token's", what)
	}
	for _, db := range req.Databases {
		if !p.all && (db == "*" || !p.dbs[db]) {
			return wide("databases")
		}
	}
	level, _ := ParseLevel(req.Level)
	if level > p.tok.Level {
		return wide("level")
	}
	if !tokens.Narrower(req.Keys, p.tok.Keys) {
		return wide("key patterns")
	}
	if !tokens.Narrower(req.Channels, p.tok.Channels) {
		return wide("channel patterns")
	}
	return nil
}
