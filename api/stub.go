package api

import "net/http"

// notImplemented answers 501 for routes still being built.
func notImplemented(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, d.logger, errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "this route is not implemented yet"))
	}
}
