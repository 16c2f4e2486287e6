package api

import "net/http"

// handleHashGet is not implemented yet.
func handleHashGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHashPut is not implemented yet.
func handleHashPut(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHashFieldGet is not implemented yet.
func handleHashFieldGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHashFieldPut is not implemented yet.
func handleHashFieldPut(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHashFieldDelete is not implemented yet.
func handleHashFieldDelete(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHashFieldIncr is not implemented yet.
func handleHashFieldIncr(d *deps) http.HandlerFunc { return notImplemented(d) }
