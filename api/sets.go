package api

import (
	"net/http"
)

// SetMembers is the body of GET /db/{db}/sets/{key}.
type SetMembers struct {
	Members []string `json:"members" example:"red,green"`
}

// MembersRequest is the body of POST /db/{db}/sets/{key}/members.
type MembersRequest struct {
	// Members to add (base64 with ?encoding=base64).
	Members []string `json:"members" validate:"required,min=1,max=10000" example:"red,green"`
}

// IsMember is the body of GET …/members/{member}.
type IsMember struct {
	Member bool `json:"member" example:"true"`
}

// RemovedCount is the body of member removals.
type RemovedCount struct {
	Removed int64 `json:"removed" example:"1"`
}

// handleSetMembers serves GET /db/{db}/sets/{key}.
//
// @Summary      Read a set
// @Description  SMEMBERS. 404 when the key does not exist.
// @ID           getSet
// @Tags         sets
// @Produce      json
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        key       path   string  true   "Key"  example(colors)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {object}  SetMembers
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/sets/{key} [get]
func handleSetMembers(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "SMEMBERS", key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if isEmpty(v) {
			writeError(w, r, d.logger, errNotFound("key"))
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"members":`, v)
	}
}

// handleSetAdd serves POST /db/{db}/sets/{key}/members.
//
// @Summary      Add set members
// @Description  SADD. `added` counts members that were not there.
// @ID           addSetMembers
// @Tags         sets
// @Accept       json
// @Produce      json
// @Param        db        path   string          true   "Database name"  example(0)
// @Param        key       path   string          true   "Key"  example(colors)
// @Param        encoding  query  string          false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   MembersRequest  true   "Members"
// @Success      200  {object}  AddedCount
// @Failure      400  {object}  Problem
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/sets/{key}/members [post]
func handleSetAdd(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		req, err := decode[MembersRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args, err := valueArgs(r, []string{"SADD", key}, "members", req.Members)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, args...)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"added":`, v)
	}
}

// keyMember reads {key} and {member}.
func keyMember(r *http.Request) (string, string, error) {
	key, err := keyParam(r)
	if err != nil {
		return "", "", err
	}
	m, err := pathParam(r, "member")
	return key, m, err
}

// handleSetIsMember serves GET /db/{db}/sets/{key}/members/{member}.
//
// @Summary      Test set membership
// @Description  SISMEMBER.
// @ID           isSetMember
// @Tags         sets
// @Produce      json
// @Param        db      path  string  true  "Database name"  example(0)
// @Param        key     path  string  true  "Key"  example(colors)
// @Param        member  path  string  true  "Member"  example(red)
// @Success      200  {object}  IsMember
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/sets/{key}/members/{member} [get]
func handleSetIsMember(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, m, err := keyMember(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "SISMEMBER", key, m)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"member":`, v)
	}
}

// handleSetRemove serves DELETE /db/{db}/sets/{key}/members/{member}.
//
// @Summary      Remove a set member
// @Description  SREM.
// @ID           removeSetMember
// @Tags         sets
// @Produce      json
// @Param        db      path  string  true  "Database name"  example(0)
// @Param        key     path  string  true  "Key"  example(colors)
// @Param        member  path  string  true  "Member"  example(red)
// @Success      200  {object}  RemovedCount
// @Failure      409  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/sets/{key}/members/{member} [delete]
func handleSetRemove(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, m, err := keyMember(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		v, err := d.do(r, "SREM", key, m)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"removed":`, v)
	}
}
