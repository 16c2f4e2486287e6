package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/redis-gateway/redis-gateway/openapi"
)

// asyncDoc is the part of the AsyncAPI document the test reads.
type asyncDoc struct {
	Channels map[string]struct {
		Address  string                     `json:"address"`
		Messages map[string]json.RawMessage `json:"messages"`
	} `json:"channels"`
	Components struct {
		Schemas  map[string]json.RawMessage `json:"schemas"`
		Messages map[string]struct {
			Name    string `json:"name"`
			Payload struct {
				Ref string `json:"$ref"`
			} `json:"payload"`
			Examples []struct {
				Payload json.RawMessage `json:"payload"`
			} `json:"examples"`
		} `json:"messages"`
	} `json:"components"`
}

// asyncSchemas loads the document's schemas with kin-openapi (they are
// JSON Schema, as OpenAPI's are), so payloads can be validated.
func asyncSchemas(t *testing.T, doc *asyncDoc) openapi3.Schemas {
	t.Helper()
	schemas, err := json.Marshal(doc.Components.Schemas)
	if err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf(`{"openapi":"3.1.0","info":{"title":"asyncapi schemas","version":"1"},"paths":{},"components":{"schemas":%s}}`, schemas)
	oa, err := openapi3.NewLoader().LoadFromData([]byte(wrapper))
	if err != nil {
		t.Fatal(err)
	}
	return oa.Components.Schemas
}

