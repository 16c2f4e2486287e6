package api

import (
	"net/http"
	"strconv"
)

// ListItems is the body of list reads and pops.
type ListItems struct {
	Items []string `json:"items" example:"a,b,c"`
}

// PushRequest is the body of POST /db/{db}/lists/{key}/push.
type PushRequest struct {
	// Values to push, in order (base64 with ?encoding=base64).
	Values []string `json:"values" validate:"required,min=1,max=10000" example:"a,b"`
	// Side is left (LPUSH) or right (RPUSH, the default).
	Side string `json:"side,omitempty" validate:"omitempty,oneof=left right" example:"right"`
	// OnlyIfExists pushes only onto an existing list (LPUSHX/RPUSHX).
	OnlyIfExists bool `json:"only_if_exists,omitempty"`
}

// ListLength is the body of a push reply.
type ListLength struct {
	// Length of the list after the push (0 with only_if_exists on an
	// absent list).
	Length int64 `json:"length" example:"3"`
}

// PopRequest is the body of POST /db/{db}/lists/{key}/pop.
type PopRequest struct {
	// Side is left (LPOP, the default) or right (RPOP).
	Side string `json:"side,omitempty" validate:"omitempty,oneof=left right" example:"left"`
	// Count of elements to pop. Default 1.
	Count int64 `json:"count,omitempty" validate:"omitempty,min=1,max=10000" example:"1"`
}

// handleListRange serves GET /db/{db}/lists/{key}.
//
// @Summary      Read a list
// @Description  LRANGE start..stop (inclusive, negative from the end; default the whole list). 404 when the key does not exist (Redis never keeps an empty list).
// @ID           getList
// @Tags         lists
// @Produce      json
// @Param        db        path   string   true   "Database name"  example(0)
// @Param        key       path   string   true   "Key"  example(queue)
// @Param        start     query  integer  false  "First index"  default(0)
// @Param        stop      query  integer  false  "Last index"  default(-1)
// @Param        encoding  query  string   false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  ListItems
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/lists/{key} [get]
func handleListRange(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		start, err := intQuery(r, "start", 0, -1<<62, 1<<62)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		stop, err := intQuery(r, "stop", -1, -1<<62, 1<<62)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		res, err := d.pipe(r, [][]string{{"EXISTS", key}, {"LRANGE", key, strconv.FormatInt(start, 10), strconv.FormatInt(stop, 10)}})
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
		respondField(w, r, d.logger, http.StatusOK, `{"items":`, res[1].Value)
	}
}

// handleListPush serves POST /db/{db}/lists/{key}/push.
//
// @Summary      Push onto a list
// @Description  RPUSH (default) or LPUSH; with only_if_exists RPUSHX/LPUSHX.
// @ID           pushList
// @Tags         lists
// @Accept       json
// @Produce      json
// @Param        db        path   string       true   "Database name"  example(0)
// @Param        key       path   string       true   "Key"  example(queue)
// @Param        encoding  query  string       false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   PushRequest  true   "Values"
// @Success      200  {object}  ListLength
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/lists/{key}/push [post]
func handleListPush(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[PushRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmd := "RPUSH"
		if req.Side == "left" {
			cmd = "LPUSH"
		}
		if req.OnlyIfExists {
			cmd += "X"
		}
		args, err := valueArgs(r, []string{cmd, key}, "values", req.Values)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"length":`, v)
	}
}

// valueArgs appends request values (base64-decoded under
// ?encoding=base64) to a command.
func valueArgs(r *http.Request, args []string, field string, vals []string) ([]string, error) {
	enc, err := encodingOf(r)
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		v, err := decodeArg(enc, field+"["+strconv.Itoa(i)+"]", v)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	return args, nil
}

// handleListPop serves POST /db/{db}/lists/{key}/pop.
//
// @Summary      Pop from a list
// @Description  LPOP (default) or RPOP with a count. 404 when the list does not exist.
// @ID           popList
// @Tags         lists
// @Accept       json
// @Produce      json
// @Param        db        path   string      true   "Database name"  example(0)
// @Param        key       path   string      true   "Key"  example(queue)
// @Param        encoding  query  string      false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   PopRequest  true   "Side and count"
// @Success      200  {object}  ListItems
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/lists/{key}/pop [post]
func handleListPop(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[PopRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmd := "LPOP"
		if req.Side == "right" {
			cmd = "RPOP"
		}
		count := max(req.Count, 1)
		v, err := d.do(r, cmd, key, strconv.FormatInt(count, 10))
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if isEmpty(v) {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"items":`, v)
	}
}
