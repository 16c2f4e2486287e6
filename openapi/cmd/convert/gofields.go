package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// goField is one JSON field of an exported struct of the api package, as
// encoding/json sends it.
type goField struct {
	JSON        string // the JSON name
	OmitEmpty   bool   // `json:",omitempty"`: the field may be absent
	Pointer     bool   // *T: null when nil (unless omitempty)
	ElemPointer bool   // []*T: elements may be null
	Kind        string // "int64", "int32", "double" or "" (other)
	Required    bool   // `validate:"required"` on the field itself (not after dive)
}

// goSource is what the converter reads from the api package's Go source:
// the JSON fields of each exported struct and the gateway's problem codes
// (the string constants named Code… in errors.go).
type goSource struct {
	Structs map[string][]goField
	Codes   []string
}

// readGoSource parses the non-test Go files of dir.
func readGoSource(dir string) (*goSource, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	src := &goSource{Structs: map[string][]goField{}}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					st, ok := s.Type.(*ast.StructType)
					if ok && s.Name.IsExported() {
						src.Structs[s.Name.Name] = structFields(st)
					}
				case *ast.ValueSpec:
					if gd.Tok != token.CONST || filepath.Base(name) != "errors.go" {
						continue
					}
					for i, n := range s.Names {
						if !strings.HasPrefix(n.Name, "Code") || i >= len(s.Values) {
							continue
						}
						lit, ok := s.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							return nil, fmt.Errorf("%s: %w", n.Name, err)
						}
						src.Codes = append(src.Codes, v)
					}
				}
			}
		}
	}
	if len(src.Codes) == 0 {
		return nil, fmt.Errorf("no Code… constants in %s/errors.go", dir)
	}
	return src, nil
}

func structFields(st *ast.StructType) []goField {
	var out []goField
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 || !f.Names[0].IsExported() {
			continue // embedded or unexported: not in the API types
		}
		name := f.Names[0].Name
		gf := goField{JSON: name}
		if f.Tag != nil {
			tag, _ := strconv.Unquote(f.Tag.Value)
			j := reflect.StructTag(tag).Get("json")
			if j == "-" {
				continue
			}
			parts := strings.Split(j, ",")
			if parts[0] != "" {
				gf.JSON = parts[0]
			}
			for _, o := range parts[1:] {
				if o == "omitempty" {
					gf.OmitEmpty = true
				}
			}
			for _, rule := range strings.Split(reflect.StructTag(tag).Get("validate"), ",") {
				if rule == "dive" {
					break // what follows applies to the elements
				}
				if rule == "required" {
					gf.Required = true
				}
			}
		}
		t := f.Type
		if p, ok := t.(*ast.StarExpr); ok {
			gf.Pointer = true
			t = p.X
		}
		if a, ok := t.(*ast.ArrayType); ok {
			if p, ok := a.Elt.(*ast.StarExpr); ok {
				gf.ElemPointer = true
				t = p.X
			} else {
				t = a.Elt
			}
		}
		if id, ok := t.(*ast.Ident); ok {
			switch id.Name {
			case "int", "int64", "uint64", "uint", "uint32":
				gf.Kind = "int64"
			case "int32", "int16", "int8", "uint16", "uint8":
				gf.Kind = "int32"
			case "float64", "float32":
				gf.Kind = "double"
			}
		}
		out = append(out, gf)
	}
	return out
}
