package api

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

func TestMultiplexedEvents(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs, cfg: Config{Tokens: []Token{
		{Name: "page", Secret: "page", Databases: []string{"0"}, Level: LevelRead, Keys: []string{"u:*"}, Channels: []string{"u:*"}},
	}}})
	auth := "Authorization: Bearer page"
	q := url.Values{"channel": {"u:a", "u:b"}, "pattern": {"u:*"}, "stream": {"u:s1", "u:s2"}}
	// refused before the stream opens: a channel, or a stream key, outside
	for _, bad := range []url.Values{
		{"channel": {"u:a", "orders"}},
		{"stream": {"u:s1", "secret"}},
	} {
		if rep := g.do(t, "GET", "/db/0/events?"+bad.Encode(), nil, auth); rep.Status != 403 {
			t.Errorf("%v: got %d %s, want 403", bad, rep.Status, rep.Body)
		}
	}
	ev := openSSE(t, g.URL, "/db/0/events?"+q.Encode(), auth)
	rs.Do(t, "PUBLISH", "u:a", "one")
	rs.Do(t, "PUBLISH", "u:b", "two")
	rs.Do(t, "PUBLISH", "u:zzz", "three") // the pattern only
	rs.Do(t, "XADD", "u:s1", "1-1", "f", "four")
	rs.Do(t, "XADD", "u:s2", "1-1", "f", "five")
	seen := map[string]bool{}
	var lastID string
	for len(seen) < 7 { // u:a and u:b arrive twice: by channel and by pattern
		e := ev.next(t, "")
		switch e.Event {
		case "message", "pmessage":
			var m struct{ Channel, Message, Pattern string }
			_ = json.Unmarshal([]byte(e.Data), &m)
			seen[e.Event+" "+m.Message] = true
		case "entry":
			var m struct {
				Stream, ID string
				Fields     map[string]string
			}
			_ = json.Unmarshal([]byte(e.Data), &m)
			seen["entry "+m.Stream+" "+m.Fields["f"]] = true
			lastID = e.ID
		}
	}
	for _, want := range []string{"message one", "message two", "pmessage one", "pmessage three", "entry u:s1 four", "entry u:s2 five"} {
		if !seen[want] {
			t.Errorf("never received %q (got %v)", want, seen)
		}
	}
	ev.cancel()
	// Resume: entries added while away arrive once, nothing before them.
	rs.Do(t, "XADD", "u:s1", "2-1", "f", "six")
	rs.Do(t, "XADD", "u:s2", "2-1", "f", "seven")
	back := openSSE(t, g.URL, "/db/0/events?"+url.Values{"stream": {"u:s1", "u:s2"}}.Encode(), auth, "Last-Event-ID: "+lastID)
	got := []string{}
	for len(got) < 2 {
		e := back.next(t, "entry")
		got = append(got, e.Data)
	}
	joined := strings.Join(got, " ")
	if !strings.Contains(joined, "six") || !strings.Contains(joined, "seven") || strings.Contains(joined, "four") || strings.Contains(joined, "five") {
		t.Fatalf("after resuming from %q: %s", lastID, joined)
	}
}
