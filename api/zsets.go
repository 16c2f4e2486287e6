package api

import "net/http"

// handleZRange is not implemented yet.
func handleZRange(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleZAdd is not implemented yet.
func handleZAdd(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleZMemberGet is not implemented yet.
func handleZMemberGet(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleZMemberDelete is not implemented yet.
func handleZMemberDelete(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleZMemberIncr is not implemented yet.
func handleZMemberIncr(d *deps) http.HandlerFunc { return notImplemented(d) }
