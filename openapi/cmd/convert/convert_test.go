package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// converted runs the converter on the committed Swagger 2 document and the
// api package's source, and loads the result.
func converted(t *testing.T) *openapi3.T {
	t.Helper()
	out := filepath.Join(t.TempDir(), "openapi.json")
	if err := run("../../swagger.json", out, "../../../api"); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestConvertedSpec(t *testing.T) {
	doc := converted(t)
	s := doc.Components.Schemas
	src, err := readGoSource("../../../api")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("NoPackagePrefix", func(t *testing.T) {
		for name := range s {
			if strings.Contains(name, ".") {
				t.Errorf("schema %s", name)
			}
		}
	})
	t.Run("ProblemCodesFromErrorsGo", func(t *testing.T) {
		var enum []string
		for _, v := range s["GatewayCode"].Value.Enum {
			enum = append(enum, v.(string))
		}
		for _, c := range []string{"VALIDATION", "CONNECTION_LOST", "TIMEOUT", "TOKEN_EXPIRED", "SCOPE_TOO_WIDE"} {
			if !slices.Contains(enum, c) {
				t.Errorf("GatewayCode lacks %s", c)
			}
		}
		if !slices.Equal(enum, src.Codes) || len(enum) < 25 {
			t.Errorf("GatewayCode %v, errors.go %v", enum, src.Codes)
		}
	})
	t.Run("RepliesRequiredAndNullable", func(t *testing.T) {
		km := s["KeyMeta"].Value
		if !km.Properties["ttl_ms"].Value.Nullable || !slices.Contains(km.Required, "ttl_ms") {
			t.Errorf("KeyMeta.ttl_ms: %+v, required %v", km.Properties["ttl_ms"].Value, km.Required)
		}
		if !s["StringsValues"].Value.Properties["values"].Value.Items.Value.Nullable {
			t.Error("StringsValues.values[] is not nullable")
		}
		p := s["Problem"].Value
		for _, f := range []string{"type", "title", "status", "code"} {
			if !slices.Contains(p.Required, f) {
				t.Errorf("Problem.%s not required", f)
			}
		}
		if slices.Contains(p.Required, "detail") {
			t.Error("Problem.detail (omitempty) is required")
		}
		if r := s["MintRequest"].Value.Required; slices.Contains(r, "keys") || !slices.Contains(r, "level") {
			t.Errorf("MintRequest required %v", r)
		}
	})
	t.Run("Formats", func(t *testing.T) {
		if f := s["KeyCount"].Value.Properties["keys"].Value.Format; f != "int64" {
			t.Errorf("KeyCount.keys format %q", f)
		}
		if f := s["NumberValue"].Value.Properties["value"].Value.Format; f != "double" {
			t.Errorf("NumberValue.value format %q", f)
		}
	})
	t.Run("ScoresAndAnyValues", func(t *testing.T) {
		if r := s["ScoredMember"].Value.Properties["score"].Ref; r != "#/components/schemas/Score" {
			t.Errorf("ScoredMember.score %q", r)
		}
		score := s["Score"].Value
		if len(score.OneOf) != 2 || !slices.Contains(score.OneOf[1].Value.Enum, any("inf")) {
			t.Errorf("Score %+v", score)
		}
		if n := len(s["ZsetMembers"].Value.Properties["members"].Value.OneOf); n != 2 {
			t.Errorf("ZsetMembers.members has %d shapes", n)
		}
		r := s["CommandReply"].Value.Properties["result"].Value
		if r.Type != nil || r.Nullable {
			t.Errorf("CommandReply.result %+v", r)
		}
	})
	t.Run("Operations", func(t *testing.T) {
		if bs := doc.Components.SecuritySchemes["BearerAuth"].Value; bs.Type != "http" || bs.Scheme != "bearer" {
			t.Errorf("BearerAuth %+v", bs)
		}
		if len(doc.Tags) == 0 {
			t.Error("no top-level tags")
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				name := method + " " + path
				secured := op.Security != nil && len(*op.Security) > 0
				for code, resp := range op.Responses.Map() {
					if code >= "400" && resp.Value.Content.Get(problemJSON) == nil {
						t.Errorf("%s %s: not problem+json", name, code)
					}
					if code >= "400" && resp.Value.Content.Get("application/json") != nil {
						t.Errorf("%s %s: declared as application/json", name, code)
					}
				}
				want := []string{"403", "default"}
				if secured {
					want = append(want, "401", "429")
				}
				if strings.HasPrefix(path, "/db/{db}") {
					want = append(want, "400", "404", "502", "503", "504")
				}
				for _, c := range want {
					if op.Responses.Value(c) == nil {
						t.Errorf("%s: no %s response", name, c)
					}
				}
				for _, p := range op.Parameters {
					if p.Value.In == "path" && p.Value.Name == "db" && p.Value.Schema.Value.Default != "0" {
						t.Errorf("%s: db has no default 0", name)
					}
				}
				if strings.Contains(strings.TrimPrefix(path, "/db/{db}"), "{") && op.Parameters.GetByInAndName("query", "key_encoding") == nil {
					t.Errorf("%s: no key_encoding", name)
				}
				if op.RequestBody != nil {
					c := op.RequestBody.Value.Content
					if c.Get("application/json").Example == nil {
						t.Errorf("%s: no request example", name)
					}
					if mt := c.Get("application/octet-stream"); mt != nil && mt.Schema.Value.Format != "binary" {
						t.Errorf("%s: octet-stream body is not binary", name)
					}
				}
			}
		}
		if sec := doc.Paths.Value("/healthz").Get.Security; sec == nil || len(*sec) != 0 {
			t.Errorf("/healthz security %v", sec)
		}
	})
}

// TestConvertRefusesUndescribedTag: a tag without a description in tags
// fails the conversion rather than shipping an undocumented tag.
func TestConvertRefusesUndescribedTag(t *testing.T) {
	doc := &openapi3.T{Paths: openapi3.NewPaths()}
	doc.Paths.Set("/x", &openapi3.PathItem{Get: &openapi3.Operation{Tags: []string{"nope"}}})
	if err := addTags(doc); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
}
