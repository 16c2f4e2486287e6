package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// @title           redis-gateway
// @version         1.0
// @description     HTTP/JSON gateway for Redis. Each Redis database is a URL prefix (/db/{db}) backed by its own connection pool; replies are shaped into JSON by response callbacks. Errors are RFC 9457 problem+json documents with a stable `code`.
// @description     Bulk strings travel as JSON text; a reply that is not valid UTF-8 is refused with 422 NOT_UTF8 unless the request asks for `?encoding=base64`, which base64-encodes every bulk string in the reply and decodes request values (keys, fields, members and values in JSON bodies and query parameters). Path segments (keys, fields, members, channels) are percent-escaped text; add `?key_encoding=base64` to send them base64-encoded instead, for binary names. Send every path segment percent-encoded (`encodeURIComponent`): `/` as %2F, `%` as %25, `?` as %3F, `#` as %23; a stray `%` is answered 400 VALIDATION. The events of the Server-Sent Events streams and the WebSocket frames are described by the AsyncAPI 3 document at /asyncapi.json.
// @description     Every state-changing request (POST, PUT and DELETE on the typed routes, /command, /pipeline, /transaction and the Upstash surface) may carry an `Idempotency-Key` header: the first response is kept in Redis for 24 h per token and key, and a retry with the same key and the same request gets it back, marked `Idempotent-Replayed: true`, without running anything. Its commands run fenced by a run key, so that a retry after a 502/504 with `outcome: unknown` either runs the request (it had not run) or answers 409 `IDEMPOTENCY_REPLY_LOST` with `outcome: ran` (it ran exactly once; see docs/reliability.md).
// @license.name    MIT
// @license.url     https://spdx.org/licenses/MIT.html
// @BasePath        /
// @securityDefinitions.apikey BearerAuth
// @in              header
// @name            Authorization
// @description     `Bearer <token>`; required when tokens are configured.

