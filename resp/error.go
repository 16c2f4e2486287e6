package resp

import (
	"errors"
	"strings"
)

// ErrProtocol is wrapped by every error a [Reader] returns for bytes that
// are not valid RESP. After it the stream is out of sync and the connection
// must be closed.
var ErrProtocol = errors.New("resp: protocol error")

// ErrLimit is wrapped by every error a [Reader] returns for a frame that
// exceeds its [Limits]. After it the stream is out of sync and the
// connection must be closed.
var ErrLimit = errors.New("resp: limit exceeded")

// Error is an error reply from Redis. Receiving one leaves the connection
// usable: it is the answer to a command, not a failure of the stream.
type Error struct {
	// Code is the error's first word when it is written in capitals, such
	// as "ERR", "WRONGTYPE", "NOSCRIPT", "MOVED" or "ASK"; otherwise "ERR".
	Code string
	// Msg is the whole error text as Redis sent it, code included.
	Msg string
}

// Error returns the error text as Redis sent it.
func (e *Error) Error() string { return e.Msg }

// ParseError builds an [*Error] from the text of an error reply. The code is
// the text's first word when that word looks like a Redis error code (a
// capital letter, then capitals, digits, '_' or '-'), and "ERR" otherwise,
// as for Lua errors and the empty text; an ACL refusal inside a script,
// which Redis sends as ERR, gets "NOPERM". ParseError never fails.
func ParseError(text string) *Error {
	code := text
	if i := strings.IndexByte(text, ' '); i >= 0 {
		code = text[:i]
	}
	if !isCode(code) {
		code = "ERR"
	}
	if code == "ERR" && aclRefusalInScript(text) {
		// Redis reports a script's or function's ACL refusal as ERR; it
		// is the same refusal as NOPERM, so callers can tell it by code
		code = "NOPERM"
	}
	return &Error{Code: code, Msg: text}
}

// aclRefusalInScript reports whether an ERR text is Redis refusing, by
// ACL, a command that a Lua script or function called ("The user
// executing the script can't run this command…", "…can't access at least
// one of the keys…"; "ACL failure in script" on older servers).
func aclRefusalInScript(text string) bool {
	return strings.Contains(text, "The user executing the script can't") ||
		strings.Contains(text, "ACL failure in script")
}

// isCode reports whether s looks like a Redis error code: a capital letter
// followed by capital letters, digits, '_' or '-'.
func isCode(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ErrInvalidValue is wrapped by the error [Writer.WriteValue] returns for a
// [Value] that has no valid wire form, such as a map with an odd number of
// elements or a simple string containing '\n'. Nothing is written, so the
// stream stays usable.
var ErrInvalidValue = errors.New("resp: invalid value")
