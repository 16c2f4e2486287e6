// Package tokens verifies and mints signed tokens (JWTs) for browser
// front ends: a backend that holds one configured token asks the gateway
// for a short-lived token with a narrower scope — databases, read or
// write, key and channel patterns — and hands it to a page.
//
// [Verifier.Verify] checks the signature (HS256 with a shared secret, or
// EdDSA/ES256/RS256 against a JWKS file of public keys), the audience, exp
// (required), nbf and the maximum lifetime, and returns the [Claims]; each
// failure is its own error so the client learns which. [Verifier.Mint]
// signs claims with the shared secret. [Narrower] decides whether a
// requested pattern list is within the caller's.
//
// JOSE is done by github.com/go-jose/go-jose/v4: maintained, used by
// Kubernetes and Vault, refuses "none" and unlisted algorithms, and keeps
// the key types apart so an RS256 public key cannot verify an HS256 token.
package tokens
