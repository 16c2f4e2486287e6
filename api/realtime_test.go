package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	ID, Event, Data string
}

// sseStream reads events from an open event stream.
type sseStream struct {
	events chan sseEvent
	cancel context.CancelFunc
}

// openSSE connects to path and returns once the response headers arrived.
func openSSE(tb testing.TB, base, path string, headers ...string) *sseStream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("open %s: %v", path, err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		tb.Fatalf("open %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{events: make(chan sseEvent, 10000), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	tb.Cleanup(cancel)
	return s
}

// next returns the next event of the given name (any event for ""),
// skipping others.
func (s *sseStream) next(tb testing.TB, name string) sseEvent {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				tb.Fatalf("stream ended while waiting for %q", name)
			}
			if name == "" || ev.Event == name {
				return ev
			}
		case <-timeout:
			tb.Fatalf("no %q event within 10s", name)
		}
	}
}

// numsub returns PUBSUB NUMSUB for channel on server rs.
func numsub(tb testing.TB, rs *redistest.Server, channel string) int64 {
	v := rs.Do(tb, "PUBSUB", "NUMSUB", channel)
	return v.Elems[1].Int
}

func TestSSEFanOutOneConnection(t *testing.T) {
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	const subs = 50
	ch := "news/" + t.Name()
	var streams []*sseStream
	for range subs {
		streams = append(streams, openSSE(t, g.URL, "/db/0/channels/"+url.PathEscape(ch)+"/events"))
	}
	waitFor(t, func() bool { return numsub(t, rs, ch) == 1 })
	for i := range 20 {
		rep := g.do(t, "POST", "/db/0/channels/"+url.PathEscape(ch)+"/messages", map[string]any{"message": fmt.Sprint("m", i)})
		if rep.Status != 200 {
			t.Fatalf("publish: %d %s", rep.Status, rep.Body)
		}
	}
	for si, s := range streams {
		for i := range 20 {
			ev := s.next(t, "message")
			want := fmt.Sprintf(`{"channel":%q,"message":"m%d"}`, ch, i)
			if ev.Data != want {
				t.Fatalf("subscriber %d message %d: got %s, want %s", si, i, ev.Data, want)
			}
		}
	}
	// One Redis connection serves them all: NUMSUB counts subscribers
	// (connections), and it stayed 1.
	if n := numsub(t, rs, ch); n != 1 {
		t.Fatalf("NUMSUB %d, want 1 shared connection", n)
	}
	for _, s := range streams {
		s.cancel()
	}
	waitFor(t, func() bool { return numsub(t, rs, ch) == 0 })
}

func TestSSEPatternAndBinary(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	s := openSSE(t, g.URL, "/db/0/patterns/"+url.PathEscape(t.Name()+".*")+"/events")
	waitFor(t, func() bool {
		return g.do(t, "POST", "/db/0/channels/"+url.PathEscape(t.Name()+".a")+"/messages", map[string]any{"message": "x"}).Body[len(`{"receivers":`)] != '0'
	})
	ev := s.next(t, "pmessage")
	want := fmt.Sprintf(`{"pattern":"%s.*","channel":"%s.a","message":"x"}`, t.Name(), t.Name())
	if ev.Data != want {
		t.Fatalf("got %s, want %s", ev.Data, want)
	}
	g.do(t, "POST", "/db/0/channels/"+url.PathEscape(t.Name()+".b")+"/messages", []byte{0xff, 0x00}, "Content-Type: application/octet-stream")
	ev = s.next(t, "pmessage")
	if !strings.Contains(ev.Data, `"message_base64":"/wA="`) {
		t.Fatalf("binary message: got %s, want message_base64 /wA=", ev.Data)
	}
}

