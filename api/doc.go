// Package api is the gateway's HTTP layer: a chi router with one file per
// resource, request validation with validator/v10, replies shaped by the
// client's response callbacks and encoded without reflection, and every
// error an RFC 9457 problem+json document chosen in one place (errors.go).
//
// [NewServer] builds the whole handler from its dependencies; routes.go
// lists every route. Handlers never speak RESP: they call a
// [client.Backend] per database.
package api
