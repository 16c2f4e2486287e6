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

// TestMultiplexedResume resumes a multiplexed stream from the id of its
// last entry event, sent as the Last-Event-ID header (an EventSource
// reconnecting by itself) or as the last_event_id parameter (a new
// EventSource, opened with a fresh token after the old one expired, which
// cannot set the header: before the parameter existed it started from $
// and lost what was added in between).
func TestMultiplexedResume(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	g := newGateway(t, gatewayOpts{redis: rs})
	cases := []struct {
		name   string
		resume func(id string) (query url.Values, headers []string)
	}{
		{"Header", func(id string) (url.Values, []string) { return url.Values{}, []string{"Last-Event-ID: " + id} }},
		{"Param", func(id string) (url.Values, []string) { return url.Values{"last_event_id": {id}}, nil }},
		{"HeaderWins", func(id string) (url.Values, []string) {
			return url.Values{"last_event_id": {"x=0-0"}}, []string{"Last-Event-ID: " + id}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s1, s2 := t.Name()+":s1", t.Name()+":s2"
			streams := url.Values{"stream": {s1, s2}}
			ev := openSSE(t, g.URL, "/db/0/events?"+streams.Encode())
			rs.Do(t, "XADD", s1, "1-1", "f", "one")
			rs.Do(t, "XADD", s2, "1-1", "f", "two")
			var lastID string
			for range 2 {
				lastID = ev.next(t, "entry").ID
			}
			ev.cancel()
			rs.Do(t, "XADD", s1, "2-1", "f", "three")
			rs.Do(t, "XADD", s2, "2-1", "f", "four")
			q, headers := tc.resume(lastID)
			q["stream"] = streams["stream"]
			back := openSSE(t, g.URL, "/db/0/events?"+q.Encode(), headers...)
			var got []string
			for range 2 {
				var m struct{ Fields map[string]string }
				_ = json.Unmarshal([]byte(back.next(t, "entry").Data), &m)
				got = append(got, m.Fields["f"])
			}
			if strings.Join(got, " ") != "three four" {
				t.Fatalf("resumed from %q (%v, %v): got entries %v, want [three four]", lastID, q, headers, got)
			}
		})
	}
}
