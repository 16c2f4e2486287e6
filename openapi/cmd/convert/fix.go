package main

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
)

// This file holds what swag cannot say in annotations, applied to the
// converted document. docs/openapi.md lists each rule and why it is here.

// tags describes every tag the annotations use (a tag missing here fails
// the conversion).
var tags = []struct{ name, desc string }{
	{"strings", "String keys: GET/SET with options, MGET/MSET, INCRBY/INCRBYFLOAT. Binary values as `application/octet-stream` or `?encoding=base64`."},
	{"hashes", "Hash keys and their fields: HGETALL, HSET, HGET, HDEL, HINCRBY."},
	{"lists", "List keys: LRANGE, LPUSH/RPUSH, LPOP/RPOP."},
	{"sets", "Set keys: SMEMBERS, SADD, SREM, SISMEMBER."},
	{"zsets", "Sorted-set keys: ZRANGE (by rank, score or lex, with or without scores), ZADD, ZSCORE+ZRANK, ZINCRBY, ZREM. Scores are JSON numbers, or the strings `inf`, `-inf` and `nan`."},
	{"streams", "Stream keys: XADD, XRANGE/XREVRANGE, XLEN, and tails over Server-Sent Events (optionally with a consumer group)."},
	{"keys", "Any key: SCAN, TYPE+PTTL, DEL, RENAME, expiry."},
	{"pubsub", "PUBLISH, and subscriptions to channels, patterns and streams over Server-Sent Events and WebSocket (see also /asyncapi.json)."},
	{"commands", "Any allowed Redis command, a pipeline (one round trip) or a MULTI/EXEC transaction with WATCH; replies shaped into JSON."},
	{"operations", "Health, readiness, the databases and their pools, INFO and DBSIZE."},
	{"tokens", "Minting short-lived signed tokens no wider than the caller's own."},
}

// requestExamples is one runnable request body per operation (the test in
// e2e sends each to a live gateway). swag builds a body example from the
// fields' examples, which for SET combines nx, xx, keepttl and ttl_ms, and
// cannot write a [][]string example at all.
var requestExamples = map[string]any{
	"publishMessage": map[string]any{"message": "hello"},
	"runCommand":     map[string]any{"command": []string{"SET", "greeting", "hello"}},
	"setHash":        map[string]any{"fields": map[string]string{"name": "Ada", "lang": "en"}},
	"setHashField":   map[string]any{"value": "Ada"},
	"incrHashField":  map[string]any{"by": 1},
	"renameKey":      map[string]any{"to": "user:1:old"},
	"setKeyTTL":      map[string]any{"ttl_ms": 60000},
	"popList":        map[string]any{"side": "left", "count": 1},
	"pushList":       map[string]any{"values": []string{"a", "b"}, "side": "right"},
	"runPipeline":    map[string]any{"commands": [][]string{{"SET", "greeting", "hello"}, {"GET", "greeting"}, {"INCR", "counter"}}},
	"addSetMembers":  map[string]any{"members": []string{"red", "green"}},
	"addStreamEntry": map[string]any{"fields": map[string]string{"temp": "21.5"}, "maxlen": 1000, "approx": true},
	"setStrings":     map[string]any{"entries": []map[string]string{{"key": "a", "value": "1"}, {"key": "b", "value": "2"}}},
	"setString":      map[string]any{"value": "hello", "ttl_ms": 60000},
	"incrString":     map[string]any{"by": 1},
	"runTransaction": map[string]any{"watch": []string{"balance"}, "commands": [][]string{{"INCRBY", "balance", "10"}, {"GET", "balance"}}},
	"addZsetMembers": map[string]any{"members": []map[string]any{{"member": "alice", "score": 42.5}, {"member": "bob", "score": "+inf"}}},
	"incrZsetMember": map[string]any{"by": 1.5},
	"mintToken":      map[string]any{"subject": "user-42", "databases": []string{"0"}, "level": "read", "keys": []string{"user:42:*"}, "ttl_seconds": 900},
}

