package api

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/resp"
)

// The Upstash-compatible surface: an adapter over the same clients, auth
// and command policy as the REST API, speaking the wire format of the
// Upstash Redis REST API so that the @upstash/redis npm client works
// unchanged. See docs/upstash.md for the format and the differences.

// upstashRoutes adds the surface under prefix+"/{db}", as a group in the
// root router (as the /db/{db} routes are): chi routes a request once,
// without a mounted subrouter's second pass. root is the whole router,
// for the Allow header of a 405.
//
// Every path under prefix+"/{db}/" is a route for GET, POST and PUT (the
// command in the path), so no request there is a 404; another method is
// the root router's 405, which answers in the surface's format
// (upstashNotAllowed), before authentication, as a 404 under /db/{db} is
// (the routes are public at /openapi.json).
func upstashRoutes(r chi.Router, d *deps, prefix string) {
	fail := d.upstashError
	base := prefix + "/{db}"
	r.Group(func(r chi.Router) {
		r.Use(authenticateWith(d, fail), withDatabaseWith(d, fail), syncTokens(d, "Upstash-Sync-Token"), idempotent(d, fail))
		command := handleUpstashCommand(d)
		for _, p := range []string{base, base + "/"} {
			r.Post(p, command)
			r.Get(p, command)
		}
		r.Post(base+"/pipeline", handleUpstashBatch(d, false))
		r.Post(base+"/multi-exec", handleUpstashBatch(d, true))
		r.Post(base+"/subscribe/{channel}", handleUpstashSubscribe(d, false))
		r.Post(base+"/psubscribe/{channel}", handleUpstashSubscribe(d, true))
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
			r.Method(m, base+"/*", command)
		}
	})
}

// upstashNotAllowed answers a 405 under the Upstash prefix in the
// surface's format and reports true, or reports false for another path.
func (d *deps) upstashNotAllowed(w http.ResponseWriter, r *http.Request, allow string) bool {
	prefix := "/" + strings.Trim(d.cfg.UpstashPrefix, "/") + "/"
	if d.cfg.UpstashPrefix == "off" || !strings.HasPrefix(r.URL.Path, prefix) {
		return false
	}
	d.upstashError(w, r, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "ERR %s is not allowed; use %s", r.Method, allow))
	return true
}

// upstashError answers {"error": "…"} (plus "outcome", not_sent or
// unknown, for a command that got no reply) with the status the Upstash
// API uses:
// 400 for a Redis error or a refused command, 401 for a bad token, and the
// gateway's status (404, 405, 413, 429, 503, 504) otherwise.
func (d *deps) upstashError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	stateOf(r.Context()).failure = ae
	status, msg := ae.status, ae.detail
	var re *client.Error
	switch {
	case errors.As(err, &re) && status < 500:
		status, msg = http.StatusBadRequest, re.Msg
	case ae.code == CodeForbiddenCommand:
		status, msg = http.StatusBadRequest, "NOPERM "+ae.detail
	case ae.code == CodeForbiddenDatabase:
		status, msg = http.StatusUnauthorized, "NOPERM "+ae.detail
	case ae.code == CodeForbiddenHost, ae.code == CodeCrossSite:
		msg = "NOPERM " + ae.detail
	case status == http.StatusUnauthorized:
		msg = "Unauthorized"
	case ae.code == CodeValidation && len(ae.fields) > 0:
		msg = "ERR " + ae.detail + ": " + ae.fields[0].Field + " " + ae.fields[0].Message
	}
	if status >= 500 {
		d.logger.Error("upstash request failed", "req_id", RequestID(r.Context()), "code", ae.code, "err", err)
	}
	if status == 499 {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	b := append([]byte(`{"error":`), appendString(nil, strings.ToValidUTF8(msg, "\uFFFD"))...)
	if ae.outcome != "" {
		// whether the command may have run, as on the REST surface
		b = append(b, `,"outcome":`...)
		b = appendString(b, ae.outcome)
	}
	if pe := (*client.PipelineError)(nil); errors.As(err, &pe) {
		// as the REST problem says it: the first completed ran, the
		// last not_sent did not
		b = strconv.AppendInt(append(b, `,"completed":`...), int64(len(pe.Results)), 10)
		if pe.NotSent > 0 {
			b = strconv.AppendInt(append(b, `,"not_sent":`...), int64(pe.NotSent), 10)
		}
	}
	b = append(b, "}\n"...)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// safeMethod refuses, on GET and HEAD, a command that is not read-only
// (405 METHOD_NOT_ALLOWED; the caller adds Allow: POST): a link, an image
// tag or a prefetch must never change Redis. Read-only is what levelFor
// calls the read level, from Redis's own command flags; the dangerous list
// and unknown commands count as not read-only.
func (d *deps) safeMethod(r *http.Request, args []string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	need, err := d.levelFor(r.Context(), database(r).Client, args)
	if err != nil {
		return err
	}
	if need != LevelRead {
		return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "ERR %s is not read-only and may not run on %s; send it with POST", strings.ToUpper(args[0]), r.Method)
	}
	return nil
}

