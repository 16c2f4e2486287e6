package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// StringValue is the body of GET /db/{db}/strings/{key}.
type StringValue struct {
	// Value is the string (base64 with ?encoding=base64).
	Value string `json:"value" example:"hello"`
}

// SetStringRequest is the JSON body of PUT /db/{db}/strings/{key}.
type SetStringRequest struct {
	// Value to store (base64 with ?encoding=base64).
	Value *string `json:"value" validate:"required" example:"hello"`
	// TTLMs sets an expiry in milliseconds (PX).
	TTLMs *int64 `json:"ttl_ms,omitempty" validate:"omitempty,min=1,excluded_with=KeepTTL" example:"60000"`
	// NX only sets the key if it does not exist.
	NX bool `json:"nx,omitempty" validate:"excluded_with=XX"`
	// XX only sets the key if it exists.
	XX bool `json:"xx,omitempty"`
	// KeepTTL keeps the key's current expiry.
	KeepTTL bool `json:"keepttl,omitempty"`
	// Get returns the previous value as "old".
	Get bool `json:"get,omitempty"`
}

// SetStringReply is the body of a successful PUT /db/{db}/strings/{key}.
type SetStringReply struct {
	// Set is false when nx/xx prevented the write.
	Set bool `json:"set" example:"true"`
	// Old is the previous value (null if none), present with get.
	Old *string `json:"old,omitempty"`
}

// IncrRequest is the body of the incr routes.
type IncrRequest struct {
	// By is the increment: an integer literal uses INCRBY/HINCRBY, a
	// literal with a fraction or exponent (1.5, 1e3) the FLOAT variant.
	By json.Number `json:"by" validate:"required" swaggertype:"number" example:"1"`
}

// NumberValue is the body of incr replies.
type NumberValue struct {
	// Value after the increment.
	Value float64 `json:"value" example:"11"`
}

// StringsValues is the body of GET /db/{db}/strings (MGET).
type StringsValues struct {
	// Values holds one value per requested key, null where absent.
	Values []*string `json:"values"`
}

// StringEntry is a key and value for MSET.
type StringEntry struct {
	Key   string  `json:"key" validate:"required" example:"a"`
	Value *string `json:"value" validate:"required" example:"1"`
}

// SetStringsRequest is the body of PUT /db/{db}/strings (MSET).
type SetStringsRequest struct {
	// Entries to set.
	Entries []StringEntry `json:"entries" validate:"required,min=1,max=10000,dive"`
	// NX sets nothing unless no key exists (MSETNX).
	NX bool `json:"nx,omitempty"`
}

// SetFlag is the body of boolean write replies such as MSET.
type SetFlag struct {
	Set bool `json:"set" example:"true"`
}