// errorResponses are the shared problem responses, by status.
var errorResponses = []struct {
	status    string
	name      string
	desc      string
	codes     string // for the description
	example   string // code of the example
	detail    string
	outcome   string
	retry     bool
	challenge bool
}{
	{"400", "BadRequest", "Validation failed, or Redis refused the command as sent", "VALIDATION (every failing field in `errors`), or a Redis error code such as ERR", "VALIDATION", "the request body is not valid", "", false, false},
	{"401", "Unauthorized", "No token, or a token that is not valid (when tokens are configured)", "UNAUTHORIZED, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID, TOKEN_AUDIENCE, TOKEN_SIGNATURE, TOKEN_INVALID", "UNAUTHORIZED", "missing bearer token", "", false, true},
	{"403", "Forbidden", "The token's scope, the gateway's policy or Redis's ACL refuses the request", "FORBIDDEN_COMMAND, FORBIDDEN_DATABASE, FORBIDDEN_CHANNEL, ACL_UNAVAILABLE, SCOPE_TOO_WIDE, FORBIDDEN_HOST, CROSS_SITE, NOPERM", "FORBIDDEN_DATABASE", "the token is not scoped to database 1", "", false, false},
	{"404", "NotFound", "No such key (or field, member…), database, script or consumer group", "NOT_FOUND, UNKNOWN_DATABASE, NOSCRIPT, NOGROUP", "NOT_FOUND", "key not found", "", false, false},
	{"409", "Conflict", "The key holds another type, or a watched key changed", "WRONGTYPE, BUSYKEY, BUSYGROUP, TX_ABORTED", "WRONGTYPE", "WRONGTYPE Operation against a key holding the wrong kind of value", "", false, false},
	{"413", "ContentTooLarge", "The body is larger than body_limit", "BODY_TOO_LARGE", "BODY_TOO_LARGE", "the request body is larger than 1048576 bytes", "", false, false},
	{"415", "UnsupportedMediaType", "The body is neither JSON nor (where accepted) octet-stream", "UNSUPPORTED_MEDIA", "UNSUPPORTED_MEDIA", "the body must be application/json", "", false, false},
	{"422", "NotUTF8", "The reply, or a JSON body, is not valid UTF-8: ask for `?encoding=base64`", "NOT_UTF8", "NOT_UTF8", "the reply holds bytes that are not valid UTF-8; repeat the request with ?encoding=base64 to receive every string base64-encoded", "", false, false},
	{"429", "TooManyRequests", "The token's rate limit; `Retry-After` says when to come back", "RATE_LIMITED", "RATE_LIMITED", "rate limit exceeded", "", true, false},
	{"502", "BadGateway", "The connection to Redis failed after the command may have been written (`outcome: unknown`), or a cluster redirection", "CONNECTION_LOST, MOVED, ASK", "CONNECTION_LOST", "the connection to Redis failed before the reply came; the command may have run", "unknown", false, false},
	{"503", "ServiceUnavailable", "Redis is unreachable, loading or busy; the command was not sent (`outcome: not_sent`): retry after `Retry-After`", "UPSTREAM_UNAVAILABLE, POOL_TIMEOUT, LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN, CLUSTERDOWN, NOREPLICAS", "UPSTREAM_UNAVAILABLE", "Redis is unreachable; the command was not sent", "not_sent", true, false},
	{"504", "GatewayTimeout", "Redis did not answer within the command timeout; the command may have run (`outcome: unknown`)", "TIMEOUT", "TIMEOUT", "Redis did not answer within the command timeout; the command may have run", "unknown", false, false},
	{"507", "InsufficientStorage", "Redis is out of memory (maxmemory) and refused a write", "OOM", "OOM", "OOM command not allowed when used memory > 'maxmemory'.", "", false, false},
	{"default", "Error", "Any other problem (405, 500…)", "METHOD_NOT_ALLOWED, INTERNAL…", "INTERNAL", "internal error", "", false, false},
}

const (
	problemJSON  = "application/problem+json"
	escapingRule = " Send it percent-encoded, as `encodeURIComponent` does: `/` as `%2F`, `%` as `%25`, `?` as `%3F`, `#` as `%23`, and any non-ASCII byte as `%XX`; a stray `%` is answered 400 VALIDATION. With `key_encoding=base64` it is the base64 of the bytes instead."
)