// upstashFormat is how replies are rendered, from the request headers.
type upstashFormat struct {
	base64 bool // Upstash-Encoding: base64
	resp2  bool // Upstash-Response-Format: resp2 (raw RESP2 bytes)
}

func upstashFormatOf(r *http.Request) (upstashFormat, error) {
	var f upstashFormat
	switch strings.ToLower(r.Header.Get("Upstash-Encoding")) {
	case "", "utf8", "utf-8", "none":
	case "base64":
		f.base64 = true
	default:
		return f, errValidation("ERR unsupported Upstash-Encoding; use base64")
	}
	switch strings.ToLower(r.Header.Get("Upstash-Response-Format")) {
	case "", "json":
	case "resp2":
		f.resp2 = true
	default:
		return f, errValidation("ERR unsupported Upstash-Response-Format; use json or resp2")
	}
	if f.base64 && f.resp2 {
		return f, errValidation("ERR Upstash-Encoding: base64 cannot be combined with Upstash-Response-Format: resp2")
	}
	return f, nil
}

// readUpstashBody decodes a JSON body into v, with the body limit.
func readUpstashBody(r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return err // over maxArgs
		}
		return errValidation("ERR the body must be a JSON array of command arguments")
	}
	return nil
}

// handleUpstashCommand runs one command: POST with a JSON array body, or
// the path form (/set/key/value, GET or POST/PUT with the raw body as the
// last argument and query parameters appended as NAME value).
func handleUpstashCommand(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := upstashFormatOf(r)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		var args []string
		if rest := chi.URLParam(r, "*"); rest != "" {
			args, err = upstashPathArgs(r, rest, d.cfg.BodyLimit)
		} else {
			var raw upstashArgList
			err = readUpstashBody(r, d.cfg.BodyLimit, &raw)
			args = raw
		}
		if err == nil && len(args) == 0 {
			err = errValidation("ERR empty command: send a JSON array such as [\"GET\",\"key\"]")
		}
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		args = d.scripts.rewrite(args)
		if err := d.safeMethod(r, args); err != nil {
			w.Header().Set("Allow", http.MethodPost)
			d.upstashError(w, r, err)
			return
		}
		be, err := d.prepareRESP2(r, args)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		// encoded while read: a long reply is never held as Values
		visit := func(run func(*upstashVisitor) error) {
			u := upstashVisitor{b: append(make([]byte, 0, 512), `{"result":`...), b64: f.base64}
			if err := run(&u); err != nil {
				d.upstashError(w, r, err)
				return
			}
			writeUpstashJSON(w, append(u.b, "}\n"...))
		}
		visits := !f.resp2 && !isScriptLoad(args)
		if vw, ok := be.(visitWithin); ok && visits && !client.IsBlocking(args) {
			// the client owns the deadline: no context timer per command
			visit(func(u *upstashVisitor) error {
				return vw.DoVisitWithin(fencedContext(d.syncContext(r.Context(), args)), d.cfg.CommandTimeout, u, args...)
			})
			return
		}
		ctx, cancel, err := d.commandContext(r.Context(), args)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		defer cancel()
		if vb, ok := be.(client.Visiting); ok && visits {
			visit(func(u *upstashVisitor) error { return vb.DoVisit(ctx, u, args...) })
			return
		}
		v, err := be.DoRaw(ctx, args...)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		v = d.scripts.reply(args, v)
		if f.resp2 {
			var buf bytes.Buffer
			rw := resp.NewWriter(&buf)
			if err := rw.WriteRESP2(v); err != nil || rw.Flush() != nil {
				d.upstashError(w, r, fmt.Errorf("api: write RESP2: %w", err))
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(buf.Bytes())
			return
		}
		b := append([]byte(`{"result":`), appendUpstashValue(nil, v, f.base64)...)
		writeUpstashJSON(w, append(b, "}\n"...))
	}
}

