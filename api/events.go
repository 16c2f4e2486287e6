package api

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/redis-gateway/redis-gateway/client"
)

// handleChannelEvents serves GET /db/{db}/channels/{channel}/events.
//
// @Summary      Subscribe to a channel (Server-Sent Events)
// @Description  Streams messages published on the channel as `text/event-stream`. Each message is an event named `message` whose data is JSON `{"channel","message"}`; a message that is not valid UTF-8 is sent as `{"channel","message_base64"}` under the default encoding (with `?encoding=base64` every message is `message` in base64). Other events: `lagged` `{"dropped": n}` when this subscriber fell behind and messages were dropped for it; `reconnected` `{}` when the gateway's connection to Redis was re-established (messages published meanwhile were missed); `shutdown` `{}` before the gateway stops. Comments (`: ping`) keep the connection alive. All subscribers of a database share one Redis connection.
// @ID           subscribeChannel
// @Tags         pubsub
// @Produce      text/event-stream
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        channel   path   string  true   "Channel (escape / as %2F)"  example(news)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {string}  string  "event stream"
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/channels/{channel}/events [get]
func handleChannelEvents(d *deps) http.HandlerFunc { return sseSubscribe(d, false) }

// handlePatternEvents serves GET /db/{db}/patterns/{pattern}/events.
//
// @Summary      Subscribe to a pattern (Server-Sent Events)
// @Description  Like the channel stream, for every channel matching a glob-style pattern (PSUBSCRIBE). Message events carry `{"pattern","channel","message"}`.
// @ID           subscribePattern
// @Tags         pubsub
// @Produce      text/event-stream
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        pattern   path   string  true   "Glob-style pattern (escape / as %2F)"  example(news.*)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      200  {string}  string  "event stream"
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/patterns/{pattern}/events [get]
func handlePatternEvents(d *deps) http.HandlerFunc { return sseSubscribe(d, true) }

// sseSubscribe streams a channel's or a pattern's messages.
func sseSubscribe(d *deps, pattern bool) http.HandlerFunc {
	param := "channel"
	if pattern {
		param = "pattern"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := pathParam(r, param)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r) // checked by pathParam
		cmd := "SUBSCRIBE"
		if pattern {
			cmd = "PSUBSCRIBE"
		}
		if _, err := d.prepare(r, []string{cmd, name}); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		db := database(r)
		h := d.hubs[db.Name]
		sub, err := h.newSubscriber(d.hears(r))
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		defer h.release(sub)
		if err := h.add(r.Context(), sub, topic{pattern: pattern, name: name}); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		// counted before the headers go out: a client that has the stream
		// already sees itself in the gauge
		d.metrics.addSubscribers(db.Name, "sse", 1)
		defer d.metrics.addSubscribers(db.Name, "sse", -1)
		stream, err := newSSE(w, 2*time.Second)
		if err != nil {
			return
		}
		pumpEvents(d, r, stream, sub, enc)
	}
}

// pumpEvents writes a subscriber's events to an SSE stream until the client
// leaves, a write fails, or the server shuts down.
func pumpEvents(d *deps, r *http.Request, stream *sseWriter, sub *subscriber, enc Encoding) {
	r, cancel := tokenExpiry(r)
	defer cancel()
	d.pumpMulti(r, stream, sub, nil, enc, nil)
}

// takeTail takes one of the database's stream-tail slots (each tail holds
// a blocking connection) and returns its release, or 503 POOL_TIMEOUT.
func (d *deps) takeTail(db *Database) (func(), error) {
	sem := d.tails[db.Name]
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	default:
		return nil, &apiError{status: http.StatusServiceUnavailable, code: CodePoolTimeout, detail: "too many stream tails on this database", retryAfter: 1, outcome: OutcomeNotSent}
	}
}

// appendProblemEvent renders an error as the data of an "error" event.
func appendProblemEvent(b []byte, err error) []byte {
	ae := classify(err)
	b = append(b, `{"code":`...)
	b = appendString(b, ae.code)
	b = append(b, `,"detail":`...)
	b = appendString(b, ae.detail)
	return append(b, '}')
}

