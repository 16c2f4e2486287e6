package api

import "net/http"

// handleSetMembers is not implemented yet.
func handleSetMembers(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleSetAdd is not implemented yet.
func handleSetAdd(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleSetIsMember is not implemented yet.
func handleSetIsMember(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleSetRemove is not implemented yet.
func handleSetRemove(d *deps) http.HandlerFunc { return notImplemented(d) }
