package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/redis-gateway/redis-gateway/client"
)

// ScoredMember is a sorted-set member with its score.
type ScoredMember struct {
	Member string `json:"member" example:"alice"`
	// Score is a number; "inf", "-inf" are strings.
	Score float64 `json:"score" example:"42.5"`
}

// ZsetMembers is the body of GET /db/{db}/zsets/{key}.
type ZsetMembers struct {
	// Members in range order; plain strings with withscores=false.
	Members []ScoredMember `json:"members"`
}

// ZAddMember is one member to add.
type ZAddMember struct {
	Member string `json:"member" validate:"required" example:"alice"`
	// Score: a number, or "inf"/"-inf"/"+inf".
	Score json.RawMessage `json:"score" validate:"required" swaggertype:"number" example:"42.5"`
}

// ZAddRequest is the body of POST /db/{db}/zsets/{key}/members.
type ZAddRequest struct {
	Members []ZAddMember `json:"members" validate:"required,min=1,max=10000,dive"`
	// NX only adds new members; XX only updates existing ones.
	NX bool `json:"nx,omitempty" validate:"excluded_with=XX GT LT"`
	XX bool `json:"xx,omitempty"`
	// GT/LT only update when the new score is greater/less.
	GT bool `json:"gt,omitempty" validate:"excluded_with=LT"`
	LT bool `json:"lt,omitempty"`
	// CH counts changed members instead of added ones.
	CH bool `json:"ch,omitempty"`
}

// ZAddReply is the body of a ZADD reply: added, or changed with ch.
type ZAddReply struct {
	Added   int64 `json:"added,omitempty" example:"1"`
	Changed int64 `json:"changed,omitempty" example:"1"`
}

// ZMember is the body of GET …/members/{member}.
type ZMember struct {
	Score float64 `json:"score" example:"42.5"`
	// Rank is the 0-based position by ascending score.
	Rank int64 `json:"rank" example:"0"`
}

// ZIncrRequest is the body of …/members/{member}/incr.
type ZIncrRequest struct {
	By json.Number `json:"by" validate:"required" swaggertype:"number" example:"1.5"`
}

// ZScore is the body of a ZINCRBY reply.
type ZScore struct {
	Score float64 `json:"score" example:"44"`
}

// handleZRange serves GET /db/{db}/zsets/{key}.
//
// @Summary      Read a sorted set
// @Description  ZRANGE by rank (default, start/stop indexes), score (`by=score`: numbers, `(` for exclusive, `-inf`/`+inf`) or lex (`by=lex`: `[a`, `(a`, `-`, `+`), with `rev` and, for score/lex, `offset`+`count`. With `withscores` (default true, not for lex) members come as `{"member","score"}`. 404 when the key does not exist.
// @ID           zrangeMembers
// @Tags         zsets
// @Produce      json
// @Param        db          path   string   true   "Database name"  example(0)
// @Param        key         path   string   true   "Key"  example(leaderboard)
// @Param        by          query  string   false  "Range kind"  Enums(rank, score, lex)  default(rank)
// @Param        start       query  string   false  "Start (index, score or lex bound)"
// @Param        stop        query  string   false  "Stop (index, score or lex bound)"
// @Param        rev         query  bool     false  "Reverse order"
// @Param        offset      query  integer  false  "LIMIT offset (score/lex)"
// @Param        count       query  integer  false  "LIMIT count (score/lex)"
// @Param        withscores  query  bool     false  "Include scores"  default(true)
// @Param        encoding    query  string   false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  ZsetMembers
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/zsets/{key} [get]
func handleZRange(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args, err := zrangeArgs(r, key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		res, err := d.pipe(r, [][]string{{"EXISTS", key}, args})
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
		respondField(w, r, d.logger, http.StatusOK, `{"members":`, res[1].Value)
	}
}