// upstashPathArgs reads the path form: every path segment unescaped once,
// then the body (POST/PUT) as one more argument, then the query parameters
// in order, except _token.
func upstashPathArgs(r *http.Request, rest string, limit int64) ([]string, error) {
	var args []string
	for _, seg := range strings.Split(strings.Trim(rest, "/"), "/") {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return nil, errValidation("ERR a path segment is not validly escaped")
		}
		args = append(args, s)
	}
	if r.Method != http.MethodGet {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			args = append(args, string(body))
		}
	}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		name, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errValidation("ERR a query parameter is not validly escaped")
		}
		if name == "_token" {
			continue
		}
		args = append(args, name)
		if val != "" {
			args = append(args, val)
		}
	}
	return args, nil
}

// handleUpstashBatch runs POST /pipeline (commands in order on one
// connection; each result or error in place, status 200) or POST
// /multi-exec (MULTI/EXEC on a connection of its own; a discarded
// transaction is one 400 error).
func handleUpstashBatch(d *deps, atomic bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := upstashFormatOf(r)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		var raw []upstashArgList
		if err := readUpstashBody(r, d.cfg.BodyLimit, &raw); err != nil {
			d.upstashError(w, r, err)
			return
		}
		if len(raw) == 0 || len(raw) > d.cfg.MaxPipeline {
			d.upstashError(w, r, errValidation(fmt.Sprintf("ERR a pipeline holds 1 to %d commands", d.cfg.MaxPipeline)))
			return
		}
		if err := checkArgCount(raw); err != nil {
			d.upstashError(w, r, err)
			return
		}
		backend, contained, err := d.backendRESP2(r)
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		cmds := make([][]string, len(raw))
		refused := make([]error, len(raw)) // per command, before anything runs
		for i, c := range raw {
			cmds[i] = d.scripts.rewrite(c)
			if err := client.CheckCommand(cmds[i]); err != nil {
				refused[i] = err
			} else if err := d.authorize(r, contained, cmds[i]); err != nil {
				refused[i] = err
			}
		}
		var res []client.Result
		if atomic {
			for i, err := range refused {
				if err != nil {
					d.upstashError(w, r, errValidation(fmt.Sprintf("EXECABORT Transaction discarded because of previous errors: command %d: %s", i, upstashErrorText(err))))
					return
				}
			}
			ctx, cancel, err := d.commandContext(r.Context(), cmds...)
			if err != nil {
				d.upstashError(w, r, err)
				return
			}
			defer cancel()
			// as on the REST route: an unknown command discards the
			// transaction before anything is sent, on every server
			for i, args := range cmds {
				if ci, err := database(r).Client.CommandInfo(ctx, args); err == nil && !ci.Known {
					d.upstashError(w, r, errValidation(fmt.Sprintf("EXECABORT Transaction discarded because of previous errors: command %d: ERR unknown command '%s'", i, args[0])))
					return
				}
			}
			if tv, ok := backend.(txVisiting); ok && !anyScriptLoad(cmds) {
				j := newUpstashBatchJSON(append(make([]byte, 0, 512), '['), f.base64, refused)
				err = tv.TransactionVisit(ctx, nil, cmds, j)
				var te *client.TxError
				if errors.As(err, &te) {
					d.upstashError(w, r, te.Err)
					return
				}
				if err != nil {
					d.upstashError(w, r, err)
					return
				}
				writeUpstashJSON(w, append(j.finish(), "]\n"...))
				return
			}
			res, err = backend.Transaction(ctx, nil, cmds)
			var te *client.TxError
			if errors.As(err, &te) {
				d.upstashError(w, r, te.Err)
				return
			}
		} else {
			if pv, ok := backend.(pipeVisiting); ok && !anyScriptLoad(cmds) {
				b, err := d.upstashPipeVisit(r, pv, cmds, refused, f.base64)
				if err != nil {
					d.upstashError(w, r, err)
					return
				}
				writeUpstashJSON(w, append(b, "]\n"...))
				return
			}
			res, err = d.upstashPipe(r, backend, cmds, refused)
		}
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		b := append(make([]byte, 0, 64*len(res)), '[')
		for i, rr := range res {
			if i > 0 {
				b = append(b, ',')
			}
			if rr.Err != nil {
				b = append(b, `{"error":`...)
				b = appendString(b, strings.ToValidUTF8(upstashErrorText(rr.Err), "\uFFFD"))
				b = append(b, '}')
				continue
			}
			b = append(b, `{"result":`...)
			b = appendUpstashValue(b, d.scripts.reply(cmds[i], rr.Raw), f.base64)
			b = append(b, '}')
		}
		writeUpstashJSON(w, append(b, "]\n"...))
	}
}

