package api

import (
	"net/http"
	"strconv"

	httpSwagger "github.com/swaggo/http-swagger/v2"

	"github.com/redis-gateway/redis-gateway/openapi"
)

// handleOpenAPI serves GET /openapi.json: the OpenAPI 3.0 description of
// this API, generated from the annotations (see package openapi).
func handleOpenAPI(d *deps) http.HandlerFunc { return handleSpec(d, openapi.JSON()) }

// handleAsyncAPI serves GET /asyncapi.json: the AsyncAPI 3 description of
// the event streams and the WebSocket (see package openapi).
func handleAsyncAPI(d *deps) http.HandlerFunc { return handleSpec(d, openapi.AsyncAPI()) }

// handleSpec serves a JSON document with an ETag.
func handleSpec(d *deps, spec []byte) http.HandlerFunc {
	tag := etag(spec)
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("ETag", tag)
		h.Set("Cache-Control", "no-cache")
		if ifNoneMatch(r, tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(spec)))
		if _, err := w.Write(spec); err != nil {
			d.logger.Debug("write spec", "err", err)
		}
	}
}

// handleDocs serves Swagger UI under /docs/ (assets embedded by
// swaggo/http-swagger, the maintained Swagger UI bundle for Go), pointed at
// /openapi.json.
func handleDocs(d *deps) http.HandlerFunc {
	ui := httpSwagger.Handler(
		httpSwagger.URL("/openapi.json"),
		httpSwagger.DeepLinking(true),
		httpSwagger.DocExpansion("none"),
	)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/docs/" {
			http.Redirect(w, r, "/docs/index.html", http.StatusFound)
			return
		}
		ui.ServeHTTP(w, r)
	}
}
