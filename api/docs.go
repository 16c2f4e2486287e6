package api

import "net/http"

// handleOpenAPI is not implemented yet.
func handleOpenAPI(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleDocs is not implemented yet.
func handleDocs(d *deps) http.HandlerFunc { return notImplemented(d) }