// runnable returns the commands of a batch that were not refused.
func runnable(cmds [][]string, refused []error) [][]string {
	run := make([][]string, 0, len(cmds))
	for i, c := range cmds {
		if refused[i] == nil {
			run = append(run, c)
		}
	}
	return run
}

// upstashPipe runs the commands that were not refused as one pipeline and
// puts the refusals in their places.
func (d *deps) upstashPipe(r *http.Request, b client.Backend, cmds [][]string, refused []error) ([]client.Result, error) {
	run := runnable(cmds, refused)
	ctx, cancel, err := d.commandContext(r.Context(), run...)
	if err != nil {
		return nil, err
	}
	defer cancel()
	got, err := b.Pipe(ctx, run)
	if err != nil {
		return nil, err
	}
	res := make([]client.Result, len(cmds))
	for i := range cmds {
		if refused[i] != nil {
			res[i].Err = refused[i]
			continue
		}
		res[i], got = got[0], got[1:]
	}
	return res, nil
}

// upstashPipeVisit is upstashPipe writing the reply while it is read
// (upstashBatchJSON); it returns the JSON array without its closing
// bracket.
func (d *deps) upstashPipeVisit(r *http.Request, pv pipeVisiting, cmds [][]string, refused []error, b64 bool) ([]byte, error) {
	run := runnable(cmds, refused)
	ctx, cancel, err := d.commandContext(r.Context(), run...)
	if err != nil {
		return nil, err
	}
	defer cancel()
	j := newUpstashBatchJSON(append(make([]byte, 0, 512), '['), b64, refused)
	if err := pv.PipeVisit(ctx, run, j); err != nil {
		return nil, err
	}
	return j.finish(), nil
}

// isScriptLoad reports SCRIPT LOAD, whose reply the Upstash surface maps
// (upstashScripts.reply) and so reads whole.
func isScriptLoad(args []string) bool {
	return len(args) >= 2 && strings.EqualFold(args[0], "SCRIPT") && strings.EqualFold(args[1], "LOAD")
}

func anyScriptLoad(cmds [][]string) bool {
	for _, c := range cmds {
		if isScriptLoad(c) {
			return true
		}
	}
	return false
}

// upstashErrorText is the text of a per-command error: the Redis error as
// Redis wrote it, or the refusal as a NOPERM error.
func upstashErrorText(err error) string {
	var re *client.Error
	if errors.As(err, &re) {
		return re.Msg
	}
	if ae := classify(err); ae.code == CodeForbiddenCommand {
		return "NOPERM " + ae.detail
	}
	return "ERR " + err.Error()
}

