package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestTwoGatewaysShareNothing runs two gateway processes over one Redis, as
// behind a load balancer: an event-stream subscriber on one and a
// WebSocket subscriber on the other both receive what is published through
// either, and a write through one is read through the other.
func TestTwoGatewaysShareNothing(t *testing.T) {
	rs := redistest.Start(t)
	a := startBinary(t, []string{"REDIS_URL=" + rs.URL(0)})
	b := startBinary(t, []string{"REDIS_URL=" + rs.URL(0)})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// Event stream on A.
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL+"/db/0/channels/lb/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("SSE on A: %v %v", res, err)
	}
	defer res.Body.Close()
	sse := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				sse <- l[len("data: "):]
			}
		}
	}()

	// WebSocket on B.
	ws, _, err := websocket.Dial(ctx, strings.Replace(b.URL, "http", "ws", 1)+"/db/0/ws", nil)
	if err != nil {
		t.Fatalf("WebSocket on B: %v", err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":1,"type":"subscribe","channel":"lb"}`)); err != nil {
		t.Fatal(err)
	}
	frame := func() map[string]any {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("WebSocket read: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := frame(); m["type"] != "result" {
		t.Fatalf("subscribe on B: %v", m)
	}

	for i, via := range []*proc{b, a} {
		msg := []string{"published through B", "published through A"}[i]
		code, body := httpDo(t, "POST", via.URL+"/db/0/channels/lb/messages", `{"message":"`+msg+`"}`)
		if code != 200 || !strings.Contains(body, `"receivers":2`) {
			t.Fatalf("publish %q: %d %s, want 2 receivers (one shared Redis connection per gateway)", msg, code, body)
		}
		select {
		case d := <-sse:
			if !strings.Contains(d, msg) {
				t.Fatalf("SSE on A got %s, want %q", d, msg)
			}
		case <-ctx.Done():
			t.Fatalf("SSE on A never got %q", msg)
		}
		if m := frame(); m["type"] != "message" || m["message"] != msg {
			t.Fatalf("WebSocket on B got %v, want %q", m, msg)
		}
	}

	if code, body := httpDo(t, "PUT", a.URL+"/db/0/strings/lb-key", `{"value":"written via A"}`); code != 200 {
		t.Fatalf("PUT via A: %d %s", code, body)
	}
	if code, body := httpDo(t, "GET", b.URL+"/db/0/strings/lb-key", ""); code != 200 || !strings.Contains(body, "written via A") {
		t.Fatalf("GET via B: %d %s", code, body)
	}
}