// fix applies the rules to v3, converted from v2, with the Go source of
// the api package.
func fix(v2 *openapi2.T, v3 *openapi3.T, src *goSource) error {
	if err := renameSchemas(v3); err != nil {
		return err
	}
	s := v3.Components.Schemas
	if err := fieldRules(v3, src); err != nil {
		return err
	}
	schemaOverrides(s, src)
	security(v3)
	if err := addTags(v3); err != nil {
		return err
	}
	copyParamExamples(v2, v3)
	for _, path := range v3.Paths.InMatchingOrder() {
		item := v3.Paths.Value(path)
		for method, op := range item.Operations() {
			if err := fixOperation(path, method, op); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
	}
	problemResponses(v3)
	return nil
}

// renameSchemas drops the Go package prefix swag gives schema names
// ("api.Problem" → "Problem").
func renameSchemas(v3 *openapi3.T) error {
	renamed := openapi3.Schemas{}
	for name, ref := range v3.Components.Schemas {
		short := strings.TrimPrefix(name, "api.")
		if _, dup := renamed[short]; dup {
			return fmt.Errorf("two schemas named %s", short)
		}
		renamed[short] = ref
	}
	v3.Components.Schemas = renamed
	walkSchemaRefs(v3, func(r *openapi3.SchemaRef) {
		r.Ref = strings.Replace(r.Ref, "#/components/schemas/api.", "#/components/schemas/", 1)
	})
	return nil
}

// walkSchemaRefs calls f on every schema reference of the document (each
// once).
func walkSchemaRefs(v3 *openapi3.T, f func(*openapi3.SchemaRef)) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil {
			return
		}
		f(r)
		if r.Value == nil || seen[r.Value] {
			return
		}
		seen[r.Value] = true
		for _, c := range children(r.Value) {
			walk(c)
		}
	}
	for _, r := range v3.Components.Schemas {
		walk(r)
	}
	for _, item := range v3.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				walk(p.Value.Schema)
			}
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
}

// children lists the schemas directly inside v: properties, items,
// additional properties, and the oneOf/anyOf/allOf branches (nil entries
// included; the walks skip them).
func children(v *openapi3.Schema) []*openapi3.SchemaRef {
	out := make([]*openapi3.SchemaRef, 0, len(v.Properties)+2+len(v.OneOf)+len(v.AnyOf)+len(v.AllOf))
	for _, p := range v.Properties {
		out = append(out, p)
	}
	out = append(out, v.Items, v.AdditionalProperties.Schema)
	out = append(out, v.OneOf...)
	out = append(out, v.AnyOf...)
	return append(out, v.AllOf...)
}

// refName is the component name a reference points at, or "".
func refName(r *openapi3.SchemaRef) string {
	return strings.TrimPrefix(r.Ref, "#/components/schemas/")
}

// reachable returns the component schemas reachable from the given roots.
func reachable(s openapi3.Schemas, roots []*openapi3.SchemaRef) map[string]bool {
	out := map[string]bool{}
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil {
			return
		}
		if n := refName(r); r.Ref != "" {
			if out[n] {
				return
			}
			out[n] = true
			r = s[n]
			if r == nil {
				return
			}
		}
		for _, c := range children(r.Value) {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// fieldRules carries what encoding/json does with each Go field into its
// schema: a field without omitempty is always sent (required in a reply),
// a pointer without omitempty may be null, the elements of []*T may be
// null; Go integers are int64 (or int32) and floats double. In a request,
// required is what the validate tag requires.
func fieldRules(v3 *openapi3.T, src *goSource) error {
	var reqRoots, respRoots []*openapi3.SchemaRef
	for _, item := range v3.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					reqRoots = append(reqRoots, mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				for _, mt := range resp.Value.Content {
					respRoots = append(respRoots, mt.Schema)
				}
			}
		}
	}
	s := v3.Components.Schemas
	inRequest := reachable(s, reqRoots)
	inResponse := reachable(s, respRoots)
	for name, ref := range s {
		fields, ok := src.Structs[name]
		if !ok {
			return fmt.Errorf("schema %s has no Go struct in the api package", name)
		}
		reply := inResponse[name] && !inRequest[name]
		v := ref.Value
		if inRequest[name] {
			// swag also counts a "required" after "dive" (which is about
			// the elements): required is what the validator requires
			v.Required = nil
			for _, f := range fields {
				if f.Required && v.Properties[f.JSON] != nil {
					v.Required = append(v.Required, f.JSON)
				}
			}
		}
		for _, f := range fields {
			p := v.Properties[f.JSON]
			if p == nil {
				continue
			}
			if reply && !f.OmitEmpty && !slices.Contains(v.Required, f.JSON) {
				v.Required = append(v.Required, f.JSON)
			}
			if p.Ref != "" {
				continue // a shared schema: its own fields carry the rules
			}
			target := p.Value
			if target.Type.Is("array") && target.Items != nil && target.Items.Ref == "" {
				if reply && f.ElemPointer {
					target.Items.Value.Nullable = true
				}
				target = target.Items.Value
			} else if reply && f.Pointer && !f.OmitEmpty {
				target.Nullable = true
			}
			switch {
			case target.Format != "":
			case target.Type.Is("integer") && f.Kind != "":
				target.Format = f.Kind
				if f.Kind == "double" {
					target.Format = "int64"
				}
			case target.Type.Is("number") && f.Kind == "double":
				target.Format = "double"
			case target.Type.Is("number"):
				target.Format = "double" // json.Number or RawMessage shown as a number
			}
		}
		sort.Strings(v.Required)
	}
	return nil
}