// TestAsyncAPIMatchesTheServer holds the hand-written /asyncapi.json to
// the server: it is served as embedded; its channels are exactly the
// event-stream and WebSocket routes of /openapi.json; every message
// example fits its schema; and real events and frames, from every channel,
// are messages of that channel whose payloads fit their schemas.
func TestAsyncAPIMatchesTheServer(t *testing.T) {
	g := newGateway(t, gatewayOpts{})
	rep := g.do(t, "GET", "/asyncapi.json", nil)
	if rep.Status != 200 || rep.Header.Get("Content-Type") != "application/json" || !bytes.Equal(rep.Body, openapi.AsyncAPI()) {
		t.Fatalf("GET /asyncapi.json: %d %q", rep.Status, rep.Header.Get("Content-Type"))
	}
	var doc asyncDoc
	if err := json.Unmarshal(rep.Body, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := asyncSchemas(t, &doc)
	// messages by name (the SSE event name) or type (a WebSocket frame's
	// "type"), per channel address
	byChannel := map[string]map[string][]string{}
	for _, ch := range doc.Channels {
		m := map[string][]string{}
		for key := range ch.Messages {
			msg := doc.Components.Messages[key]
			schema := strings.TrimPrefix(msg.Payload.Ref, "#/components/schemas/")
			name := msg.Name
			if s := schemas[schema]; s != nil && s.Value.Properties["type"] != nil && len(s.Value.Properties["type"].Value.Enum) == 1 {
				name, _ = s.Value.Properties["type"].Value.Enum[0].(string)
			}
			m[name] = append(m[name], schema)
		}
		byChannel[ch.Address] = m
	}

	t.Run("ChannelsAreTheStreamingRoutes", func(t *testing.T) {
		oa, err := openapi3.NewLoader().LoadFromData(openapi.JSON())
		if err != nil {
			t.Fatal(err)
		}
		streaming := map[string]bool{}
		for path, item := range oa.Paths.Map() {
			for _, op := range item.Operations() {
				ok := op.Responses.Value("101") != nil
				if r := op.Responses.Value("200"); r != nil && r.Value.Content.Get("text/event-stream") != nil {
					ok = true
				}
				if ok {
					streaming[path] = true
				}
			}
		}
		for addr := range byChannel {
			if !streaming[addr] {
				t.Errorf("channel %s is not a streaming route of /openapi.json", addr)
			}
			delete(streaming, addr)
		}
		for path := range streaming {
			t.Errorf("streaming route %s has no channel in /asyncapi.json", path)
		}
	})

	t.Run("TheValidatorRefuses", func(t *testing.T) {
		for schema, payload := range map[string]string{
			"WSPing":       `{"type":"pong"}`,
			"MessageEvent": `{"channel":1,"message":"x"}`,
			"Lagged":       `{}`,
			"Empty":        `{"x":1}`,
		} {
			if validatePayload(schemas[schema].Value, []byte(payload)) == nil {
				t.Errorf("%s accepts %s", schema, payload)
			}
		}
	})

	t.Run("ExamplesFitTheirSchemas", func(t *testing.T) {
		for key, msg := range doc.Components.Messages {
			s := schemas[strings.TrimPrefix(msg.Payload.Ref, "#/components/schemas/")]
			if s == nil || len(msg.Examples) == 0 {
				t.Errorf("message %s: no schema or no example", key)
				continue
			}
			for _, ex := range msg.Examples {
				if err := validatePayload(s.Value, ex.Payload); err != nil {
					t.Errorf("message %s example %s: %v", key, ex.Payload, err)
				}
			}
		}
	})

	// fits checks a real payload against the channel's message of that
	// name.
	fits := func(t *testing.T, address, name string, payload []byte) {
		t.Helper()
		cands := byChannel[address][name]
		if len(cands) == 0 {
			t.Errorf("%s sent %q, which is not a message of its channel: %s", address, name, payload)
			return
		}
		var errs []string
		for _, c := range cands {
			err := validatePayload(schemas[c].Value, payload)
			if err == nil {
				return
			}
			errs = append(errs, err.Error())
		}
		t.Errorf("%s %q %s fits no schema: %s", address, name, payload, strings.Join(errs, "; "))
	}

	t.Run("SSE", func(t *testing.T) {
		ch := "aa:" + t.Name()
		key := "aa:stream:" + t.Name()
		single := openSSE(t, g.URL, "/db/0/channels/"+url.PathEscape(ch)+"/events")
		pattern := openSSE(t, g.URL, "/db/0/patterns/"+url.PathEscape("aa:*")+"/events")
		tail := openSSE(t, g.URL, "/db/0/streams/"+url.PathEscape(key)+"/events?start=0")
		multi := openSSE(t, g.URL, "/db/0/events?channel="+url.QueryEscape(ch)+"&pattern="+url.QueryEscape("aa:*")+"&stream="+url.QueryEscape(key)+"&start=0")
		for _, body := range []string{`{"message":"hello"}`, "\xff\xfe"} {
			ct := "Content-Type: application/json"
			if !strings.HasPrefix(body, "{") {
				ct = "Content-Type: application/octet-stream"
			}
			if r := g.do(t, "POST", "/db/0/channels/"+url.PathEscape(ch)+"/messages", body, ct); r.Status != 200 {
				t.Fatalf("publish: %d %s", r.Status, r.Body)
			}
		}
		if r := g.do(t, "POST", "/db/0/streams/"+url.PathEscape(key), map[string]any{"fields": map[string]string{"temp": "21.5"}}); r.Status != 201 {
			t.Fatalf("xadd: %d %s", r.Status, r.Body)
		}
		for range 2 {
			ev := single.next(t, "")
			fits(t, "/db/{db}/channels/{channel}/events", ev.Event, []byte(ev.Data))
			ev = pattern.next(t, "")
			fits(t, "/db/{db}/patterns/{pattern}/events", ev.Event, []byte(ev.Data))
		}
		ev := tail.next(t, "")
		fits(t, "/db/{db}/streams/{key}/events", ev.Event, []byte(ev.Data))
		for range 5 {
			ev := multi.next(t, "")
			fits(t, "/db/{db}/events", ev.Event, []byte(ev.Data))
		}
	})

	t.Run("WebSocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, strings.Replace(g.URL, "http", "ws", 1)+"/db/0/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		ch := "aaws:" + t.Name()
		frames := []string{
			`{"id":1,"type":"subscribe","channel":"` + ch + `"}`,
			`{"id":2,"type":"psubscribe","pattern":"aaws:*"}`,
			`{"id":3,"type":"publish","channel":"` + ch + `","message":"hello"}`,
			`{"id":4,"type":"command","command":["SELECT","1"]}`,
			`{"id":5,"type":"command","command":["INCR","aaws:n"]}`,
			`{"id":6,"type":"ping"}`,
			`{"id":7,"type":"unsubscribe","channel":"` + ch + `"}`,
			`{"id":8,"type":"punsubscribe","pattern":"aaws:*"}`,
			`{"id":9,"type":"nope"}`,
		}
		const wsAddr = "/db/{db}/ws"
		// Two rounds: the published message reaches the session through the
		// database's fan-out after PUBLISH answers, so the unsubscribes
		// wait until both pushes (channel and pattern) have arrived.
		rounds := []struct {
			frames []string
			reads  int
		}{{frames[:3], 3 + 2}, {frames[3:], len(frames) - 3}}
		for _, round := range rounds {
			for _, f := range round.frames {
				var v struct{ Type string }
				_ = json.Unmarshal([]byte(f), &v)
				if v.Type != "nope" {
					fits(t, wsAddr, v.Type, []byte(f)) // what the client sends is described too
				}
				if err := conn.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
					t.Fatal(err)
				}
			}
			for range round.reads {
				_, b, err := conn.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var v struct{ Type string }
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				fits(t, wsAddr, v.Type, b)
			}
		}
	})
}

// validatePayload checks a JSON payload against a schema.
func validatePayload(s *openapi3.Schema, payload []byte) error {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return err
	}
	return s.VisitJSON(v, openapi3.MultiErrors())
}
