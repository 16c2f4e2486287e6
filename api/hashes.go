package api

import (
	"net/http"

	"github.com/redis-gateway/redis-gateway/client"
)

// HashFields is the body of GET /db/{db}/hashes/{key}.
type HashFields struct {
	// Fields maps field names to values (both base64 with
	// ?encoding=base64).
	Fields map[string]string `json:"fields" example:"name:Ada,lang:en"`
}

// SetHashRequest is the body of PUT /db/{db}/hashes/{key}.
type SetHashRequest struct {
	// Fields to set; names and values are base64 with ?encoding=base64.
	Fields map[string]string `json:"fields" validate:"required,min=1,max=10000" example:"name:Ada"`
}

// AddedCount is the body of replies that count added elements.
type AddedCount struct {
	Added int64 `json:"added" example:"1"`
}

// SetFieldRequest is the body of PUT …/fields/{field}.
type SetFieldRequest struct {
	// Value to store (base64 with ?encoding=base64).
	Value *string `json:"value" validate:"required" example:"Ada"`
	// NX only sets the field if it does not exist (HSETNX).
	NX bool `json:"nx,omitempty"`
}

// Created is the body of a field write.
type Created struct {
	// Created is true when the field is new; with nx, false means nothing
	// was written.
	Created bool `json:"created" example:"true"`
}

// handleHashGet serves GET /db/{db}/hashes/{key}.
//
// @Summary      Get a hash
// @Description  HGETALL as an object (shaped by the database's HGETALL callback). 404 when the key does not exist.
// @ID           getHash
// @Tags         hashes
// @Produce      json
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        key       path   string  true   "Key"  example(user:1)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  HashFields
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key} [get]
func handleHashGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "HGETALL", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if isEmpty(v) {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"fields":`, v)
	}
}

// isEmpty reports a nil, empty Map or empty list reply (an absent key for
// collection types, which Redis never keeps empty).
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case client.Map:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// handleHashPut serves PUT /db/{db}/hashes/{key}.
//
// @Summary      Set hash fields
// @Description  HSET of every given field. `added` counts fields that did not exist.
// @ID           setHash
// @Tags         hashes
// @Accept       json
// @Produce      json
// @Param        db        path   string          true   "Database name"  example(0)
// @Param        key       path   string          true   "Key"  example(user:1)
// @Param        encoding  query  string          false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   SetHashRequest  true   "Fields"
// @Success      200  {object}  AddedCount
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key} [put]
func handleHashPut(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[SetHashRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		args := make([]string, 0, 2+2*len(req.Fields))
		args = append(args, "HSET", key)
		for f, v := range req.Fields {
			f, err := decodeArg(enc, "fields", f)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			v, err := decodeArg(enc, "fields."+f, v)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, f, v)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"added":`, v)
	}
}

// keyField reads {key} and {field}.
func keyField(r *http.Request) (string, string, error) {
	key, err := keyParam(r)
	if err != nil {
		return "", "", err
	}
	field, err := pathParam(r, "field")
	return key, field, err
}

// handleHashFieldGet serves GET /db/{db}/hashes/{key}/fields/{field}.
//
// @Summary      Get a hash field
// @Description  HGET. 404 when the key or the field does not exist.
// @ID           getHashField
// @Tags         hashes
// @Produce      json
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        key       path   string  true   "Key"  example(user:1)
// @Param        field     path   string  true   "Field"  example(name)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  StringValue
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key}/fields/{field} [get]
func handleHashFieldGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, field, err := keyField(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "HGET", key, field)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if v == nil {
			writeError(w, r, d.logger, errNotFound("field"))
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"value":`, v)
	}
}

// handleHashFieldPut serves PUT /db/{db}/hashes/{key}/fields/{field}.
//
// @Summary      Set a hash field
// @Description  HSET of one field, or HSETNX with `nx`.
// @ID           setHashField
// @Tags         hashes
// @Accept       json
// @Produce      json
// @Param        db        path   string           true   "Database name"  example(0)
// @Param        key       path   string           true   "Key"  example(user:1)
// @Param        field     path   string           true   "Field"  example(name)
// @Param        encoding  query  string           false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   SetFieldRequest  true   "Value"
// @Success      200  {object}  Created
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key}/fields/{field} [put]
func handleHashFieldPut(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, field, err := keyField(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[SetFieldRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		val, err := decodeArg(enc, "value", *req.Value)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmd := "HSET"
		if req.NX {
			cmd = "HSETNX"
		}
		v, err := d.do(r, cmd, key, field, val)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		created := v == true
		if n, ok := v.(int64); ok {
			created = n > 0
		}
		respondField(w, r, d.logger, http.StatusOK, `{"created":`, created)
	}
}

// handleHashFieldDelete serves DELETE /db/{db}/hashes/{key}/fields/{field}.
//
// @Summary      Delete a hash field
// @Description  HDEL. `deleted` is 0 when the field did not exist.
// @ID           deleteHashField
// @Tags         hashes
// @Produce      json
// @Param        db     path  string  true  "Database name"  example(0)
// @Param        key    path  string  true  "Key"  example(user:1)
// @Param        field  path  string  true  "Field"  example(name)
// @Success      200  {object}  DeletedCount
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key}/fields/{field} [delete]
func handleHashFieldDelete(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, field, err := keyField(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "HDEL", key, field)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"deleted":`, v)
	}
}

// handleHashFieldIncr serves POST /db/{db}/hashes/{key}/fields/{field}/incr.
//
// @Summary      Increment a hash field
// @Description  HINCRBY for an integer `by`, HINCRBYFLOAT for a literal with a fraction or exponent.
// @ID           incrHashField
// @Tags         hashes
// @Accept       json
// @Produce      json
// @Param        db     path  string       true  "Database name"  example(0)
// @Param        key    path  string       true  "Key"  example(user:1)
// @Param        field  path  string       true  "Field"  example(visits)
// @Param        body   body  IncrRequest  true  "Increment"
// @Success      200  {object}  NumberValue
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/hashes/{key}/fields/{field}/incr [post]
func handleHashFieldIncr(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, field, err := keyField(r)
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
		cmd := "HINCRBYFLOAT"
		if isInt {
			cmd = "HINCRBY"
		}
		v, err := d.do(r, cmd, key, field, by)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"value":`, v)
	}
}