func types(t string) *openapi3.Types { return &openapi3.Types{t} }

// schemaOverrides replaces the schemas of fields whose Go type (any,
// json.RawMessage, a float that encodes ±Inf and NaN as strings, one field
// with two shapes) swag cannot describe.
func schemaOverrides(s openapi3.Schemas, src *goSource) {
	s["Score"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Description: "A sorted-set score: a JSON number, or the string `inf`, `-inf` or `nan` for the values JSON numbers cannot hold.",
		OneOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("number"), Format: "double", Example: 42.5}),
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Enum: []any{"inf", "-inf", "nan"}}),
		},
	})
	s["ScoreInput"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Description: "A score to set: a JSON number, or the string `inf`, `+inf` or `-inf`.",
		OneOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("number"), Format: "double", Example: 42.5}),
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Enum: []any{"inf", "+inf", "-inf"}}),
		},
	})
	score := openapi3.NewSchemaRef("#/components/schemas/Score", nil)
	for _, n := range []string{"ScoredMember", "ZMember", "ZScore"} {
		s[n].Value.Properties["score"] = score
	}
	s["ZAddMember"].Value.Properties["score"] = openapi3.NewSchemaRef("#/components/schemas/ScoreInput", nil)

	// No type: any JSON value, null included (OpenAPI 3.0.3: nullable
	// only widens a type given next to it; openapi-typescript and redocly
	// refuse nullable without one).
	anyValue := func(desc string) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", &openapi3.Schema{Description: desc})
	}
	s["CommandReply"].Value.Properties["result"] = anyValue("The reply shaped into JSON: any JSON value (string, number, boolean, array, object) or null, depending on the command (see docs/architecture.md).")
	s["CommandResult"].Value.Properties["result"] = anyValue("The command's shaped reply, any JSON value or null; absent when the command failed (then `error` and `code` are set).")

	members := s["ZsetMembers"].Value
	members.Properties["members"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Description: "Members in range order: `{member, score}` objects with withscores (the default), plain strings with withscores=false or by=lex.",
		OneOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("#/components/schemas/ScoredMembers", nil),
			openapi3.NewSchemaRef("#/components/schemas/PlainMembers", nil),
		},
	})
	s["ScoredMembers"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("array"), Items: openapi3.NewSchemaRef("#/components/schemas/ScoredMember", nil)})
	s["PlainMembers"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("array"), Items: openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")})})

	codes := make([]any, len(src.Codes))
	for i, c := range src.Codes {
		codes[i] = c
	}
	s["GatewayCode"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type:        types("string"),
		Description: "A code of the gateway itself (docs/errors.md).",
		Enum:        codes,
	})
	s["RedisErrorCode"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Type:        types("string"),
		Description: "The first word of a Redis error reply, such as ERR, WRONGTYPE, NOSCRIPT, NOPERM or OOM.",
		Pattern:     "^[A-Z][A-Z0-9_]*$",
		Example:     "WRONGTYPE",
	})
	code := s["Problem"].Value.Properties["code"].Value
	s["Problem"].Value.Properties["code"] = openapi3.NewSchemaRef("", &openapi3.Schema{
		Description: code.Description,
		Example:     code.Example,
		AnyOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("#/components/schemas/GatewayCode", nil),
			openapi3.NewSchemaRef("#/components/schemas/RedisErrorCode", nil),
		},
	})
	s["Problem"].Value.Properties["status"].Value.Format = "int32"
}

