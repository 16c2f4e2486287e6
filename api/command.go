package api

import "net/http"

// handleCommand is not implemented yet.
func handleCommand(d *deps) http.HandlerFunc { return notImplemented(d) }
