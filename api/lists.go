package api

import "net/http"

// handleListRange is not implemented yet.
func handleListRange(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleListPush is not implemented yet.
func handleListPush(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleListPop is not implemented yet.
func handleListPop(d *deps) http.HandlerFunc { return notImplemented(d) }
