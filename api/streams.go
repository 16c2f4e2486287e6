package api

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// XAddRequest is the body of POST /db/{db}/streams/{key}.
type XAddRequest struct {
	// ID of the entry; "*" (default) lets Redis choose.
	ID string `json:"id,omitempty" example:"*"`
	// Fields of the entry (names and values base64 with
	// ?encoding=base64). Sent in field-name order.
	Fields map[string]string `json:"fields" validate:"required,min=1,max=10000" example:"temp:21.5"`
	// MaxLen trims the stream to this many entries (MAXLEN).
	MaxLen int64 `json:"maxlen,omitempty" validate:"omitempty,min=0,excluded_with=MinID" example:"1000"`
	// MinID trims entries older than this ID (MINID).
	MinID string `json:"minid,omitempty"`
	// Approx trims with ~ (faster, may keep a few more).
	Approx bool `json:"approx,omitempty"`
	// NoMkStream does not create a missing stream (then 404).
	NoMkStream bool `json:"nomkstream,omitempty"`
}

// EntryID is the body of an XADD reply.
type EntryID struct {
	ID string `json:"id" example:"1718000000000-0"`
}

// StreamEntry is one entry of a stream.
type StreamEntry struct {
	ID     string            `json:"id" example:"1718000000000-0"`
	Fields map[string]string `json:"fields" example:"temp:21.5"`
}

// StreamEntries is the body of GET /db/{db}/streams/{key}.
type StreamEntries struct {
	Entries []StreamEntry `json:"entries"`
}

// StreamLength is the body of GET …/length.
type StreamLength struct {
	Length int64 `json:"length" example:"3"`
}

// handleStreamAdd serves POST /db/{db}/streams/{key}.
//
// @Summary      Append to a stream
// @Description  XADD with optional MAXLEN/MINID trimming. Answers 201 with the entry ID and a Location that reads the entry back.
// @ID           addStreamEntry
// @Tags         streams
// @Accept       json
// @Produce      json
// @Param        db        path   string       true   "Database name"  example(0)
// @Param        key       path   string       true   "Key"  example(sensor:1)
// @Param        encoding  query  string       false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   XAddRequest  true   "Entry"
// @Success      201  {object}  EntryID
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/streams/{key} [post]
func handleStreamAdd(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[XAddRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args := []string{"XADD", key}
		if req.NoMkStream {
			args = append(args, "NOMKSTREAM")
		}
		trim := func(kind, v string) {
			args = append(args, kind)
			if req.Approx {
				args = append(args, "~")
			}
			args = append(args, v)
		}
		if req.MaxLen > 0 {
			trim("MAXLEN", strconv.FormatInt(req.MaxLen, 10))
		} else if req.MinID != "" {
			trim("MINID", req.MinID)
		}
		id := req.ID
		if id == "" {
			id = "*"
		}
		args = append(args, id)
		enc, _ := encodingOf(r)
		names := make([]string, 0, len(req.Fields))
		for f := range req.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			name, err := decodeArg(enc, "fields", f)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			val, err := decodeArg(enc, "fields."+f, req.Fields[f])
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, name, val)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if v == nil {
			writeError(w, r, d.logger, errNotFound("stream"))
			return
		}
		newID := string(v.([]byte))
		loc := url.URL{Path: r.URL.Path, RawPath: r.URL.EscapedPath()}
		q := url.Values{"start": {newID}, "end": {newID}, "count": {"1"}}
		if kq := queryOf(r).Get("key_encoding"); kq != "" {
			q.Set("key_encoding", kq)
		}
		w.Header().Set("Location", loc.EscapedPath()+"?"+q.Encode())
		respond(w, r, d.logger, http.StatusCreated, client.Map{{Key: "id", Value: newID}})
	}
}

// handleStreamRange serves GET /db/{db}/streams/{key}.
//
// @Summary      Read a stream range
// @Description  XRANGE start..end (`-` and `+` by default), or XREVRANGE with `rev` (then start is the high end). `count` limits the entries (1-10000).
// @ID           rangeStream
// @Tags         streams
// @Produce      json
// @Param        db        path   string   true   "Database name"  example(0)
// @Param        key       path   string   true   "Key"  example(sensor:1)
// @Param        start     query  string   false  "Start ID (- for the first)"  default(-)
// @Param        end       query  string   false  "End ID (+ for the last)"  default(+)
// @Param        count     query  integer  false  "Most entries"
// @Param        rev       query  bool     false  "Newest first"
// @Param        encoding  query  string   false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  StreamEntries
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/streams/{key} [get]
func handleStreamRange(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		q := queryOf(r)
		rev, err := boolQuery(r, "rev")
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		start, end := plusInQuery(q.Get("start")), plusInQuery(q.Get("end"))
		if start == "" {
			start = "-"
			if rev {
				start = "+"
			}
		}
		if end == "" {
			end = "+"
			if rev {
				end = "-"
			}
		}
		cmd := "XRANGE"
		if rev {
			cmd = "XREVRANGE"
		}
		args := []string{cmd, key, start, end}
		count, err := intQuery(r, "count", 0, 1, 10000)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if count > 0 {
			args = append(args, "COUNT", strconv.FormatInt(count, 10))
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"entries":`, v)
	}
}

// handleStreamLength serves GET /db/{db}/streams/{key}/length.
//
// @Summary      Stream length
// @Description  XLEN (0 for an absent stream).
// @ID           streamLength
// @Tags         streams
// @Produce      json
// @Param        db   path  string  true  "Database name"  example(0)
// @Param        key  path  string  true  "Key"  example(sensor:1)
// @Success      200  {object}  StreamLength
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/streams/{key}/length [get]
func handleStreamLength(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "XLEN", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"length":`, v)
	}
}
