package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// validate is the one validator of the package (STYLE rule 11): safe for
// concurrent use, it caches struct metadata, and reports JSON field names.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			name, _, _ = strings.Cut(f.Tag.Get("query"), ",")
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return v
}

// validatorIface is implemented by request types with rules that tags cannot
// express; it returns problems keyed by JSON field name.
type validatorIface interface {
	Valid(ctx context.Context) map[string]string
}

// errBodyNotUTF8 refuses a JSON body holding bytes that are not UTF-8.
var errBodyNotUTF8 = &apiError{
	status: http.StatusUnprocessableEntity,
	code:   CodeNotUTF8,
	detail: "the request body holds bytes that are not valid UTF-8; send such values base64-encoded with ?encoding=base64",
}

// decode reads one JSON value from the body into a T: the body is limited
// to limit bytes (413 over it), unknown fields are refused, trailing data
// is refused, and the result is validated (tags, then Valid). Every
// failure is an *apiError with all failing fields listed.
func decode[T any](r *http.Request, limit int64) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) && !isCurlDefault(ct) {
		return v, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be application/json, not %s", ct)
	}
	// The body is read whole (it is bounded by limit) so that bytes that
	// are not UTF-8 are refused: encoding/json would silently store them
	// as U+FFFD, altering the value.
	body, err := readBody(r, limit)
	if err != nil {
		return v, jsonError(err)
	}
	if !utf8.Valid(body) {
		return v, errBodyNotUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return v, jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return v, err
		}
		return v, errValidation("the body must hold exactly one JSON value")
	}
	if err := check(r.Context(), v); err != nil {
		return v, err
	}
	return v, nil
}

// readBody reads the whole body, up to limit bytes (more is an
// *http.MaxBytesError). A declared Content-Length sizes the buffer once;
// io.ReadAll alone would grow it step by step to several times the body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	rd := http.MaxBytesReader(nil, r.Body, limit)
	n := r.ContentLength
	if n <= 0 || n > limit {
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, n+1) // +1: room to see EOF without growing
	for {
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case len(buf) == cap(buf): // longer than declared
			rest, err := io.ReadAll(rd)
			return append(buf, rest...), err
		}
	}
}

// check runs the validator tags and the optional Valid method on v.
func check(ctx context.Context, v any) error {
	var fields []FieldError
	if err := validate.Struct(v); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return errValidation(err.Error())
		}
		for _, fe := range verrs {
			fields = append(fields, FieldError{Field: fieldPath(fe), Message: message(fe)})
		}
	}
	if vv, ok := v.(validatorIface); ok {
		for f, msg := range vv.Valid(ctx) {
			fields = append(fields, FieldError{Field: f, Message: msg})
		}
	}
	if len(fields) > 0 {
		return errValidation("the request is not valid", fields...)
	}
	return nil
}

// fieldPath drops the struct name from the validator's namespace:
// "SetRequest.ttl_ms" → "ttl_ms", "Req.members[0].score" → "members[0].score".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

// message turns a validator failure into a sentence.
func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map || fe.Kind() == reflect.String {
			return "must have at least " + fe.Param() + " element(s)"
		}
		return "must be " + fe.Param() + " or greater"
	case "max":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map || fe.Kind() == reflect.String {
			return "must have at most " + fe.Param() + " element(s)"
		}
		return "must be " + fe.Param() + " or less"
	case "gte":
		return "must be " + fe.Param() + " or greater"
	case "lte":
		return "must be " + fe.Param() + " or less"
	case "gt":
		return "must be greater than " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "excluded_with":
		return "cannot be combined with " + fe.Param()
	case "required_with":
		return "is required with " + fe.Param()
	case "dive":
		return "has an invalid element"
	}
	return "fails the " + fe.Tag() + " rule"
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// isCurlDefault accepts the form type that `curl -d` sends by default: the
// body is still read as JSON, so curl users need no -H flag.
func isCurlDefault(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(mt)) == "application/x-www-form-urlencoded"
}

