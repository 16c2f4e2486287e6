package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
)

// Status is the body of /healthz and /readyz.
type Status struct {
	// Status is "ok" (alive) or "ready" (every database answers).
	Status string `json:"status" example:"ok"`
}

// handleHealthz serves GET /healthz: the process is up. It does not touch
// Redis, so an orchestrator never restarts the gateway for Redis's sake.
//
// @Summary      Liveness
// @Description  Answers 200 while the process serves HTTP; Redis is not consulted.
// @ID           healthz
// @Tags         operations
// @Produce      json
// @Success      200  {object}  Status
// @Router       /healthz [get]
func handleHealthz(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, d.logger, http.StatusOK, Status{Status: "ok"})
	}
}

// readyTimeout bounds each database's PING in /readyz and /databases.
const readyTimeout = time.Second

// pingAll pings every database concurrently and returns the names of those
// that did not answer, in order.
func (d *deps) pingAll(ctx context.Context) map[string]error {
	var mu sync.Mutex
	failed := map[string]error{}
	var wg sync.WaitGroup
	for _, name := range d.names {
		db := d.dbs[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			if err := db.Client.Ping(ctx); err != nil {
				mu.Lock()
				failed[name] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// handleReadyz serves GET /readyz: every configured database answers PING
// within a second.
//
// @Summary      Readiness
// @Description  Answers 200 when every configured database answers PING within 1 s, else 503 UPSTREAM_UNAVAILABLE naming the databases that did not.
// @ID           readyz
// @Tags         operations
// @Produce      json
// @Success      200  {object}  Status
// @Failure      503  {object}  Problem
// @Router       /readyz [get]
func handleReadyz(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		failed := d.pingAll(r.Context())
		if len(failed) > 0 {
			var names []string
			for _, n := range d.names {
				if _, ok := failed[n]; ok {
					names = append(names, n)
				}
			}
			writeError(w, r, d.logger, &apiError{
				status:     http.StatusServiceUnavailable,
				code:       CodeUpstreamUnavailable,
				detail:     "databases not answering: " + strings.Join(names, ", "),
				retryAfter: 1,
			})
			return
		}
		writeJSON(w, d.logger, http.StatusOK, Status{Status: "ready"})
	}
}

// DatabaseInfo describes one configured database.
type DatabaseInfo struct {
	// Name is the URL segment: /db/{name}.
	Name string `json:"name" example:"0"`
	// Addr is the Redis server and database, password redacted.
	Addr string `json:"addr" example:"redis://127.0.0.1:6379/0"`
	// Healthy is true when the database answered PING within 1 s.
	Healthy bool `json:"healthy" example:"true"`
	// Pool holds the connection pool's counters.
	Pool client.PoolStats `json:"pool" swaggertype:"object"`
	// Scopes describes the pools of scoped tokens (one Redis ACL user
	// each), which serve their requests instead of Pool.
	Scopes ScopeInfo `json:"scopes"`
}

// ScopeInfo counts a database's scope backends.
type ScopeInfo struct {
	// Users is the number of scope backends (ACL users) open now.
	Users int `json:"users" example:"2"`
	// Pool sums the counters of their connection pools.
	Pool client.PoolStats `json:"pool" swaggertype:"object"`
}

// DatabaseList is the body of GET /databases.
type DatabaseList struct {
	Databases []DatabaseInfo `json:"databases"`
}

// handleDatabases serves GET /databases.
//
// @Summary      List databases
// @Description  Every configured database (numbered and named) with its pool statistics and health.
// @ID           listDatabases
// @Tags         operations
// @Produce      json
// @Success      200  {object}  DatabaseList
// @Security     BearerAuth
// @Router       /databases [get]
func handleDatabases(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		failed := d.pingAll(r.Context())
		out := DatabaseList{Databases: make([]DatabaseInfo, 0, len(d.names))}
		for _, n := range d.names {
			if !allowedDatabase(r, n) {
				continue
			}
			db := d.dbs[n]
			_, bad := failed[n]
			info := DatabaseInfo{Name: n, Addr: db.Addr, Healthy: !bad, Pool: db.Client.Stats()}
			info.Scopes.Users, info.Scopes.Pool = d.users[n].Stats()
			out.Databases = append(out.Databases, info)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, d.logger, http.StatusOK, out)
	}
}

// InfoReply is the body of GET /db/{db}/info.
type InfoReply struct {
	// Info maps each section (lower case) to its fields; numeric values
	// are numbers and "k=v,…" values nested objects.
	Info map[string]map[string]any `json:"info" swaggertype:"object"`
}

// handleInfo serves GET /db/{db}/info?section=.
//
// @Summary      Server information
// @Description  INFO, parsed: `{"info": {"server": {"redis_version": "7.0.15", …}, "keyspace": {"db0": {"keys": 1, …}}}}`.
// @ID           getInfo
// @Tags         operations
// @Produce      json
// @Param        db       path   string  true   "Database name"  example(0)
// @Param        section  query  string  false  "INFO section (server, clients, memory, keyspace, all…)"
// @Success      200  {object}  InfoReply
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/info [get]
func handleInfo(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		args := []string{"INFO"}
		if s := queryOf(r).Get("section"); s != "" {
			args = append(args, s)
		}
		var v any
		var err error
		if p := principalFrom(r); p != nil && p.tok.Level < LevelAdmin {
			v, err = d.scopedInfo(r, p, args)
		} else {
			v, err = d.do(r, args...)
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"info":`, v)
	}
}

// KeyCount is the body of GET /db/{db}/dbsize.
type KeyCount struct {
	// Keys is the number of keys in the database.
	Keys int64 `json:"keys" example:"42"`
}

// handleDBSize serves GET /db/{db}/dbsize.
//
// @Summary      Count keys
// @Description  DBSIZE: the number of keys in the database.
// @ID           getDBSize
// @Tags         operations
// @Produce      json
// @Param        db  path  string  true  "Database name"  example(0)
// @Success      200  {object}  KeyCount
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/dbsize [get]
func handleDBSize(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := d.do(r, "DBSIZE")
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"keys":`, v)
	}
}

// scopedInfo answers INFO for a token below admin: the keyspace section
// only, and only the Redis databases behind the token's own (the other
// sections show other clients, other databases and the server's setup).
func (d *deps) scopedInfo(r *http.Request, p *principal, args []string) (any, error) {
	if len(args) > 1 && !strings.EqualFold(args[1], "keyspace") {
		return nil, errorf(http.StatusForbidden, CodeForbiddenCommand, "a %s token may read only the keyspace section of INFO, for its own databases", p.tok.Level)
	}
	ctx, cancel := d.timeoutContext(r.Context())
	defer cancel()
	self := database(r)
	raw, err := self.Client.DoRaw(ctx, "INFO", "keyspace")
	if err != nil {
		return nil, err
	}
	v, err := d.defaults.Shape(raw, client.OptionsFor([]string{"INFO", "keyspace"}))
	if err != nil {
		return nil, err
	}
	sections, _ := v.(client.Map)
	var out client.Map
	for _, sec := range sections {
		fields, _ := sec.Value.(client.Map)
		var kept client.Map
		for _, f := range fields {
			key, _ := f.Key.(string)
			n, ok := atoiStrict(strings.TrimPrefix(key, "db"))
			if ok && d.ownsRedisDB(p, self.Server, n) {
				kept = append(kept, f)
			}
		}
		out = append(out, client.Entry{Key: sec.Key, Value: kept})
	}
	return out, nil
}

// ownsRedisDB reports whether one of p's databases is Redis database n on
// server (a Database.Server).
func (d *deps) ownsRedisDB(p *principal, server string, n int) bool {
	for _, db := range d.dbs {
		if db.DB == n && db.Server == server && (p.all || p.dbs[db.Name]) {
			return true
		}
	}
	return false
}
