package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/redis-gateway/redis-gateway/client"
)

// intQuery reads an optional integer query parameter within [lo, hi].
func intQuery(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := queryOf(r).Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errValidation("a query parameter is not an integer", FieldError{Field: name, Message: "must be an integer"})
	}
	if n < lo || n > hi {
		return 0, errValidation("a query parameter is out of range", FieldError{Field: name, Message: "must be between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10)})
	}
	return n, nil
}

// keyParam reads {key} (unescaped once, base64-decoded under
// ?encoding=base64).
func keyParam(r *http.Request) (string, error) { return pathParam(r, "key") }

// numberArg turns a JSON number literal into a Redis argument and reports
// whether it is an integer (no '.', 'e' or 'E').
func numberArg(n Number) (string, bool) {
	s := string(n)
	return s, !strings.ContainsAny(s, ".eE")
}

// msArg formats milliseconds for PX/PEXPIRE.
func msArg(n int64) string { return strconv.FormatInt(n, 10) }

// asRedisError is errors.As for Redis error replies.
func asRedisError(err error, target **client.Error) bool {
	return err != nil && errors.As(err, target)
}

// plusInQuery undoes the one surprise of range bounds in a query string:
// an unescaped '+' (as in stop=+inf or end=+) arrives as a space, since
// form decoding reads '+' as space. No score, lex bound or stream ID
// starts with a space, so a leading space is read as the '+' the user
// typed.
func plusInQuery(v string) string {
	if strings.HasPrefix(v, " ") {
		return "+" + v[1:]
	}
	return v
}