// addRoutes maps the whole API surface. It is the only place routes are
// listed.
func addRoutes(r chi.Router, d *deps) {
	r.Use(front(d.logger, d.metrics), containment(d), cors(d.cfg.CORSOrigins), middleware.GetHead)
	root := r
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, d.logger, errorf(http.StatusNotFound, CodeNotFound, "no route for %s; the routes are listed at /docs/ (Swagger UI) and /openapi.json", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allow := allowedMethods(root, r)
		w.Header().Set("Allow", allow)
		if d.upstashNotAllowed(w, r, allow) {
			return
		}
		writeError(w, r, d.logger, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
	})

	r.Get("/healthz", handleHealthz(d))
	r.Get("/readyz", handleReadyz(d))
	r.With(authenticate(d)).Get("/databases", handleDatabases(d))
	r.With(authenticate(d)).Post("/tokens", handleMint(d))
	if !d.cfg.MetricsRouteOff {
		r.With(metricsAccess(d)).Method(http.MethodGet, "/metrics", d.metrics.Handler())
	}
	r.Get("/openapi.json", handleOpenAPI(d))
	r.Get("/asyncapi.json", handleAsyncAPI(d))
	r.Get("/docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently).ServeHTTP)
	r.Mount("/docs/", handleDocs(d))

	if d.cfg.UpstashPrefix != "off" {
		upstashRoutes(r, d, "/"+strings.Trim(d.cfg.UpstashPrefix, "/"))
	}

	// The database routes sit in the root router (a group, not a mounted
	// subrouter): chi routes a request once, without a second pass that
	// would set its path values and join its route pattern again.
	r.Group(func(g chi.Router) {
		g.Use(authenticate(d), withDatabase(d), syncTokens(d, "Redis-Sync-Token"), idempotent(d, d.problem))
		r := prefixed{g, "/db/{db}"}

		r.Get("/keys", handleKeysScan(d))
		r.Get("/keys/{key}", handleKeyGet(d))
		r.Delete("/keys/{key}", handleKeyDelete(d))
		r.Put("/keys/{key}/ttl", handleTTLSet(d))
		r.Delete("/keys/{key}/ttl", handleTTLDelete(d))
		r.Post("/keys/{key}/rename", handleKeyRename(d))

		r.Get("/strings", handleStringsMGet(d))
		r.Put("/strings", handleStringsMSet(d))
		r.Get("/strings/{key}", handleStringGet(d))
		r.Put("/strings/{key}", handleStringPut(d))
		r.Post("/strings/{key}/incr", handleStringIncr(d))

		r.Get("/hashes/{key}", handleHashGet(d))
		r.Put("/hashes/{key}", handleHashPut(d))
		r.Get("/hashes/{key}/fields/{field}", handleHashFieldGet(d))
		r.Put("/hashes/{key}/fields/{field}", handleHashFieldPut(d))
		r.Delete("/hashes/{key}/fields/{field}", handleHashFieldDelete(d))
		r.Post("/hashes/{key}/fields/{field}/incr", handleHashFieldIncr(d))

		r.Get("/lists/{key}", handleListRange(d))
		r.Post("/lists/{key}/push", handleListPush(d))
		r.Post("/lists/{key}/pop", handleListPop(d))

		r.Get("/sets/{key}", handleSetMembers(d))
		r.Post("/sets/{key}/members", handleSetAdd(d))
		r.Get("/sets/{key}/members/{member}", handleSetIsMember(d))
		r.Delete("/sets/{key}/members/{member}", handleSetRemove(d))

		r.Get("/zsets/{key}", handleZRange(d))
		r.Post("/zsets/{key}/members", handleZAdd(d))
		r.Get("/zsets/{key}/members/{member}", handleZMemberGet(d))
		r.Delete("/zsets/{key}/members/{member}", handleZMemberDelete(d))
		r.Post("/zsets/{key}/members/{member}/incr", handleZMemberIncr(d))

		r.Post("/streams/{key}", handleStreamAdd(d))
		r.Get("/streams/{key}", handleStreamRange(d))
		r.Get("/streams/{key}/length", handleStreamLength(d))
		r.Get("/streams/{key}/events", handleStreamEvents(d))

		r.Post("/channels/{channel}/messages", handleChannelPublish(d))
		r.Get("/events", handleMultiEvents(d))
		r.Get("/channels/{channel}/events", handleChannelEvents(d))
		r.Get("/patterns/{pattern}/events", handlePatternEvents(d))
		r.Get("/ws", handleWebSocket(d))

		r.Post("/command", handleCommand(d))
		r.Post("/pipeline", handlePipeline(d))
		r.Post("/transaction", handleTransaction(d))

		r.Get("/info", handleInfo(d))
		r.Get("/dbsize", handleDBSize(d))
	})
}

// allowedMethods lists, for the Allow header of a 405, the methods the
// router serves on r's path (matched as the router matches it: escaped).
func allowedMethods(root chi.Routes, r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if root.Match(chi.NewRouteContext(), m, r.URL.EscapedPath()) {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead) // served by GET
			}
		}
	}
	if len(allow) > 0 {
		allow = append(allow, http.MethodOptions) // CORS preflight
	}
	return strings.Join(allow, ", ")
}

// prefixed registers routes on a router under a path prefix.
type prefixed struct {
	r      chi.Router
	prefix string
}

func (p prefixed) Get(pattern string, h http.HandlerFunc)    { p.r.Get(p.prefix+pattern, h) }
func (p prefixed) Put(pattern string, h http.HandlerFunc)    { p.r.Put(p.prefix+pattern, h) }
func (p prefixed) Post(pattern string, h http.HandlerFunc)   { p.r.Post(p.prefix+pattern, h) }
func (p prefixed) Delete(pattern string, h http.HandlerFunc) { p.r.Delete(p.prefix+pattern, h) }
