package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// KeyPage is the body of GET /db/{db}/keys.
type KeyPage struct {
	// Cursor to pass back for the next page; "0" when the scan is done.
	Cursor string `json:"cursor" example:"0"`
	// Keys in this page (a key may appear in more than one page).
	Keys []string `json:"keys" example:"user:1,user:2"`
}

// KeyMeta is the body of GET /db/{db}/keys/{key}.
type KeyMeta struct {
	Key string `json:"key" example:"user:1"`
	// Type is string, list, set, zset, hash or stream.
	Type string `json:"type" example:"hash"`
	// TTLMs is the remaining time to live in ms; null when the key does
	// not expire.
	TTLMs *int64 `json:"ttl_ms" example:"59000"`
}

// DeletedCount is the body of delete replies.
type DeletedCount struct {
	Deleted int64 `json:"deleted" example:"1"`
}

// TTLRequest is the body of PUT /db/{db}/keys/{key}/ttl: exactly one of
// ttl_ms and at_ms.
type TTLRequest struct {
	// TTLMs expires the key after this many milliseconds (PEXPIRE).
	TTLMs int64 `json:"ttl_ms,omitempty" validate:"omitempty,min=1" example:"60000"`
	// AtMs expires the key at this Unix time in ms (PEXPIREAT).
	AtMs int64 `json:"at_ms,omitempty" validate:"omitempty,min=1" example:"1767225600000"`
	// Condition restricts the change: nx (no expiry yet), xx (has one),
	// gt (later than now), lt (earlier).
	Condition string `json:"condition,omitempty" validate:"omitempty,oneof=nx xx gt lt" example:"gt"`
}

// Valid requires exactly one of ttl_ms and at_ms.
func (t TTLRequest) Valid(context.Context) map[string]string {
	switch {
	case t.TTLMs == 0 && t.AtMs == 0:
		return map[string]string{"ttl_ms": "one of ttl_ms and at_ms is required"}
	case t.TTLMs != 0 && t.AtMs != 0:
		return map[string]string{"at_ms": "cannot be combined with ttl_ms"}
	}
	return nil
}

// Updated is the body of TTL replies.
type Updated struct {
	// Updated is false when the condition prevented the change, or (for
	// DELETE) when the key had no expiry.
	Updated bool `json:"updated" example:"true"`
}

// RenameRequest is the body of POST /db/{db}/keys/{key}/rename.
type RenameRequest struct {
	// To is the new name (base64 with ?encoding=base64).
	To string `json:"to" validate:"required" example:"user:1:old"`
	// NX refuses to overwrite an existing key (RENAMENX).
	NX bool `json:"nx,omitempty"`
}

// Renamed is the body of a rename reply.
type Renamed struct {
	// Renamed is false when nx found the new name taken.
	Renamed bool `json:"renamed" example:"true"`
}

// handleKeysScan serves GET /db/{db}/keys.
//
// @Summary      Scan keys
// @Description  One SCAN step: pass `cursor` back until it is "0". `match` is a glob pattern, `type` a Redis type, `count` a hint of the page size.
// @ID           listKeys
// @Tags         keys
// @Produce      json
// @Param        db        path   string   true   "Database name"  example(0)
// @Param        cursor    query  string   false  "Cursor from the previous page"  default(0)
// @Param        match     query  string   false  "Glob pattern"  example(user:*)
// @Param        type      query  string   false  "Only keys of this type"  Enums(string, list, set, zset, hash, stream)
// @Param        count     query  integer  false  "Page size hint (1-10000)"
// @Param        encoding  query  string   false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  KeyPage
// @Failure      400  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/keys [get]
func handleKeysScan(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		cursor := q.Get("cursor")
		if cursor == "" {
			cursor = "0"
		}
		if _, err := strconv.ParseUint(cursor, 10, 64); err != nil {
			writeError(w, r, d.logger, errValidation("bad cursor", FieldError{Field: "cursor", Message: "must be a cursor returned by a previous page"}))
			return
		}
		args := []string{"SCAN", cursor}
		if m := q.Get("match"); m != "" {
			enc, _ := encodingOf(r)
			m, err := decodeArg(enc, "match", m)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, "MATCH", m)
		}
		count, err := intQuery(r, "count", 0, 1, 10000)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if count > 0 {
			args = append(args, "COUNT", strconv.FormatInt(count, 10))
		}
		if t := q.Get("type"); t != "" {
			switch t {
			case "string", "list", "set", "zset", "hash", "stream":
			default:
				writeError(w, r, d.logger, errValidation("bad type", FieldError{Field: "type", Message: "must be one of: string list set zset hash stream"}))
				return
			}
			args = append(args, "TYPE", t)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respond(w, r, d.logger, http.StatusOK, v)
	}
}

