package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/redis-gateway/redis-gateway/client"
)

// WSRequest is a frame a WebSocket client sends. ID is echoed in the
// reply so requests and replies can be matched.
type WSRequest struct {
	// ID is any JSON value chosen by the client, echoed in the reply.
	ID json.RawMessage `json:"id,omitempty" swaggertype:"string" example:"1"`
	// Type is subscribe, psubscribe, unsubscribe, punsubscribe, publish,
	// command or ping.
	Type string `json:"type" example:"subscribe"`
	// Channel for subscribe, unsubscribe and publish.
	Channel string `json:"channel,omitempty" example:"news"`
	// Pattern for psubscribe and punsubscribe.
	Pattern string `json:"pattern,omitempty"`
	// Message for publish.
	Message string `json:"message,omitempty"`
	// Command for command: name and arguments, as for /command.
	Command []string `json:"command,omitempty"`
}

// handleWebSocket serves GET /db/{db}/ws.
//
// @Summary      WebSocket: subscribe, publish and run commands
// @Description  Upgrades to a WebSocket carrying JSON text frames. The client sends `{"id", "type", …}` with type `subscribe` (`channel`), `psubscribe` (`pattern`), `unsubscribe`, `punsubscribe`, `publish` (`channel`, `message`), `command` (`command`: ["GET","k"], same policy and shaping as /command) or `ping`; each gets `{"id","type":"result","result":…}` or `{"id","type":"error","error":{problem}}` (status, code, detail, and for a command that got no reply `outcome`: not_sent or unknown, plus `retry_after` seconds when a retry is safe). The server pushes `{"type":"message","channel","message"}`, `{"type":"pmessage","pattern","channel","message"}`, `{"type":"lagged","dropped":n}`, `{"type":"reconnected"}` and `{"type":"shutdown"}`. Browsers' Origin must be allowed by the CORS configuration. Frames are limited to the body limit; the server pings at the heartbeat interval.
// @ID           openWebSocket
// @Tags         pubsub
// @Param        db        path   string  true   "Database name"  example(0)
// @Param        encoding  query  string  false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Success      101  "Switching Protocols"
// @Failure      403  {object}  Problem
// @Failure      404  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/ws [get]
func handleWebSocket(d *deps) http.HandlerFunc {
	opts := &websocket.AcceptOptions{}
	for _, o := range d.cfg.CORSOrigins {
		if o == "*" {
			opts.InsecureSkipVerify = true // every origin is allowed by configuration
		}
		opts.OriginPatterns = append(opts.OriginPatterns, hostOf(o))
	}
	return func(w http.ResponseWriter, r *http.Request) {
		enc, err := encodingOf(r)
		if err != nil {
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
		conn, err := websocket.Accept(w, r, opts)
		if err != nil {
			return // Accept has answered the client
		}
		defer conn.CloseNow()
		conn.SetReadLimit(d.cfg.BodyLimit)
		d.metrics.addSubscribers(db.Name, "websocket", 1)
		defer d.metrics.addSubscribers(db.Name, "websocket", -1)
		s := &wsSession{d: d, r: r, conn: conn, sub: sub, h: h, enc: enc}
		s.serve()
	}
}

// hostOf turns a CORS origin ("https://app.example.com") into the host
// pattern the WebSocket library matches.
func hostOf(origin string) string {
	if _, rest, ok := strings.Cut(origin, "://"); ok {
		return rest
	}
	return origin
}

// wsSession is one WebSocket connection.
type wsSession struct {
	d    *deps
	r    *http.Request
	conn *websocket.Conn
	sub  *subscriber
	h    *hub
	enc  Encoding
}

// serve runs the push pump and the request loop until either ends.
func (s *wsSession) serve() {
	r, stop := tokenExpiry(s.r)
	defer stop()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		defer cancel()
		defer func() {
			if v := recover(); v != nil {
				s.d.logger.Error("websocket pump panicked", "req_id", RequestID(ctx), "err", v)
			}
		}()
		s.pump(ctx)
	}()
	s.readLoop(ctx)
	cancel()
	<-pumpDone
}

// pump pushes events and pings until ctx ends or the server shuts down.
func (s *wsSession) pump(ctx context.Context) {
	ticker := time.NewTicker(s.d.cfg.Heartbeat)
	defer ticker.Stop()
	var buf []byte
	for {
		var err error
		select {
		case ev := <-s.sub.events:
			buf = append(buf[:0], `{"type":`...)
			buf = appendString(buf, ev.kind)
			if ev.kind != eventReconnected {
				buf = append(buf, ',')
				data := appendEventJSON(nil, ev, s.enc)
				buf = append(buf, data[1:len(data)-1]...) // merge the event's fields
			}
			buf = append(buf, '}')
			err = s.write(ctx, buf)
		case <-s.sub.lag:
			buf = append(buf[:0], `{"type":"lagged","dropped":`...)
			buf = appendInt64(buf, s.sub.takeDropped())
			buf = append(buf, '}')
			err = s.write(ctx, buf)
		case <-ticker.C:
			pctx, cancel := context.WithTimeout(ctx, s.d.cfg.Heartbeat)
			err = s.conn.Ping(pctx)
			cancel()
		case <-s.d.closing:
			_ = s.write(ctx, []byte(`{"type":"shutdown"}`))
			_ = s.conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ctx.Done():
			if tokenExpired(ctx) {
				wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
				_ = s.write(wctx, []byte(`{"type":"expired"}`))
				wcancel()
				_ = s.conn.Close(websocket.StatusPolicyViolation, "token expired")
			}
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *wsSession) write(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, sseWriteTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, b)
}

// readLoop handles requests one at a time until the connection closes.
func (s *wsSession) readLoop(ctx context.Context) {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			_ = s.conn.Close(websocket.StatusUnsupportedData, "frames must be JSON text")
			return
		}
		var req WSRequest
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.reply(ctx, nil, nil, jsonError(err))
			continue
		}
		res, err := s.handle(ctx, req)
		s.reply(ctx, req.ID, res, err)
	}
}