// security describes the bearer token as HTTP bearer authentication (so
// generators add the "Bearer " prefix) and says that /healthz and /readyz
// need none.
func security(v3 *openapi3.T) {
	v3.Components.SecuritySchemes = openapi3.SecuritySchemes{
		"BearerAuth": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type:        "http",
			Scheme:      "bearer",
			Description: "`Authorization: Bearer <token>`: a configured token or a signed token (JWT) minted by POST /tokens. Required when tokens are configured; a gateway without tokens (loopback only) ignores it.",
		}},
	}
	for _, item := range v3.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security == nil {
				op.Security = &openapi3.SecurityRequirements{}
			}
		}
	}
}

func addTags(v3 *openapi3.T) error {
	used := map[string]bool{}
	for _, item := range v3.Paths.Map() {
		for _, op := range item.Operations() {
			for _, t := range op.Tags {
				used[t] = true
			}
		}
	}
	v3.Tags = nil
	for _, t := range tags {
		if used[t.name] {
			v3.Tags = append(v3.Tags, &openapi3.Tag{Name: t.name, Description: t.desc})
			delete(used, t.name)
		}
	}
	for t := range used {
		return fmt.Errorf("tag %q has no description in openapi/cmd/convert", t)
	}
	return nil
}

// copyParamExamples keeps the parameters' examples (swag writes them,
// openapi2conv drops them).
func copyParamExamples(v2 *openapi2.T, v3 *openapi3.T) {
	for path, item := range v2.Paths {
		for method, op := range item.Operations() {
			ex := map[string]any{}
			for _, p := range op.Parameters {
				if v, ok := p.Extensions["example"]; ok {
					ex[p.In+" "+p.Name] = v
				}
			}
			v3op := v3.Paths.Value(path).GetOperation(method)
			for _, p := range v3op.Parameters {
				if v, ok := ex[p.Value.In+" "+p.Value.Name]; ok {
					if _, list := v.([]any); !list && p.Value.Schema != nil && p.Value.Schema.Value.Type.Is("array") {
						v = []any{v} // swag's example(x) on a []string parameter
					}
					p.Value.Example = v
				}
			}
		}
	}
}

// fixOperation declares key_encoding, the escaping rule, integer formats,
// binary bodies, the request example and db's default.
func fixOperation(path, method string, op *openapi3.Operation) error {
	segments := false
	hasEncoding := false
	for _, p := range op.Parameters {
		v := p.Value
		if v.Schema != nil && v.Schema.Value.Type.Is("integer") && v.Schema.Value.Format == "" {
			v.Schema.Value.Format = "int64"
		}
		switch {
		case v.In == "path" && v.Name == "db":
			v.Schema.Value.Default = "0"
			v.Example = "0"
			v.Description = "Database name (`GET /databases` lists them)"
		case v.In == "path":
			segments = true
			v.Description = strings.TrimSuffix(strings.TrimSuffix(v.Description, " (escape / as %2F)"), ".") + "." + escapingRule
		case v.In == "query" && v.Name == "encoding":
			hasEncoding = true
		}
	}
	if segments {
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
			Name: "key_encoding", In: "query",
			Description: "How the path segments (key, field, member, channel, pattern) are written: `utf8` (default: percent-encoded text) or `base64` (standard or URL alphabet), for names that are not text.",
			Schema:      openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Enum: []any{"utf8", "base64"}, Default: "utf8"}),
		}})
	}
	if hasEncoding {
		for _, p := range op.Parameters {
			if p.Value.Name == "encoding" {
				p.Value.Schema.Value.Default = "utf8"
			}
		}
	}
	binary := func(c openapi3.Content) {
		if mt := c.Get("application/octet-stream"); mt != nil {
			mt.Schema = openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Format: "binary"})
		}
	}
	if op.RequestBody != nil {
		binary(op.RequestBody.Value.Content)
		delete(op.RequestBody.Value.Extensions, "x-originalParamName")
		ex, ok := requestExamples[op.OperationID]
		if !ok {
			return fmt.Errorf("%s has a body but no request example in openapi/cmd/convert", op.OperationID)
		}
		op.RequestBody.Value.Content.Get("application/json").Example = ex
	} else if _, ok := requestExamples[op.OperationID]; ok {
		return fmt.Errorf("%s has a request example but no body", op.OperationID)
	}
	for _, code := range op.Responses.Keys() {
		if r := op.Responses.Value(code); r.Value != nil && strings.HasPrefix(code, "2") {
			binary(r.Value.Content)
		}
	}
	statuses := errorStatuses(path, method, op, hasEncoding)
	for _, code := range op.Responses.Keys() {
		if n, err := strconv.Atoi(code); err == nil && n >= 400 {
			statuses[code] = true
		}
	}
	for code := range statuses {
		name := ""
		for _, e := range errorResponses {
			if e.status == code {
				name = e.name
			}
		}
		if name == "" {
			return fmt.Errorf("no shared response for status %s", code)
		}
		op.Responses.Set(code, &openapi3.ResponseRef{Ref: "#/components/responses/" + name})
	}
	return nil
}

