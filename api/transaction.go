package api

import "net/http"

// handleTransaction is not implemented yet.
func handleTransaction(d *deps) http.HandlerFunc { return notImplemented(d) }
