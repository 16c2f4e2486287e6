// Command convert turns the Swagger 2.0 document that swag generates from
// the api package's annotations into OpenAPI 3.0 (kin-openapi's
// openapi2conv), applies what swag cannot express (fix.go: reply fields
// required and nullable as encoding/json sends them, formats, scores,
// any-value results, problem+json error responses, bearer auth, tags,
// runnable examples), validates it, and writes it with stable formatting.
//
//	go run ./openapi/cmd/convert -in openapi/swagger.json -out openapi/openapi.json -api api
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	in := flag.String("in", "openapi/swagger.json", "Swagger 2.0 input")
	out := flag.String("out", "openapi/openapi.json", "OpenAPI 3.0 output")
	apiDir := flag.String("api", "api", "the api package's directory (its Go types and problem codes)")
	flag.Parse()
	if err := run(*in, *out, *apiDir); err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
}

func run(in, out, apiDir string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	// ToV3 strips what is not an x- extension from the v2 parameters (swag's
	// "example" among them), so fix reads a copy of its own
	var orig openapi2.T
	if err := json.Unmarshal(raw, &orig); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	v3.Servers = openapi3.Servers{{URL: "/", Description: "this gateway"}}
	src, err := readGoSource(apiDir)
	if err != nil {
		return err
	}
	if err := fix(&orig, v3, src); err != nil {
		return fmt.Errorf("fix: %w", err)
	}
	b, err := json.MarshalIndent(v3, "", "  ")
	if err != nil {
		return err
	}
	// Load the written form again: the references fix adds are resolved
	// there, so Validate sees the document a client will read.
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		return fmt.Errorf("the converted spec is not valid: %w", err)
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}