// zrangeArgs builds ZRANGE from the query, reporting every bad parameter.
func zrangeArgs(r *http.Request, key string) ([]string, error) {
	q := queryOf(r)
	var fields []FieldError
	bad := func(f, msg string) { fields = append(fields, FieldError{Field: f, Message: msg}) }
	by := q.Get("by")
	if by == "" {
		by = "rank"
	}
	start, stop := plusInQuery(q.Get("start")), plusInQuery(q.Get("stop"))
	switch by {
	case "rank":
		if start == "" {
			start = "0"
		}
		if stop == "" {
			stop = "-1"
		}
		for f, v := range map[string]string{"start": start, "stop": stop} {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				bad(f, "must be an integer index")
			}
		}
	case "score":
		if start == "" {
			start = "-inf"
		}
		if stop == "" {
			stop = "+inf"
		}
		for f, v := range map[string]string{"start": start, "stop": stop} {
			if !scoreBound(v) {
				bad(f, "must be a score, optionally prefixed by ( for exclusive, or -inf/+inf")
			}
		}
	case "lex":
		if start == "" {
			start = "-"
		}
		if stop == "" {
			stop = "+"
		}
		for f, v := range map[string]string{"start": start, "stop": stop} {
			if v != "-" && v != "+" && !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "(") {
				bad(f, "must start with [ or ( (or be - or +)")
			}
		}
	default:
		bad("by", "must be one of: rank score lex")
	}
	rev, err := boolQuery(r, "rev")
	if err != nil {
		return nil, err
	}
	withScores := by != "lex"
	if q.Get("withscores") != "" {
		if withScores, err = boolQuery(r, "withscores"); err != nil {
			return nil, err
		}
		if withScores && by == "lex" {
			bad("withscores", "is not available with by=lex")
		}
	}
	offset, oerr := intQuery(r, "offset", -1, 0, 1<<62)
	count, cerr := intQuery(r, "count", -1, -1, 1<<62)
	if oerr != nil {
		bad("offset", "must be a non-negative integer")
	}
	if cerr != nil {
		bad("count", "must be an integer")
	}
	limit := q.Get("offset") != "" || q.Get("count") != ""
	if limit && by == "rank" {
		bad("offset", "offset/count need by=score or by=lex")
	}
	if len(fields) > 0 {
		return nil, errValidation("the range is not valid", fields...)
	}
	if enc, _ := encodingOf(r); by == "lex" && enc == EncodingBase64 {
		if start != "-" && start != "+" {
			s, err := decodeArg(enc, "start", start[1:])
			if err != nil {
				return nil, err
			}
			start = start[:1] + s
		}
		if stop != "-" && stop != "+" {
			s, err := decodeArg(enc, "stop", stop[1:])
			if err != nil {
				return nil, err
			}
			stop = stop[:1] + s
		}
	}
	if rev && by != "rank" {
		start, stop = stop, start // BYSCORE/BYLEX with REV take max then min
	}
	args := []string{"ZRANGE", key, start, stop}
	switch by {
	case "score":
		args = append(args, "BYSCORE")
	case "lex":
		args = append(args, "BYLEX")
	}
	if rev {
		args = append(args, "REV")
	}
	if limit {
		if offset < 0 {
			offset = 0
		}
		args = append(args, "LIMIT", strconv.FormatInt(offset, 10), strconv.FormatInt(count, 10))
	}
	if withScores {
		args = append(args, "WITHSCORES")
	}
	return args, nil
}

