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
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
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
	switch {
	case errors.As(err, &mbe):
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
