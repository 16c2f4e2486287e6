// Package openapi holds the gateway's API descriptions. swagger.json and
// swagger.yaml (Swagger 2.0, as swag writes them) and openapi.json (the
// same API as OpenAPI 3.0, converted with kin-openapi) are generated from
// the swag annotations of package api and never edited by hand: regenerate
// with `make openapi`; `make openapi-check` fails when they drift from the
// annotations. asyncapi.json (AsyncAPI 3) describes the Server-Sent Events
// and WebSocket surfaces, which OpenAPI cannot; it is written by hand and
// held to the server by api's TestAsyncAPIMatchesTheServer.
package openapi

import _ "embed"

//go:embed openapi.json
var spec []byte

//go:embed asyncapi.json
var asyncSpec []byte

// JSON returns the OpenAPI 3.0 document. The slice is shared: do not
// modify it.
func JSON() []byte { return spec }

// AsyncAPI returns the AsyncAPI 3 document of the real-time surfaces. The
// slice is shared: do not modify it.
func AsyncAPI() []byte { return asyncSpec }