// scoreBound accepts Redis score bounds: a float, "(" + float, ±inf.
func scoreBound(s string) bool {
	s = strings.TrimPrefix(s, "(")
	switch strings.ToLower(s) {
	case "inf", "+inf", "-inf":
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// handleZAdd serves POST /db/{db}/zsets/{key}/members.
//
// @Summary      Add sorted-set members
// @Description  ZADD with nx/xx/gt/lt/ch. Returns `added` (or `changed` with ch).
// @ID           addZsetMembers
// @Tags         zsets
// @Accept       json
// @Produce      json
// @Param        db        path   string       true   "Database name"  example(0)
// @Param        key       path   string       true   "Key"  example(leaderboard)
// @Param        encoding  query  string       false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   ZAddRequest  true   "Members and options"
// @Success      200  {object}  ZAddReply
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/zsets/{key}/members [post]
func handleZAdd(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[ZAddRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args := []string{"ZADD", key}
		for _, f := range []struct {
			name string
			on   bool
		}{{"NX", req.NX}, {"XX", req.XX}, {"GT", req.GT}, {"LT", req.LT}, {"CH", req.CH}} {
			if f.on {
				args = append(args, f.name)
			}
		}
		enc, _ := encodingOf(r)
		for i, m := range req.Members {
			field := "members[" + strconv.Itoa(i) + "]"
			score, ok := scoreArg(m.Score)
			if !ok {
				writeError(w, r, d.logger, errValidation("a score is not valid", FieldError{Field: field + ".score", Message: "must be a number or inf/-inf"}))
				return
			}
			member, err := decodeArg(enc, field+".member", m.Member)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			args = append(args, score, member)
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		name := "added"
		if req.CH {
			name = "changed"
		}
		respond(w, r, d.logger, http.StatusOK, client.Map{{Key: name, Value: v}})
	}
}

// scoreArg reads a score given as a JSON number or "inf"/"-inf"/"+inf".
func scoreArg(raw json.RawMessage) (string, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil && n != "" {
		if _, err := strconv.ParseFloat(n.String(), 64); err == nil {
			return n.String(), true
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "inf", "+inf":
			return "+inf", true
		case "-inf":
			return "-inf", true
		}
	}
	return "", false
}

// handleZMemberGet serves GET /db/{db}/zsets/{key}/members/{member}.
//
// @Summary      Get a member's score and rank
// @Description  ZSCORE and ZRANK in one round trip. 404 when the member (or key) does not exist.
// @ID           getZsetMember
// @Tags         zsets
// @Produce      json
// @Param        db      path  string  true  "Database name"  example(0)
// @Param        key     path  string  true  "Key"  example(leaderboard)
// @Param        member  path  string  true  "Member"  example(alice)
// @Success      200  {object}  ZMember
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/zsets/{key}/members/{member} [get]
func handleZMemberGet(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, m, err := keyMember(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		res, err := d.pipe(r, [][]string{{"ZSCORE", key, m}, {"ZRANK", key, m}})
		if err == nil {
			err = firstErr(res)
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if res[0].Value == nil {
			writeError(w, r, d.logger, errNotFound("member"))
			return
		}
		respond(w, r, d.logger, http.StatusOK, client.Map{{Key: "score", Value: res[0].Value}, {Key: "rank", Value: res[1].Value}})
	}
}

// handleZMemberDelete serves DELETE /db/{db}/zsets/{key}/members/{member}.
//
// @Summary      Remove a sorted-set member
// @Description  ZREM.
// @ID           removeZsetMember
// @Tags         zsets
// @Produce      json
// @Param        db      path  string  true  "Database name"  example(0)
// @Param        key     path  string  true  "Key"  example(leaderboard)
// @Param        member  path  string  true  "Member"  example(alice)
// @Success      200  {object}  RemovedCount
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/zsets/{key}/members/{member} [delete]
func handleZMemberDelete(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, m, err := keyMember(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "ZREM", key, m)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"removed":`, v)
	}
}

// handleZMemberIncr serves POST /db/{db}/zsets/{key}/members/{member}/incr.
//
// @Summary      Increment a member's score
// @Description  ZINCRBY (the member is added with score `by` if absent).
// @ID           incrZsetMember
// @Tags         zsets
// @Accept       json
// @Produce      json
// @Param        db      path  string        true  "Database name"  example(0)
// @Param        key     path  string        true  "Key"  example(leaderboard)
// @Param        member  path  string        true  "Member"  example(alice)
// @Param        body    body  ZIncrRequest  true  "Increment"
// @Success      200  {object}  ZScore
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/zsets/{key}/members/{member}/incr [post]
func handleZMemberIncr(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, m, err := keyMember(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[ZIncrRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "ZINCRBY", key, req.By.String(), m)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"score":`, v)
	}
}