func writeUpstashJSON(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// appendUpstashValue renders a RESP2-shaped reply as the Upstash API does:
// integers as numbers, nil as null, arrays as arrays, strings as JSON
// strings (invalid UTF-8 replaced by U+FFFD) or, with b64, base64 of their
// bytes; an error inside an array becomes its text.
func appendUpstashValue(b []byte, v resp.Value, b64 bool) []byte {
	switch v.Kind {
	case resp.Integer:
		return strconv.AppendInt(b, v.Int, 10)
	case resp.Null:
		return append(b, "null"...)
	case resp.Array:
		b = append(b, '[')
		for i, e := range v.Elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendUpstashValue(b, e, b64)
		}
		return append(b, ']')
	case resp.ErrorReply:
		return appendString(b, strings.ToValidUTF8(string(v.Str), "\uFFFD"))
	}
	return appendUpstashBytes(b, v.Str, b64)
}

// handleUpstashSubscribe streams a channel's (or pattern's) messages as
// the Upstash client reads them: "data: subscribe,<channel>,1" once the
// subscription is confirmed, then "data: message,<channel>,<payload>" or
// "data: pmessage,<pattern>,<channel>,<payload>". It shares the database's
// fan-out with the REST event streams.
func handleUpstashSubscribe(d *deps, pattern bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := url.PathUnescape(chi.URLParam(r, "channel"))
		if err != nil {
			d.upstashError(w, r, errValidation("ERR the channel is not validly escaped"))
			return
		}
		cmd, kind := "SUBSCRIBE", "subscribe"
		if pattern {
			cmd, kind = "PSUBSCRIBE", "psubscribe"
		}
		if _, err := d.prepare(r, []string{cmd, name}); err != nil {
			d.upstashError(w, r, err)
			return
		}
		db := database(r)
		h := d.hubs[db.Name]
		sub, err := h.newSubscriber(d.hears(r))
		if err != nil {
			d.upstashError(w, r, err)
			return
		}
		defer h.release(sub)
		if err := h.add(r.Context(), sub, topic{pattern: pattern, name: name}); err != nil {
			d.upstashError(w, r, err)
			return
		}
		// counted before the headers go out: a client that has the stream
		// already sees itself in the gauge
		d.metrics.addSubscribers(db.Name, "upstash", 1)
		defer d.metrics.addSubscribers(db.Name, "upstash", -1)
		stream, err := newSSE(w, 2*time.Second)
		if err != nil {
			return
		}
		var buf []byte
		line := func(parts ...[]byte) error {
			buf = append(buf[:0], "data: "...)
			for i, p := range parts {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, upstashSSEText(p)...)
			}
			buf = append(buf, "\n\n"...)
			return stream.raw(buf)
		}
		if line([]byte(kind), []byte(name), []byte("1")) != nil {
			return
		}
		ticker := time.NewTicker(d.cfg.Heartbeat)
		defer ticker.Stop()
		for {
			var err error
			select {
			case ev := <-sub.events:
				switch ev.kind {
				case eventMessage:
					err = line([]byte("message"), []byte(ev.channel), ev.payload)
				case eventPMessage:
					err = line([]byte("pmessage"), []byte(ev.pattern), []byte(ev.channel), ev.payload)
				default:
					err = stream.comment(ev.kind + ": messages may have been missed")
				}
			case <-sub.lag:
				err = stream.comment("lagged: " + strconv.FormatInt(sub.takeDropped(), 10) + " messages dropped")
			case <-ticker.C:
				err = stream.comment("ping")
			case <-d.closing:
				return
			case <-r.Context().Done():
				return
			}
			if err != nil {
				return
			}
		}
	}
}

// upstashSSEText makes a payload safe for one SSE data line: invalid UTF-8
// is replaced by U+FFFD, and a payload holding CR or LF is sent as a JSON
// string literal, which the client's JSON.parse turns back into the exact
// text (a raw newline would end the line and cut the message).
func upstashSSEText(p []byte) []byte {
	if !utf8.Valid(p) {
		p = bytes.ToValidUTF8(p, []byte("\uFFFD"))
	}
	if bytes.ContainsAny(p, "\r\n") {
		return appendString(nil, p)
	}
	return p
}

// upstashScripts adapts Lua scripts written for Upstash: its
// "#!lua flags=allow-key-locking" shebang flag is unknown to Redis, so the
// flag is removed before the script reaches Redis, and EVALSHA with the
// SHA-1 of the original script is mapped to the SHA-1 of the script Redis
// knows.
type upstashScripts struct {
	shas sync.Map // SHA-1 of the original (hex) → SHA-1 sent to Redis
	n    atomic.Int64
}