// appendEventJSON renders a hub event as the JSON data of an event.
func appendEventJSON(b []byte, ev *hubEvent, enc Encoding) []byte {
	if ev.kind == eventReconnected {
		return append(b, "{}"...)
	}
	m := client.Map{}
	if ev.pattern != "" {
		m = append(m, client.Entry{Key: "pattern", Value: []byte(ev.pattern)})
	}
	m = append(m, client.Entry{Key: "channel", Value: []byte(ev.channel)})
	if enc == EncodingUTF8 && !utf8.Valid(ev.payload) {
		m = append(m, client.Entry{Key: "message_base64", Value: ev.payload})
		e := valueEncoder{b: b, enc: EncodingBase64}
		_ = e.value(m)
		return e.b
	}
	m = append(m, client.Entry{Key: "message", Value: ev.payload})
	e := valueEncoder{b: b, enc: enc}
	if err := e.value(m); err != nil {
		// Only a non-UTF-8 channel name can get here; send it all base64.
		e = valueEncoder{b: b, enc: EncodingBase64}
		_ = e.value(m)
	}
	return e.b
}

// handleStreamEvents serves GET /db/{db}/streams/{key}/events.
//
// @Summary      Tail a stream (Server-Sent Events)
// @Description  Streams entries as they are added, each an `entry` event whose SSE `id` is the entry ID and whose data is `{"id","fields"}`; a browser EventSource that reconnects sends `Last-Event-ID` and resumes right after it, losing nothing. `start` picks where to begin without Last-Event-ID: `$` (default: only new entries), `0` (everything) or an ID (entries after it). With `group` and `consumer` the tail reads as a consumer group member (XREADGROUP): entries already delivered to this consumer but not acknowledged come first, then new ones; with `ack=true` each entry is acknowledged (XACK) once written, otherwise acknowledge with XACK through /command. Each tail holds one blocking Redis connection; over max_stream_tails per database the answer is 503 POOL_TIMEOUT. If Redis goes away an `error` event is sent and the tail resumes when it is back.
// @ID           tailStream
// @Tags         streams
// @Produce      text/event-stream
// @Param        db             path    string   true   "Database name"  example(0)
// @Param        key            path    string   true   "Key"  example(sensor:1)
// @Param        start          query   string   false  "$ (new only), 0 (all) or an entry ID"  default($)
// @Param        group          query   string   false  "Consumer group"
// @Param        consumer       query   string   false  "Consumer name (with group)"
// @Param        ack            query   bool     false  "Acknowledge entries once sent (with group)"
// @Param        count          query   integer  false  "Most entries per read (1-1000)"  default(100)
// @Param        encoding       query   string   false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        Last-Event-ID  header  string   false  "Resume after this entry ID"
// @Success      200  {string}  string  "event stream"
// @Failure      400  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      503  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/streams/{key}/events [get]
func handleStreamEvents(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := keyParam(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		q := queryOf(r)
		group, consumer := q.Get("group"), q.Get("consumer")
		if (group == "") != (consumer == "") {
			writeError(w, r, d.logger, errValidation("group and consumer go together", FieldError{Field: "consumer", Message: "is required with group (and group with consumer)"}))
			return
		}
		ack, err := boolQuery(r, "ack")
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		count, err := intQuery(r, "count", 100, 1, 1000)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if group != "" && r.Method == http.MethodHead {
			// A group read moves the group's cursor: GET (EventSource)
			// may, a HEAD probe may not.
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, r, d.logger, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "a consumer-group tail reads with XREADGROUP, which changes the group; use GET"))
			return
		}
		probe := []string{"XREAD", "STREAMS", key, "0"}
		if group != "" {
			probe = []string{"XREADGROUP", "GROUP", group, consumer, "STREAMS", key, ">"}
		}
		if _, err := d.prepare(r, probe); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		db := database(r)
		release, err := d.takeTail(db)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		defer release()
		r, cancel := tokenExpiry(r)
		defer cancel()
		t := &tail{d: d, r: r, key: key, group: group, consumer: consumer, ack: ack, count: strconv.FormatInt(count, 10), enc: enc}
		if group == "" {
			t.last = r.Header.Get("Last-Event-ID")
			if t.last == "" {
				t.last = q.Get("start")
			}
			if t.last == "" || t.last == "$" {
				if t.last, err = t.lastID(); err != nil {
					writeError(w, r, d.logger, err)
					return
				}
			}
		} else {
			t.last = "0" // this consumer's pending entries first
		}
		// counted before the headers go out: a client that has the stream
		// already sees itself in the gauge
		d.metrics.addSubscribers(db.Name, "stream", 1)
		defer d.metrics.addSubscribers(db.Name, "stream", -1)
		stream, err := newSSE(w, time.Second)
		if err != nil {
			return
		}
		t.run(stream)
	}
}

