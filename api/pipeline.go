package api

import "net/http"

// handlePipeline is not implemented yet.
func handlePipeline(d *deps) http.HandlerFunc { return notImplemented(d) }