func TestSSESlowSubscriberIsLagged(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{SubscriberBuffer: 4}})
	ch := t.Name()
	// A subscriber that never reads: its events pile up in its buffer.
	srv := NewServer(nil, Config{SubscriberBuffer: 4}, []*Database{g.DBs["0"]}, nil)
	h := srv.d.hubs["0"]
	slow, err := h.newSubscriber(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.release(slow)
	if err := h.add(t.Context(), slow, topic{name: ch}); err != nil {
		t.Fatal(err)
	}
	fast, _ := h.newSubscriber(nil)
	defer h.release(fast)
	if err := h.add(t.Context(), fast, topic{name: ch}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	waitFor(t, func() bool { return numsub(t, shared, ch) == 1 })
	// The fast subscriber takes each message before the next is published:
	// its buffer (4, like the slow one's) must never be what drops it, or
	// a loaded machine turns this test into a hang.
	var got []string
	for i := range 10 {
		shared.Do(t, "PUBLISH", ch, fmt.Sprint(i))
		select {
		case ev := <-fast.events:
			got = append(got, string(ev.payload))
		case <-time.After(5 * time.Second):
			t.Fatalf("fast subscriber: message %d did not arrive within 5s (got %v)", i, got)
		}
	}
	if strings.Join(got, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Fatalf("fast subscriber got %v, want all 10 in order", got)
	}
	waitFor(t, func() bool { return len(slow.lag) == 1 })
	if n := slow.takeDropped(); n != 6 {
		t.Fatalf("slow subscriber dropped %d, want 6 (buffer 4 of 10)", n)
	}
	for i := range 4 {
		if ev := <-slow.events; string(ev.payload) != fmt.Sprint(i) {
			t.Fatalf("slow subscriber kept %q at %d, want the oldest messages", ev.payload, i)
		}
	}
}

func TestSSEResubscribesAfterRedisRestart(t *testing.T) {
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	s := openSSE(t, g.URL, "/db/0/channels/alerts/events")
	waitFor(t, func() bool { return numsub(t, rs, "alerts") == 1 })
	rs.Restart()
	s.next(t, "reconnected")
	waitFor(t, func() bool { return numsub(t, rs, "alerts") == 1 })
	g.do(t, "POST", "/db/0/channels/alerts/messages", map[string]any{"message": "back"})
	if ev := s.next(t, "message"); !strings.Contains(ev.Data, `"back"`) {
		t.Fatalf("after restart got %s", ev.Data)
	}
}

func TestStreamTailResumesFromLastEventID(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{Heartbeat: 200 * time.Millisecond}})
	key := url.PathEscape(t.Name())
	add := func(v string) string {
		rep := g.do(t, "POST", "/db/0/streams/"+key, map[string]any{"fields": map[string]string{"v": v}})
		var r struct{ ID string }
		_ = json.Unmarshal(rep.Body, &r)
		return r.ID
	}
	first := add("before")
	s := openSSE(t, g.URL, "/db/0/streams/"+key+"/events")
	id2 := add("one")
	ev := s.next(t, "entry")
	if ev.ID != id2 || !strings.Contains(ev.Data, `"v":"one"`) {
		t.Fatalf("tail with $: got %+v, want only the new entry %s (not %s)", ev, id2, first)
	}
	s.cancel()
	// Entries added while disconnected arrive on resume, exactly once.
	id3, id4 := add("two"), add("three")
	r := openSSE(t, g.URL, "/db/0/streams/"+key+"/events", "Last-Event-ID: "+id2)
	for _, want := range []string{id3, id4} {
		if ev := r.next(t, "entry"); ev.ID != want {
			t.Fatalf("resume: got %s, want %s", ev.ID, want)
		}
	}
	all := openSSE(t, g.URL, "/db/0/streams/"+key+"/events?start=0")
	if ev := all.next(t, "entry"); ev.ID != first {
		t.Fatalf("start=0: got %s, want %s", ev.ID, first)
	}
}

func TestStreamTailConsumerGroup(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	key := t.Name()
	shared.Do(t, "XGROUP", "CREATE", key, "g", "$", "MKSTREAM")
	s := openSSE(t, g.URL, "/db/0/streams/"+url.PathEscape(key)+"/events?group=g&consumer=c1&ack=true")
	id := string(shared.Do(t, "XADD", key, "*", "k", "v").Str)
	if ev := s.next(t, "entry"); ev.ID != id {
		t.Fatalf("group tail: got %s, want %s", ev.ID, id)
	}
	waitFor(t, func() bool { return shared.Do(t, "XPENDING", key, "g").Elems[0].Int == 0 })
	if rep := g.do(t, "GET", "/db/0/streams/"+url.PathEscape(key)+"/events?group=g", nil); rep.Status != 400 {
		t.Fatalf("group without consumer: %d", rep.Status)
	}
}

func TestStreamTailLimit(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{cfg: Config{MaxStreamTails: 1}})
	openSSE(t, g.URL, "/db/0/streams/"+url.PathEscape(t.Name())+"/events")
	rep := g.do(t, "GET", "/db/0/streams/"+url.PathEscape(t.Name())+"/events", nil)
	if rep.Status != 503 || rep.Problem(t).Code != "POOL_TIMEOUT" {
		t.Fatalf("second tail over the limit: %d %s", rep.Status, rep.Body)
	}
}

func TestWebSocket(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(g.URL, "http", "ws", 1)+"/db/0/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(frame string) {
		if err := conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() map[string]any {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		return m
	}
	ch := t.Name()
	send(`{"id":1,"type":"subscribe","channel":"` + ch + `"}`)
	if m := recv(); m["id"] != 1.0 || m["type"] != "result" {
		t.Fatalf("subscribe reply %v", m)
	}
	send(`{"id":"p","type":"publish","channel":"` + ch + `","message":"hello"}`)
	var gotMsg, gotReply bool
	for !(gotMsg && gotReply) {
		m := recv()
		switch {
		case m["type"] == "message" && m["message"] == "hello" && m["channel"] == ch:
			gotMsg = true
		case m["id"] == "p" && m["type"] == "result" && m["result"] == 1.0:
			gotReply = true
		default:
			t.Fatalf("unexpected frame %v", m)
		}
	}
	send(`{"id":2,"type":"command","command":["ZADD","` + ch + `:z","1","a"]}`)
	recv()
	send(`{"id":3,"type":"command","command":["ZRANGE","` + ch + `:z","0","-1","WITHSCORES"]}`)
	if m := recv(); fmt.Sprint(m["result"]) != "[map[member:a score:1]]" {
		t.Fatalf("command frame: %v", m)
	}
	send(`{"id":4,"type":"command","command":["SELECT","1"]}`)
	if m := recv(); m["type"] != "error" || m["error"].(map[string]any)["code"] != "FORBIDDEN_COMMAND" {
		t.Fatalf("forbidden command frame: %v", m)
	}
	send(`{"id":5,"type":"bogus"}`)
	if m := recv(); m["type"] != "error" {
		t.Fatalf("bogus frame: %v", m)
	}
}