// handleStringGet serves GET /db/{db}/strings/{key}.
//
// @Summary      Get a string
// @Description  GET. With `Accept: application/octet-stream` the raw bytes are returned as they are. 404 NOT_FOUND when the key does not exist; 422 NOT_UTF8 when the value is not text (ask for ?encoding=base64 or octet-stream). Supports ETag / If-None-Match and HEAD.
// @ID           getString
// @Tags         strings
// @Produce      json
// @Produce      octet-stream
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        key       path   string  true   "Key (escape / as %2F)"  example(greeting)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  StringValue
// @Success      304  "Not modified"
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/strings/{key} [get]
func handleStringGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "GET", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if v == nil {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		if wantsOctets(r) {
			b, _ := v.([]byte)
			writeOctets(w, r, d, b)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"value":`, v)
	}
}

// wantsOctets reports an Accept header that prefers raw bytes.
func wantsOctets(r *http.Request) bool {
	return r.Header.Get("Accept") == "application/octet-stream"
}

// writeOctets sends raw bytes with an ETag.
func writeOctets(w http.ResponseWriter, r *http.Request, d *deps, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	tag := etag(b)
	h.Set("ETag", tag)
	if ifNoneMatch(r, tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := w.Write(b); err != nil {
			d.logger.Debug("write response", "req_id", RequestID(r.Context()), "err", err)
		}
	}
}

// handleStringPut serves PUT /db/{db}/strings/{key}.
//
// @Summary      Set a string
// @Description  SET with options. JSON body, or the raw value with `Content-Type: application/octet-stream` (options then come from the query: ttl_ms, nx, xx, keepttl, get). `set` is false when nx/xx prevented the write.
// @ID           setString
// @Tags         strings
// @Accept       json
// @Accept       octet-stream
// @Produce      json
// @Param        db        path   string            true   "Database name"  example(0)
// @Param        key       path   string            true   "Key"  example(greeting)
// @Param        encoding  query  string            false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        ttl_ms    query  integer           false  "Expiry in ms (octet-stream bodies)"
// @Param        nx        query  bool              false  "Only if absent (octet-stream bodies)"
// @Param        xx        query  bool              false  "Only if present (octet-stream bodies)"
// @Param        keepttl   query  bool              false  "Keep the expiry (octet-stream bodies)"
// @Param        get       query  bool              false  "Return the old value (octet-stream bodies)"
// @Param        body      body   SetStringRequest  true   "Value and options"
// @Success      200  {object}  SetStringReply
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      413  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/strings/{key} [put]
func handleStringPut(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := setStringRequest(r, d)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args := []string{"SET", key, *req.Value}
		if req.TTLMs != nil {
			args = append(args, "PX", msArg(*req.TTLMs))
		}
		if req.NX {
			args = append(args, "NX")
		}
		if req.XX {
			args = append(args, "XX")
		}
		if req.KeepTTL {
			args = append(args, "KEEPTTL")
		}
		if req.Get {
			args = append(args, "GET")
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if req.Get {
			// With GET, Redis answers the old value whether or not it
			// set: NX sets only when there was none, XX only when there
			// was one.
			set := true
			switch {
			case req.NX:
				set = v == nil
			case req.XX:
				set = v != nil
			}
			respond(w, r, d.logger, http.StatusOK, client.Map{{Key: "set", Value: set}, {Key: "old", Value: v}})
			return
		}
		set, _ := v.(bool)
		respondField(w, r, d.logger, http.StatusOK, `{"set":`, set)
	}
}

// setStringRequest reads a JSON body or an octet-stream body with options
// in the query.
func setStringRequest(r *http.Request, d *deps) (SetStringRequest, error) {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, d.cfg.BodyLimit))
		if err != nil {
			return SetStringRequest{}, err
		}
		v := string(body)
		req := SetStringRequest{Value: &v}
		if queryOf(r).Get("ttl_ms") != "" {
			ttl, err := intQuery(r, "ttl_ms", 0, 1, 1<<62)
			if err != nil {
				return req, err
			}
			req.TTLMs = &ttl
		}
		for _, f := range []struct {
			name string
			dst  *bool
		}{{"nx", &req.NX}, {"xx", &req.XX}, {"keepttl", &req.KeepTTL}, {"get", &req.Get}} {
			if *f.dst, err = boolQuery(r, f.name); err != nil {
				return req, err
			}
		}
		return req, check(r.Context(), req)
	}
	req, err := decode[SetStringRequest](r, d.cfg.BodyLimit)
	if err != nil {
		return req, err
	}
	enc, _ := encodingOf(r)
	v, err := decodeArg(enc, "value", *req.Value)
	req.Value = &v
	return req, err
}

// handleStringIncr serves POST /db/{db}/strings/{key}/incr.
//
// @Summary      Increment a number
// @Description  INCRBY for an integer `by`, INCRBYFLOAT for a literal with a fraction or exponent. A missing key counts as 0.
// @ID           incrString
// @Tags         strings
// @Accept       json
// @Produce      json
// @Param        db    path  string       true  "Database name"  example(0)
// @Param        key   path  string       true  "Key"  example(counter)
// @Param        body  body  IncrRequest  true  "Increment"
// @Success      200  {object}  NumberValue
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/strings/{key}/incr [post]
func handleStringIncr(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[IncrRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		by, isInt := numberArg(req.By)
		cmd := "INCRBYFLOAT"
		if isInt {
			cmd = "INCRBY"
		}
		v, err := d.do(r, cmd, key, by)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"value":`, v)
	}
}

// handleStringsMGet serves GET /db/{db}/strings?key=a&key=b.
//
// @Summary      Get several strings
// @Description  MGET: one value per key, null where absent. Keys come from repeated `key` parameters (1 to 1000; base64 with ?encoding=base64).
// @ID           getStrings
// @Tags         strings
// @Produce      json
// @Param        db        path   string    true   "Database name"  example(0)
// @Param        key       query  []string  true   "Keys"  collectionFormat(multi)  example(a)
// @Param        encoding  query  string    false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  StringsValues
// @Failure      400  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/strings [get]
func handleStringsMGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys := queryOf(r)["key"]
		if len(keys) == 0 || len(keys) > 1000 {
			writeError(w, r, d.logger, errValidation("keys are required", FieldError{Field: "key", Message: "must be given 1 to 1000 times"}))
			return
		}
		enc, err := encodingOf(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args := make([]string, 0, len(keys)+1)
		args = append(args, "MGET")
		for _, k := range keys {
			k, err := decodeArg(enc, "key", k)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, k)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"values":`, v)
	}
}

// handleStringsMSet serves PUT /db/{db}/strings.
//
// @Summary      Set several strings
// @Description  MSET, or MSETNX with `nx` (then nothing is set if any key exists, and `set` is false).
// @ID           setStrings
// @Tags         strings
// @Accept       json
// @Produce      json
// @Param        db        path   string             true   "Database name"  example(0)
// @Param        encoding  query  string             false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   SetStringsRequest  true   "Entries"
// @Success      200  {object}  SetFlag
// @Failure      400  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/strings [put]
func handleStringsMSet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[SetStringsRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		cmd := "MSET"
		if req.NX {
			cmd = "MSETNX"
		}
		args := make([]string, 0, 1+2*len(req.Entries))
		args = append(args, cmd)
		for i, e := range req.Entries {
			k, err := decodeArg(enc, "entries["+strconv.Itoa(i)+"].key", e.Key)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			v, err := decodeArg(enc, "entries["+strconv.Itoa(i)+"].value", *e.Value)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, k, v)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"set":`, v)
	}
}