// handleKeyGet serves GET /db/{db}/keys/{key}.
//
// @Summary      Describe a key
// @Description  TYPE and PTTL in one round trip. 404 when the key does not exist.
// @ID           getKey
// @Tags         keys
// @Produce      json
// @Param        db   path  string  true  "Database name"  example(0)
// @Param        key  path  string  true  "Key"  example(user:1)
// @Success      200  {object}  KeyMeta
// @Failure      404  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/keys/{key} [get]
func handleKeyGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		res, err := d.pipe(r, [][]string{{"TYPE", key}, {"PTTL", key}})
		if err == nil {
			err = firstErr(res)
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		typ, _ := res[0].Value.(string)
		if typ == "none" || typ == "" {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		var ttl any
		if ms, _ := res[1].Value.(int64); ms >= 0 {
			ttl = ms
		}
		respond(w, r, d.logger, http.StatusOK, client.Map{{Key: "key", Value: []byte(key)}, {Key: "type", Value: typ}, {Key: "ttl_ms", Value: ttl}})
	}
}

// firstErr returns the first per-command error of a pipeline.
func firstErr(res []client.Result) error {
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// handleKeyDelete serves DELETE /db/{db}/keys/{key}.
//
// @Summary      Delete a key
// @Description  UNLINK (memory is reclaimed in the background). `deleted` is 0 when the key did not exist.
// @ID           deleteKey
// @Tags         keys
// @Produce      json
// @Param        db   path  string  true  "Database name"  example(0)
// @Param        key  path  string  true  "Key"  example(greeting)
// @Success      200  {object}  DeletedCount
// @Security     BearerAuth
// @Router       /db/{db}/keys/{key} [delete]
func handleKeyDelete(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "UNLINK", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"deleted":`, v)
	}
}

// handleTTLSet serves PUT /db/{db}/keys/{key}/ttl.
//
// @Summary      Set a key's expiry
// @Description  PEXPIRE (ttl_ms) or PEXPIREAT (at_ms), with an optional condition. 404 when the key does not exist; `updated` false when the condition prevented the change.
// @ID           setKeyTTL
// @Tags         keys
// @Accept       json
// @Produce      json
// @Param        db    path  string      true  "Database name"  example(0)
// @Param        key   path  string      true  "Key"  example(user:1)
// @Param        body  body  TTLRequest  true  "Expiry"
// @Success      200  {object}  Updated
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/keys/{key}/ttl [put]
func handleTTLSet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[TTLRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmd := []string{"PEXPIRE", key, msArg(req.TTLMs)}
		if req.AtMs > 0 {
			cmd = []string{"PEXPIREAT", key, msArg(req.AtMs)}
		}
		if req.Condition != "" {
			cmd = append(cmd, req.Condition)
		}
		// EXISTS tells "absent" from "condition not met": both answer 0.
		res, err := d.pipe(r, [][]string{{"EXISTS", key}, cmd})
		if err == nil {
			err = firstErr(res)
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if n, _ := res[0].Value.(int64); n == 0 {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"updated":`, res[1].Value)
	}
}

// handleTTLDelete serves DELETE /db/{db}/keys/{key}/ttl.
//
// @Summary      Remove a key's expiry
// @Description  PERSIST. `updated` is false when the key has no expiry or does not exist.
// @ID           persistKey
// @Tags         keys
// @Produce      json
// @Param        db   path  string  true  "Database name"  example(0)
// @Param        key  path  string  true  "Key"  example(user:1)
// @Success      200  {object}  Updated
// @Security     BearerAuth
// @Router       /db/{db}/keys/{key}/ttl [delete]
func handleTTLDelete(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "PERSIST", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"updated":`, v)
	}
}

// handleKeyRename serves POST /db/{db}/keys/{key}/rename.
//
// @Summary      Rename a key
// @Description  RENAME, or RENAMENX with `nx` (then `renamed` is false when the new name exists). 404 when the key does not exist.
// @ID           renameKey
// @Tags         keys
// @Accept       json
// @Produce      json
// @Param        db        path   string         true   "Database name"  example(0)
// @Param        key       path   string         true   "Key"  example(user:1)
// @Param        encoding  query  string         false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   RenameRequest  true   "New name"
// @Success      200  {object}  Renamed
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/keys/{key}/rename [post]
func handleKeyRename(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[RenameRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		to, err := decodeArg(enc, "to", req.To)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmd := "RENAME"
		if req.NX {
			cmd = "RENAMENX"
		}
		v, err := d.do(r, cmd, key, to)
		var re *client.Error
		if asRedisError(err, &re) && re.Msg == "ERR no such key" {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"renamed":`, v)
	}
}
