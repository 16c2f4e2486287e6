// Package openapi holds the gateway's API description, generated from the
// swag annotations of package api (never edited by hand): swagger.json and
// swagger.yaml (Swagger 2.0, as swag writes them) and openapi.json (the
// same API as OpenAPI 3.0, converted with kin-openapi). Regenerate with
// `make openapi`; `make openapi-check` fails when they drift from the
// annotations.
package openapi

import _ "embed"

//go:embed openapi.json
var spec []byte

// JSON returns the OpenAPI 3.0 document. The slice is shared: do not
// modify it.
func JSON() []byte { return spec }
