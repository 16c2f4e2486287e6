package api

import "net/http"

// handleInfo is not implemented yet.
func handleInfo(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleDBSize is not implemented yet.
func handleDBSize(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleDatabases is not implemented yet.
func handleDatabases(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleHealthz is not implemented yet.
func handleHealthz(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleReadyz is not implemented yet.
func handleReadyz(d *deps) http.HandlerFunc { return notImplemented(d) }
