package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/tokens"
)

// TestSpecExamplesRun sends every operation of the served spec, built from
// its examples alone (path and query parameter examples, the request body
// example), to a live gateway and expects the documented success status:
// what Swagger UI's "Try it out" sends without edits must work. Writes run
// first, then reads, then what removes or renames keys. The WebSocket
// upgrade is left out (it needs a WebSocket client); event streams are
// checked for their status and closed.
func TestSpecExamplesRun(t *testing.T) {
	rs := redistest.Start(t)
	v, err := tokens.NewVerifier(tokens.Config{HMACSecret: testSigningSecret, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const token = "examples-admin"
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Signed: v, Tokens: []Token{
		{Name: "admin", Secret: token, Databases: []string{"*"}, Level: LevelAdmin, Mint: true},
	}}})
	doc, err := openapi3.NewLoader().LoadFromData(g.do(t, "GET", "/openapi.json", nil).Body)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: g.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		phase  int
		name   string
		method string
		op     *openapi3.Operation
		path   string
	}
	var calls []call
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Value("101") != nil {
				continue
			}
			phase := 1 // reads
			switch {
			case method == http.MethodDelete, strings.HasSuffix(path, "/rename"), strings.HasSuffix(path, "/pop"):
				phase = 2
			case method != http.MethodGet:
				phase = 0
			}
			calls = append(calls, call{phase, op.OperationID, method, op, path})
		}
	}
	slices.SortFunc(calls, func(a, b call) int {
		if a.phase != b.phase {
			return a.phase - b.phase
		}
		return strings.Compare(a.name, b.name)
	})
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			q := url.Values{}
			for _, p := range c.op.Parameters {
				pv := p.Value
				ex := pv.Example
				if ex == nil && pv.Schema != nil && pv.Schema.Value.Example != nil && pv.Required {
					ex = pv.Schema.Value.Example
				}
				if ex == nil {
					if pv.Required {
						t.Fatalf("required %s parameter %s has no example", pv.In, pv.Name)
					}
					continue
				}
				switch pv.In {
				case "path":
					path = strings.ReplaceAll(path, "{"+pv.Name+"}", url.PathEscape(fmt.Sprint(ex)))
				case "query":
					if list, ok := ex.([]any); ok {
						for _, x := range list {
							q.Add(pv.Name, fmt.Sprint(x))
						}
					} else {
						q.Set(pv.Name, fmt.Sprint(ex))
					}
				}
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var body []byte
			if c.op.RequestBody != nil {
				mt := c.op.RequestBody.Value.Content.Get("application/json")
				if mt == nil || mt.Example == nil {
					t.Fatal("the body has no example")
				}
				if body, err = json.Marshal(mt.Example); err != nil {
					t.Fatal(err)
				}
			}
			want := 0
			for _, code := range c.op.Responses.Keys() {
				if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 && (want == 0 || n < want) {
					want = n
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, c.method, g.URL+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got bytes.Buffer
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				_, _ = got.ReadFrom(resp.Body)
			}
			if resp.StatusCode != want {
				t.Fatalf("%s %s %s: %d %s, want %d", c.method, path, body, resp.StatusCode, got.String(), want)
			}
			if got.Len() == 0 {
				return // an event stream: its events are described in /asyncapi.json
			}
			// the reply must match the spec's schema for it
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}
			in.SetBodyBytes(got.Bytes())
			if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
				t.Errorf("the reply %s does not match the spec: %v", got.String(), err)
			}
		})
	}
}
