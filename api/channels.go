package api

import "net/http"

// handleChannelPublish is not implemented yet.
func handleChannelPublish(d *deps) http.HandlerFunc { return notImplemented(d) }

// handleChannelEvents is not implemented yet.
func handleChannelEvents(d *deps) http.HandlerFunc { return notImplemented(d) }

// handlePatternEvents is not implemented yet.
func handlePatternEvents(d *deps) http.HandlerFunc { return notImplemented(d) }
