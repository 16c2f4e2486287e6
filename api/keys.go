package api

import "net/http"

// handleKeysScan is not implemented yet.
func handleKeysScan(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleKeyGet is not implemented yet.
func handleKeyGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleKeyDelete is not implemented yet.
func handleKeyDelete(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleTTLSet is not implemented yet.
func handleTTLSet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleTTLDelete is not implemented yet.
func handleTTLDelete(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleKeyRename is not implemented yet.
func handleKeyRename(d *deps) http.HandlerFunc { return notImplemented(d) }