// tail is one stream tail in progress.
type tail struct {
	d                    *deps
	r                    *http.Request
	key, group, consumer string
	ack                  bool
	count                string
	enc                  Encoding
	last                 string // last ID delivered (or "0"/">" in group mode)
}

// lastID returns the stream's newest ID, or "0-0" when it is empty, so
// that "$" is fixed once and no entry added between reads is skipped.
func (t *tail) lastID() (string, error) {
	v, err := t.d.runDefault(t.r, "XREVRANGE", t.key, "+", "-", "COUNT", "1")
	if err != nil {
		return "", err
	}
	if es, ok := v.([]any); ok && len(es) == 1 {
		if m, ok := es[0].(client.Map); ok {
			if id, ok := m[0].Value.(string); ok {
				return id, nil
			}
		}
	}
	return "0-0", nil
}

// run reads and sends entries until the client leaves or the server stops.
func (t *tail) run(stream *sseWriter) {
	ctx := t.r.Context()
	block := strconv.FormatInt(max(t.d.cfg.Heartbeat.Milliseconds(), 1), 10)
	var buf []byte
	failing := false
	for {
		select {
		case <-ctx.Done():
			if tokenExpired(ctx) {
				_ = stream.event("expired", "", []byte("{}"))
			}
			return
		case <-t.d.closing:
			_ = stream.event("shutdown", "", []byte("{}"))
			return
		default:
		}
		var args []string
		switch {
		case t.group == "":
			args = []string{"XREAD", "COUNT", t.count, "BLOCK", block, "STREAMS", t.key, t.last}
		case t.last == "0":
			args = []string{"XREADGROUP", "GROUP", t.group, t.consumer, "COUNT", t.count, "STREAMS", t.key, "0"}
		default:
			args = []string{"XREADGROUP", "GROUP", t.group, t.consumer, "COUNT", t.count, "BLOCK", block, "STREAMS", t.key, ">"}
		}
		v, err := t.d.runDefault(t.r, args...)
		if err != nil {
			if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
				<-ctx.Done() // the socket's copy of the deadline fired first
			}
			if ctx.Err() != nil {
				if tokenExpired(ctx) {
					_ = stream.event("expired", "", []byte("{}"))
				}
				return
			}
			ae := classify(err)
			if !failing {
				buf = appendProblemEvent(buf[:0], err)
				if stream.event("error", "", buf) != nil {
					return
				}
			}
			failing = true
			if ae.status < 500 {
				return // a permanent problem (WRONGTYPE, NOGROUP…): end the stream
			}
			select {
			case <-ctx.Done():
				return
			case <-t.d.closing:
				_ = stream.event("shutdown", "", []byte("{}"))
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		failing = false
		entries := streamEntriesOf(v)
		if len(entries) == 0 {
			if t.group != "" && t.last == "0" {
				t.last = ">" // pending drained: now new entries
			}
			if stream.comment("ping") != nil {
				return
			}
			continue
		}
		for _, e := range entries {
			id, _ := e[0].Value.(string)
			enc := valueEncoder{b: buf[:0], enc: t.enc}
			if err := enc.value(e); err != nil {
				enc = valueEncoder{b: buf[:0], enc: EncodingBase64}
				_ = enc.value(append(client.Map{{Key: "encoding", Value: "base64"}}, e...))
			}
			buf = enc.b
			if stream.event("entry", id, buf) != nil {
				return
			}
			if t.group == "" {
				t.last = id
			} else if t.ack {
				if _, err := t.d.runDefault(t.r, "XACK", t.key, t.group, id); err != nil {
					t.d.logger.Debug("stream tail: XACK failed", "req_id", RequestID(ctx), "err", err)
				}
			}
		}
	}
}

// streamEntriesOf digs the entries out of an XREAD/XREADGROUP reply
// shaped by the default callbacks: [{stream, entries: [{id, fields}]}].
func streamEntriesOf(v any) []client.Map {
	streams, _ := v.([]any)
	var out []client.Map
	for _, s := range streams {
		sm, _ := s.(client.Map)
		for _, en := range sm {
			if en.Key != "entries" {
				continue
			}
			es, _ := en.Value.([]any)
			for _, e := range es {
				if m, ok := e.(client.Map); ok {
					out = append(out, m)
				}
			}
		}
	}
	return out
}
