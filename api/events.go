//go:build realtime

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
		db := database(r)
		h := d.hubs[db.Name]
		sub, err := h.newSubscriber()
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		defer h.release(sub)
		if err := h.add(r.Context(), sub, topic{pattern: pattern, name: name}); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		stream, err := newSSE(w, 2*time.Second)
		if err != nil {
			return
		}
		d.metrics.addSubscribers(db.Name, "sse", 1)
		defer d.metrics.addSubscribers(db.Name, "sse", -1)
		pumpEvents(d, r, stream, sub, enc)
	}
}

// pumpEvents writes a subscriber's events to an SSE stream until the client
// leaves, a write fails, or the server shuts down.
func pumpEvents(d *deps, r *http.Request, stream *sseWriter, sub *subscriber, enc Encoding) {
	ticker := time.NewTicker(d.cfg.Heartbeat)
	defer ticker.Stop()
	var buf []byte
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
		case <-ticker.C:
			err = stream.comment("ping")
		case <-d.closing:
			_ = stream.event("shutdown", "", []byte("{}"))
			return
		case <-r.Context().Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// appendEventJSON renders a hub event as the JSON data of an event.
func appendEventJSON(b []byte, ev hubEvent, enc Encoding) []byte {
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
