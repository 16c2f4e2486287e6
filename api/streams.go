package api

import "net/http"

// handleStreamAdd is not implemented yet.
func handleStreamAdd(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStreamRange is not implemented yet.
func handleStreamRange(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStreamLength is not implemented yet.
func handleStreamLength(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStreamEvents is not implemented yet.
func handleStreamEvents(d *deps) http.HandlerFunc { return notImplemented(d) }