// maxScriptMappings bounds the SHA map; past it, EVALSHA of a rewritten
// script gets NOSCRIPT and the client falls back to EVAL, which still
// works.
const maxScriptMappings = 10000

// upstashOnlyFlags are shebang flags Redis does not know.
var upstashOnlyFlags = map[string]bool{"allow-key-locking": true}

// rewrite returns args with an Upstash-only shebang flag removed from the
// script of EVAL, EVAL_RO and SCRIPT LOAD, and EVALSHA, EVALSHA_RO and
// SCRIPT EXISTS SHAs mapped. args is not modified.
func (s *upstashScripts) rewrite(args []string) []string {
	if len(args) < 2 {
		return args
	}
	name := client.Upper(args[0])
	at := 1
	switch name {
	case "EVAL", "EVAL_RO":
	case "SCRIPT":
		if len(args) < 3 {
			return args
		}
		switch strings.ToUpper(args[1]) {
		case "LOAD":
			at = 2
		case "EXISTS":
			out := append([]string(nil), args...)
			for i := 2; i < len(out); i++ {
				out[i] = s.mapped(out[i])
			}
			return out
		default:
			return args
		}
	case "EVALSHA", "EVALSHA_RO":
		if m := s.mapped(args[1]); m != args[1] {
			out := append([]string(nil), args...)
			out[1] = m
			return out
		}
		return args
	default:
		return args
	}
	script, ok := stripUpstashFlags(args[at])
	if !ok {
		return args
	}
	orig, sent := sha1Hex(args[at]), sha1Hex(script)
	if _, loaded := s.shas.Load(orig); !loaded && s.n.Load() < maxScriptMappings {
		if _, loaded := s.shas.LoadOrStore(orig, sent); !loaded {
			s.n.Add(1)
		}
	}
	out := append([]string(nil), args...)
	out[at] = script
	return out
}

// reply makes SCRIPT LOAD of a rewritten script answer the SHA-1 of the
// script the client sent, which EVALSHA then maps.
func (s *upstashScripts) reply(args []string, v resp.Value) resp.Value {
	if len(args) < 3 || !strings.EqualFold(args[0], "SCRIPT") || !strings.EqualFold(args[1], "LOAD") || v.Kind != resp.BulkString {
		return v
	}
	sent := string(v.Str)
	var orig string
	s.shas.Range(func(k, m any) bool {
		if m.(string) == sent {
			orig = k.(string)
			return false
		}
		return true
	})
	if orig == "" {
		return v
	}
	return resp.StringValue(orig)
}

func (s *upstashScripts) mapped(sha string) string {
	if m, ok := s.shas.Load(strings.ToLower(sha)); ok {
		return m.(string)
	}
	return sha
}

// stripUpstashFlags removes Upstash-only flags from a script's shebang
// line, and the shebang itself when no flag is left; it reports whether it
// changed anything.
func stripUpstashFlags(script string) (string, bool) {
	if !strings.HasPrefix(script, "#!") {
		return script, false
	}
	first, rest, hasRest := strings.Cut(script, "\n")
	fields := strings.Fields(first)
	changed := false
	out := fields[:0:0]
	for _, f := range fields {
		list, ok := strings.CutPrefix(f, "flags=")
		if !ok {
			out = append(out, f)
			continue
		}
		var keep []string
		for _, flag := range strings.Split(list, ",") {
			if upstashOnlyFlags[flag] {
				changed = true
				continue
			}
			if flag != "" {
				keep = append(keep, flag)
			}
		}
		if len(keep) > 0 {
			out = append(out, "flags="+strings.Join(keep, ","))
		}
	}
	if !changed {
		return script, false
	}
	line := strings.Join(out, " ")
	if len(out) == 1 {
		// Nothing left but "#!lua": drop the shebang and keep an empty
		// first line, so line numbers in errors stay right and Lua
		// engines without shebang support (the embedded one) run it.
		line = ""
	}
	if hasRest {
		return line + "\n" + rest, true
	}
	return line, true
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
