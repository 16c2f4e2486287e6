package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
)

// maxSources bounds the channels, patterns and streams of one multiplexed
// event stream.
const maxSources = 64

// handleMultiEvents serves GET /db/{db}/events.
//
// @Summary      Many channels, patterns and streams on one event stream (SSE)
// @Description  One `text/event-stream` for everything a page listens to, so that a browser stays under its six-connections-per-origin limit on HTTP/1.1. Repeat `channel`, `pattern` and `stream` (up to 64 in all). Pub/sub messages arrive as `message` `{"channel","message"}` or `pmessage` `{"pattern","channel","message"}` events; stream entries as `entry` `{"stream","id","fields"}` events whose SSE `id` encodes the position of every stream (`s1=1-0&s2=5-0`), so that an EventSource that reconnects with `Last-Event-ID` resumes every stream right after what it saw, losing nothing and receiving nothing twice. A new EventSource (a page that minted a fresh token after `expired`) cannot send that header: it passes the same value as `last_event_id`. `start` ($ by default, 0, or an ID) applies to streams without a position. Every source is checked against the token (channel patterns, key patterns) before the stream opens. Also `lagged`, `reconnected`, `error`, `expired` and `shutdown` events as on the single-source streams. With streams, the stream holds one blocking connection (max_stream_tails).
// @ID           multiEvents
// @Tags         pubsub
// @Produce      text/event-stream
// @Param        db             path    string    true   "Database name"  example(0)
// @Param        channel        query   []string  false  "Channel (repeatable)"  collectionFormat(multi)  example(news)
// @Param        pattern        query   []string  false  "Pattern (repeatable)"  collectionFormat(multi)
// @Param        stream         query   []string  false  "Stream key (repeatable)"  collectionFormat(multi)
// @Param        start          query   string    false  "$ (new only), 0 (all) or an entry ID, for streams without a position"  default($)
// @Param        encoding       query   string    false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        Last-Event-ID  header  string    false  "Positions to resume from (the id of the last entry event)"
// @Param        last_event_id  query   string    false  "Positions to resume from, when the Last-Event-ID header is absent (a new EventSource)"
// @Success      200  {string}  string  "event stream"
// @Failure      400  {object}  Problem
// @Failure      403  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/events [get]
func handleMultiEvents(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		chans, pats, keys := q["channel"], q["pattern"], q["stream"]
		if n := len(chans) + len(pats) + len(keys); n == 0 || n > maxSources {
			writeError(w, r, d.logger, errValidation("name 1 to 64 sources", FieldError{Field: "channel", Message: "give channel, pattern or stream, 1 to 64 in all"}))
			return
		}
		enc, err := encodingOf(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		for _, c := range chans {
			if _, err := d.prepare(r, []string{"SUBSCRIBE", c}); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		for _, p := range pats {
			if _, err := d.prepare(r, []string{"PSUBSCRIBE", p}); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		// one XREAD over every stream checks the key patterns (by Redis,
		// through the token's ACL user) before the stream opens
		groups := streamGroups(database(r).Client, keys)
		pos, err := d.streamPositions(r, groups)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		db := database(r)
		for range groups {
			release, err := d.takeTail(db)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			defer release()
		}
		h := d.hubs[db.Name]
		sub, err := h.newSubscriber(d.hears(r))
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		defer h.release(sub)
		for _, c := range chans {
			if err := h.add(r.Context(), sub, topic{name: c}); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		for _, p := range pats {
			if err := h.add(r.Context(), sub, topic{pattern: true, name: p}); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		// counted before the headers go out: a client that has the stream
		// already sees itself in the gauge
		d.metrics.addSubscribers(db.Name, "sse", 1)
		defer d.metrics.addSubscribers(db.Name, "sse", -1)
		stream, err := newSSE(w, time.Second)
		if err != nil {
			return
		}
		r, cancel := tokenExpiry(r)
		defer cancel()
		ctx, stop := context.WithCancel(r.Context())
		var wg sync.WaitGroup
		defer wg.Wait()
		defer stop()
		reads := make(chan streamRead)
		for _, g := range groups {
			from := make(map[string]string, len(g)) // the reader's own copy
			for _, k := range g {
				from[k] = pos.Get(k)
			}
			wg.Go(func() {
				defer func() {
					if v := recover(); v != nil {
						d.logger.Error("stream reader panicked", "req_id", RequestID(ctx), "err", v)
					}
				}()
				d.readStreams(r.WithContext(ctx), g, from, reads)
			})
		}
		d.pumpMulti(r, stream, sub, reads, enc, pos)
	}
}

// slotted is implemented by backends that spread keys over hash slots (a
// Redis Cluster), where one command may only name keys of one slot.
type slotted interface {
	// KeySlot returns the hash slot of key.
	KeySlot(key string) int
}

// streamGroups splits the streams of a multiplexed request into the
// groups one XREAD may name: all of them in one, or, on a cluster, one
// group per hash slot (each then has its own reader and blocking
// connection, and takes its own tail slot), in the order of first
// appearance.
func streamGroups(b client.Backend, keys []string) [][]string {
	if len(keys) == 0 {
		return nil
	}
	s, ok := b.(slotted)
	if !ok {
		return [][]string{keys}
	}
	var groups [][]string
	at := map[int]int{}
	for _, k := range keys {
		slot := s.KeySlot(k)
		i, seen := at[slot]
		if !seen {
			i = len(groups)
			at[slot] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], k)
	}
	return groups
}

// streamRead is one XREAD answer of a multiplexed stream, or its error.
type streamRead struct {
	v   any
	err error
}

// streamPositions returns each stream's starting position: from
// Last-Event-ID (or the last_event_id parameter: a new EventSource, opened
// with a fresh token after the old one expired, cannot send the header but
// must resume all the same), else start ($ is fixed to the newest ID now, so nothing
// added meanwhile is skipped). It runs one non-blocking XREAD over each
// group of them (see streamGroups) first, so that a key the token may not
// read is refused before the stream opens.
func (d *deps) streamPositions(r *http.Request, groups [][]string) (url.Values, error) {
	pos := url.Values{}
	if len(groups) == 0 {
		return pos, nil
	}
	var keys []string
	for _, g := range groups {
		probe := append([]string{"XREAD", "COUNT", "1", "STREAMS"}, g...)
		for range g {
			probe = append(probe, "$")
		}
		if _, err := d.runDefault(r, probe...); err != nil {
			return nil, err
		}
		keys = append(keys, g...)
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = queryOf(r).Get("last_event_id")
	}
	last, _ := url.ParseQuery(lastID)
	start := queryOf(r).Get("start")
	for _, k := range keys {
		p := last.Get(k)
		if p == "" {
			p = start
		}
		if p == "" || p == "$" {
			v, err := d.runDefault(r, "XREVRANGE", k, "+", "-", "COUNT", "1")
			if err != nil {
				return nil, err
			}
			p = "0-0"
			if es, _ := v.([]any); len(es) > 0 {
				if m, ok := es[0].(client.Map); ok && len(m) > 0 {
					p, _ = m[0].Value.(string)
				}
			}
		}
		pos.Set(k, p)
	}
	return pos, nil
}

// readStreams runs XREAD BLOCK over the streams keys and hands each
// answer to reads until the request ends. Positions advance in pos, the
// reader's own copy (from each stream's start); the writer keeps the ones
// it reports in event ids.
func (d *deps) readStreams(r *http.Request, keys []string, pos map[string]string, reads chan<- streamRead) {
	ctx := r.Context()
	block := strconv.FormatInt(max(d.cfg.Heartbeat.Milliseconds(), 1), 10)
	for ctx.Err() == nil {
		args := append([]string{"XREAD", "COUNT", "100", "BLOCK", block, "STREAMS"}, keys...)
		for _, k := range keys {
			args = append(args, pos[k])
		}
		v, err := d.runDefault(r, args...)
		if err == nil {
			for _, s := range asList(v) {
				name, entries := streamOf(s)
				for _, e := range entries {
					if id, ok := e[0].Value.(string); ok {
						pos[name] = id
					}
				}
			}
		}
		select {
		case reads <- streamRead{v: v, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// asList returns v as a list (nil when it is not one).
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// streamOf returns the stream name and entries of one XREAD item.
func streamOf(s any) (string, []client.Map) {
	m, _ := s.(client.Map)
	var name string
	var out []client.Map
	for _, en := range m {
		switch en.Key {
		case "stream":
			switch n := en.Value.(type) {
			case []byte:
				name = string(n)
			case string:
				name = n
			}
		case "entries":
			for _, e := range asList(en.Value) {
				if em, ok := e.(client.Map); ok && len(em) > 0 {
					out = append(out, em)
				}
			}
		}
	}
	return name, out
}

// pumpMulti writes pub/sub events and stream entries (from reads; nil
// for a pub/sub-only stream) to one SSE stream until the client leaves,
// the token expires or the server shuts down. pos is the streams'
// positions, reported in each entry's id.
func (d *deps) pumpMulti(r *http.Request, stream *sseWriter, sub *subscriber, reads <-chan streamRead, enc Encoding, pos url.Values) {
	ticker := time.NewTicker(d.cfg.Heartbeat)
	defer ticker.Stop()
	var buf []byte
	failing := false
	for {
		var err error
		select {
		case ev := <-sub.events:
			buf = appendEventJSON(buf[:0], ev, enc)
			err = stream.event(ev.kind, "", buf)
		case <-sub.lag:
			buf = append(buf[:0], `{"dropped":`...)
			buf = strconv.AppendInt(buf, sub.takeDropped(), 10)
			buf = append(buf, '}')
			err = stream.event("lagged", "", buf)
		case rd := <-reads:
			if rd.err != nil {
				if failing || r.Context().Err() != nil {
					continue
				}
				failing = true
				buf = appendProblemEvent(buf[:0], rd.err)
				err = stream.event("error", "", buf)
				break
			}
			failing = false
			for _, s := range asList(rd.v) {
				name, entries := streamOf(s)
				for _, e := range entries {
					id, _ := e[0].Value.(string)
					pos.Set(name, id)
					m := append(client.Map{{Key: "stream", Value: []byte(name)}}, e...)
					ve := valueEncoder{b: buf[:0], enc: enc}
					if ve.value(m) != nil {
						ve = valueEncoder{b: buf[:0], enc: EncodingBase64}
						_ = ve.value(append(client.Map{{Key: "encoding", Value: "base64"}}, m...))
					}
					buf = ve.b
					if err = stream.event("entry", pos.Encode(), buf); err != nil {
						return
					}
				}
			}
		case <-ticker.C:
			err = stream.comment("ping")
		case <-d.closing:
			_ = stream.event("shutdown", "", []byte("{}"))
			return
		case <-r.Context().Done():
			if tokenExpired(r.Context()) {
				_ = stream.event("expired", "", []byte("{}"))
			}
			return
		}
		if err != nil {
			return
		}
	}
}