// handle runs one request.
func (s *wsSession) handle(ctx context.Context, req WSRequest) (any, error) {
	need := func(field, v string) error {
		if v == "" {
			return errValidation("a field is missing", FieldError{Field: field, Message: "is required for " + req.Type})
		}
		return nil
	}
	dec := func(field, v string) (string, error) { return decodeArg(s.enc, field, v) }
	switch req.Type {
	case "ping":
		return "pong", nil
	case "subscribe", "unsubscribe":
		if err := need("channel", req.Channel); err != nil {
			return nil, err
		}
		ch, err := dec("channel", req.Channel)
		if err != nil {
			return nil, err
		}
		return s.change(ctx, req.Type == "subscribe", topic{name: ch}, "SUBSCRIBE")
	case "psubscribe", "punsubscribe":
		if err := need("pattern", req.Pattern); err != nil {
			return nil, err
		}
		p, err := dec("pattern", req.Pattern)
		if err != nil {
			return nil, err
		}
		return s.change(ctx, req.Type == "psubscribe", topic{pattern: true, name: p}, "PSUBSCRIBE")
	case "publish":
		if err := need("channel", req.Channel); err != nil {
			return nil, err
		}
		ch, err := dec("channel", req.Channel)
		if err != nil {
			return nil, err
		}
		msg, err := dec("message", req.Message)
		if err != nil {
			return nil, err
		}
		return s.d.do(s.r, "PUBLISH", ch, msg)
	case "command":
		args, err := commandArgs(s.r, "command", req.Command)
		if err != nil {
			return nil, err
		}
		return s.d.do(s.r, args...)
	}
	return nil, errValidation("unknown frame type", FieldError{Field: "type", Message: "must be one of: subscribe psubscribe unsubscribe punsubscribe publish command ping"})
}

// change adds or removes a subscription after checking the token may
// subscribe.
func (s *wsSession) change(ctx context.Context, add bool, t topic, cmd string) (any, error) {
	if !add {
		s.h.remove(ctx, s.sub, t)
		return true, nil
	}
	if _, err := s.d.prepare(s.r, []string{cmd, t.name}); err != nil {
		return nil, err
	}
	if err := s.h.add(ctx, s.sub, t); err != nil {
		return nil, err
	}
	return true, nil
}

// reply writes {"id","type":"result","result"} or {"id","type":"error",
// "error": problem}; the problem carries outcome (not_sent, unknown) and
// retry_after (seconds) as the HTTP problem and its Retry-After do.
func (s *wsSession) reply(ctx context.Context, id json.RawMessage, res any, err error) {
	m := client.Map{}
	if len(id) > 0 {
		m = append(m, client.Entry{Key: "id", Value: rawJSON(id)})
	}
	if err == nil {
		m = append(m, client.Entry{Key: "type", Value: "result"}, client.Entry{Key: "result", Value: res})
		e := valueEncoder{enc: s.enc}
		if err = e.value(m); err == nil {
			_ = s.write(ctx, e.b)
			return
		}
		m = m[:len(m)-2]
	}
	ae := classify(err)
	if ae.status >= 500 && ae.status != 503 && ae.status != 504 {
		s.d.logger.Error("websocket request failed", "req_id", RequestID(ctx), "err", err)
	}
	prob := client.Map{{Key: "status", Value: int64(ae.status)}, {Key: "code", Value: ae.code}, {Key: "detail", Value: ae.detail}}
	if ae.outcome != "" {
		prob = append(prob, client.Entry{Key: "outcome", Value: ae.outcome})
	}
	if ae.retryAfter > 0 {
		prob = append(prob, client.Entry{Key: "retry_after", Value: int64(ae.retryAfter)})
	}
	if len(ae.fields) > 0 {
		fs := make([]any, len(ae.fields))
		for i, f := range ae.fields {
			fs[i] = client.Map{{Key: "field", Value: f.Field}, {Key: "message", Value: f.Message}}
		}
		prob = append(prob, client.Entry{Key: "errors", Value: fs})
	}
	m = append(m, client.Entry{Key: "type", Value: "error"}, client.Entry{Key: "error", Value: prob})
	e := valueEncoder{enc: s.enc}
	_ = e.value(m)
	_ = s.write(ctx, e.b)
}

// rawJSON is a JSON value copied verbatim by the encoder.
type rawJSON json.RawMessage