// errorStatuses is the set of error statuses an operation can return,
// beyond those its annotations name: every route may be refused by the
// host and cross-site checks (403); an authenticated one may get 401 and
// 429; one under /db/{db} may name an unknown database (404), fail
// validation (400) or lose Redis (502, 503, 504); a write may meet
// maxmemory (507); a body may be too large (413), of the wrong type (415)
// or not UTF-8 (422), as may a reply with ?encoding.
func errorStatuses(path, method string, op *openapi3.Operation, hasEncoding bool) map[string]bool {
	st := map[string]bool{"403": true, "default": true}
	if op.Security != nil && len(*op.Security) > 0 {
		st["401"], st["429"] = true, true
	}
	if strings.HasPrefix(path, "/db/{db}") {
		for _, c := range []string{"400", "404", "502", "503", "504"} {
			st[c] = true
		}
		if method == http.MethodPost || method == http.MethodPut {
			st["507"] = true
		}
	}
	if op.RequestBody != nil {
		st["400"], st["413"], st["415"], st["422"] = true, true, true, true
	}
	if hasEncoding {
		st["422"] = true
	}
	return st
}

// problemResponses adds the shared problem responses, each with an
// example and the headers that come with it.
func problemResponses(v3 *openapi3.T) {
	v3.Components.Responses = openapi3.ResponseBodies{}
	for _, e := range errorResponses {
		status := 500
		if n, err := strconv.Atoi(e.status); err == nil {
			status = n
		}
		ex := map[string]any{
			"type":       "urn:redis-gateway:problem:" + e.example,
			"title":      titleOf(status),
			"status":     status,
			"detail":     e.detail,
			"code":       e.example,
			"instance":   "/db/0/strings/greeting",
			"request_id": "a1b2c3d4e5f6a7b8",
		}
		if e.outcome != "" {
			ex["outcome"] = e.outcome
		}
		if e.example == "VALIDATION" {
			ex["errors"] = []map[string]string{{"field": "ttl_ms", "message": "must be 1 or greater"}}
		}
		desc := e.desc + ". Codes: " + e.codes + "."
		r := &openapi3.Response{
			Description: &desc,
			Content: openapi3.Content{problemJSON: &openapi3.MediaType{
				Schema:  openapi3.NewSchemaRef("#/components/schemas/Problem", nil),
				Example: ex,
			}},
		}
		if e.retry {
			r.Headers = openapi3.Headers{"Retry-After": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "Seconds to wait before retrying",
				Schema:      openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("integer"), Format: "int32", Example: 1}),
			}}}}
		}
		if e.challenge {
			r.Headers = openapi3.Headers{"WWW-Authenticate": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "The bearer challenge",
				Schema:      openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Example: `Bearer realm="redis-gateway"`}),
			}}}}
		}
		v3.Components.Responses[e.name] = &openapi3.ResponseRef{Value: r}
	}
}

// titleOf is the problem title the gateway sends for a status (api's
// titles table; the example only).
func titleOf(status int) string {
	switch status {
	case 400:
		return "Bad request"
	case 404:
		return "Not found"
	case 409:
		return "Conflict"
	case 413:
		return "Body too large"
	case 415:
		return "Unsupported media type"
	case 422:
		return "Not valid UTF-8"
	case 429:
		return "Too many requests"
	case 500:
		return "Internal error"
	case 502:
		return "Bad gateway"
	case 503:
		return "Service unavailable"
	case 504:
		return "Gateway timeout"
	case 507:
		return "Out of memory"
	}
	return http.StatusText(status)
}
