package api

import "net/http"

// handleWebSocket is not implemented yet.
func handleWebSocket(d *deps) http.HandlerFunc { return notImplemented(d) }