// jsonError explains a decoding failure.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ae *apiError
	switch {
	case errors.As(err, &mbe), errors.As(err, &ae):
		return err
	case errors.Is(err, io.EOF):
		return errValidation("the request body is empty; a JSON object is required")
	case errors.As(err, &se):
		return errValidation(fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errValidation("the body is not valid JSON (it ends early)")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return errValidation("a field has the wrong type", FieldError{Field: field, Message: "must be " + jsonKind(te.Type)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errValidation("the body has an unknown field", FieldError{Field: name, Message: "is not a known field"})
	}
	return errValidation("the body could not be decoded: " + err.Error())
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Float64, reflect.Float32:
		return "a number"
	}
	return t.String()
}

// decodeArg turns a request value into the bytes to send to Redis: as is
// with the default encoding, base64-decoded (standard or URL alphabet, with
// or without padding) with ?encoding=base64. field names the value in the
// error.
func decodeArg(enc Encoding, field, s string) (string, error) {
	if enc != EncodingBase64 {
		return s, nil
	}
	b, err := decodeBase64(s)
	if err != nil {
		return "", errValidation("a value is not valid base64", FieldError{Field: field, Message: "is not valid base64"})
	}
	return string(b), nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Args is a JSON array of strings, decoded in one pass with one copy of
// the array's text: each argument without escapes is a substring of that
// copy, so an argument costs its string header and no allocation of its
// own (encoding/json would allocate every string, and a []any or
// []json.RawMessage step would add more). Over maxArgs elements it stops
// with a 413 before building anything.
type Args []string

// UnmarshalJSON implements [json.Unmarshaler]. encoding/json has checked
// that b is one valid JSON value before calling it.
func (a *Args) UnmarshalJSON(b []byte) error {
	out, err := scanArgs(b, false)
	if err != nil {
		return err
	}
	*a = out
	return nil
}

// upstashArgList is the Upstash form of [Args]: strings as they are,
// numbers as their literal text, booleans as true/false, null as the empty
// string, objects and arrays as their JSON text.
type upstashArgList []string

// UnmarshalJSON implements [json.Unmarshaler].
func (a *upstashArgList) UnmarshalJSON(b []byte) error {
	out, err := scanArgs(b, true)
	if err != nil {
		return err
	}
	*a = out
	return nil
}

// errTooManyArgs refuses a request over maxArgs arguments.
var errTooManyArgs = &apiError{
	status: http.StatusRequestEntityTooLarge,
	code:   CodeBodyTooLarge,
	detail: "the request holds more than " + strconv.Itoa(maxArgs) + " command arguments (counted over all its commands)",
}

// scanArgs splits the valid JSON array b into its elements. With loose
// false every element must be a string; with loose true (Upstash) other
// values become their text, null the empty string.
func scanArgs(b []byte, loose bool) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		if string(b) == "null" {
			return nil, nil
		}
		return nil, &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeOf([]string(nil))}
	}
	// First pass: count and check the kinds, so that nothing is built for
	// a refused array and the result is allocated once at its size.
	n := 0
	for i := skipSpace(b, 1); i < len(b) && b[i] != ']'; {
		if n++; n > maxArgs {
			return nil, errTooManyArgs
		}
		if b[i] != '"' && b[i] != 'n' && !loose {
			return nil, &json.UnmarshalTypeError{Value: jsonValueKind(b[i:]), Type: reflect.TypeOf("")}
		}
		i = skipSpace(b, valueEnd(b, i))
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	s := string(b) // the one copy every argument points into
	out := make([]string, 0, n)
	for i := skipSpace(b, 1); i < len(b) && b[i] != ']'; {
		end := valueEnd(b, i)
		switch v := s[i:end]; {
		case v[0] == '"':
			arg := v[1 : len(v)-1]
			if strings.IndexByte(arg, '\\') >= 0 || !utf8.ValidString(arg) {
				// Escapes (and, in Upstash bodies, invalid UTF-8, which
				// encoding/json turns into U+FFFD) take the slow path.
				unescaped, err := unquote(b[i:end])
				if err != nil {
					return nil, err
				}
				arg = unescaped
			}
			out = append(out, arg)
		case v == "null":
			out = append(out, "")
		default:
			out = append(out, v)
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out, nil
}

// unquote decodes one JSON string literal. It is a function of its own so
// that only this slow path pays for the variable json.Unmarshal needs on
// the heap.
func unquote(lit []byte) (string, error) {
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the valid JSON value starting at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '[', '{':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = valueEnd(b, j) - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// jsonValueKind names the kind of the JSON value b starts with, as
// encoding/json's type errors do.
func jsonValueKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
