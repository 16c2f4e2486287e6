package api

import "net/http"

// handleStringsMGet is not implemented yet.
func handleStringsMGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStringsMSet is not implemented yet.
func handleStringsMSet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStringGet is not implemented yet.
func handleStringGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStringPut is not implemented yet.
func handleStringPut(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleStringIncr is not implemented yet.
func handleStringIncr(d *deps) http.HandlerFunc { return notImplemented(d) }
