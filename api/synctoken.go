package api

import (
	"context"
	"net/http"
	"net/textproto"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis-gateway/redis-gateway/client"
)

// Read-your-writes sync tokens, on both surfaces: the REST API's
// Redis-Sync-Token header and the Upstash surface's upstash-sync-token.
//
// Every response of a database route carries a token; a client sends the
// latest it received with its next request. On a database that reads
// from replicas (client.ReplicaReader: Sentinel with read_from_replicas),
// a token is the primary's replication offset, read with ROLE after a
// request that ran a command Redis does not flag readonly; a read carrying
// one runs only on a replica that has reached that offset, waiting up to
// Config.SyncWait for one, else on the primary. Elsewhere nothing reads
// from replicas, every read sees every write, and the token is a cheap
// counter (no Redis call) that grows with each request that runs
// commands. See docs/upstash.md#sync-tokens.

// syncState is the request's sync token: the one it brought (in, 0 when
// none or not a number) and whether it ran a command that may write.
type syncState struct {
	in    int64
	wrote atomic.Bool
}

// syncTracker is a database's latest token: the highest primary offset
// seen, or the write counter where nothing reads from replicas. It is
// safe for concurrent use.
type syncTracker struct {
	last atomic.Int64
	text atomic.Pointer[tokenText] // the last token formatted
}

// tokenText is a token and its decimal text.
type tokenText struct {
	n int64
	s string
}

// format returns n in decimal. Reads answer the same token until the next
// write moves it, so the last one formatted is kept and reused (no string
// per response).
func (t *syncTracker) format(n int64) string {
	if c := t.text.Load(); c != nil && c.n == n {
		return c.s
	}
	c := &tokenText{n, strconv.FormatInt(n, 10)}
	t.text.Store(c)
	return c.s
}

// raise makes the tracker at least n and returns its value.
func (t *syncTracker) raise(n int64) int64 {
	for {
		cur := t.last.Load()
		if cur >= n || t.last.CompareAndSwap(cur, n) {
			return max(cur, n)
		}
	}
}

// syncTokens reads the request's token from header, and adds the
// response's token (under the same header) just before the status line
// goes out, once the request's commands have run.
func syncTokens(d *deps, header string) func(http.Handler) http.Handler {
	header = textproto.CanonicalMIMEHeaderKey(header)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, ok := r.Context().Value(ctxState).(*reqState)
			if !ok {
				st = &reqState{}
			}
			st.sync = &st.syncMem
			if v := r.Header[header]; len(v) > 0 && v[0] != "" { // (ParseInt of "" allocates its error)
				if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n > 0 {
					st.syncMem.in = n
				}
			}
			st.syncW = syncWriter{ResponseWriter: w, d: d, r: r, header: header}
			next.ServeHTTP(&st.syncW, r)
		})
	}
}

// syncWriter sets the sync token header before the first byte of the
// response. It passes Flush and Unwrap through, as statusWriter does.
type syncWriter struct {
	http.ResponseWriter
	d       *deps
	r       *http.Request
	header  string // canonical (textproto.CanonicalMIMEHeaderKey)
	stamped bool
	value   [1]string
}

func (w *syncWriter) stamp() {
	if !w.stamped {
		w.stamped = true
		// header is canonical: set the value without Header.Set's
		// one-element slice, in the writer's own array
		w.value[0] = w.d.syncTokenOut(w.r)
		w.Header()[w.header] = w.value[:]
	}
}

func (w *syncWriter) WriteHeader(code int) {
	w.stamp()
	w.ResponseWriter.WriteHeader(code)
}

func (w *syncWriter) Write(b []byte) (int, error) {
	w.stamp()
	return w.ResponseWriter.Write(b)
}

func (w *syncWriter) Flush() {
	w.stamp()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *syncWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// syncTokenOut is the response's token: after a write, the primary's
// offset (without replicas, the next counter value, after any command);
// after reads only, the request's own token or, without one, the latest
// the gateway knows. It never answers less than the request brought.
func (d *deps) syncTokenOut(r *http.Request) string {
	st := stateOf(r.Context())
	s, db := st.sync, st.db
	if s == nil || db == nil {
		return "0"
	}
	tr := d.syncs[db.Name]
	out := s.in
	switch {
	case !s.wrote.Load():
		if out == 0 {
			out = tr.last.Load()
		}
	case readsFromReplicas(db.Client):
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), d.cfg.CommandTimeout)
		defer cancel()
		off, err := db.Client.(client.ReplicaReader).ReplicationOffset(ctx)
		if err != nil {
			// the write's offset is unknown: the highest known is
			// the best this token can promise
			d.logger.Warn("sync token: primary offset unknown", "db", db.Name, "err", err)
			off = tr.last.Load()
		}
		out = max(out, tr.raise(off))
	default:
		for {
			cur := tr.last.Load()
			n := max(cur, s.in) + 1
			if tr.last.CompareAndSwap(cur, n) {
				out = n
				break
			}
		}
	}
	return tr.format(out)
}

// readsFromReplicas reports whether b may serve reads from replicas now.
func readsFromReplicas(b client.Backend) bool {
	rr, ok := b.(client.ReplicaReader)
	return ok && rr.ReadsFromReplicas()
}

// syncContext notes whether cmds may write, and, when the request brought
// a token and cmds hold a read, restricts ctx to the replicas that have
// reached it (none: the primary).
func (d *deps) syncContext(ctx context.Context, cmds ...[]string) context.Context {
	st := stateOf(ctx)
	s, db := st.sync, st.db
	if s == nil || db == nil {
		return ctx
	}
	if len(cmds) == 0 {
		return ctx
	}
	if !readsFromReplicas(db.Client) {
		// Every read sees every write: the token is a counter, moved by
		// every request that runs commands (telling reads from writes
		// would cost a COMMAND INFO per new command name). A backend that
		// reads from replicas without checking offsets (Redis Cluster)
		// sends a token's reads to primaries.
		s.wrote.Store(true)
		if s.in == 0 {
			return ctx
		}
		return client.WithReplicas(ctx, nil)
	}
	reads := false
	for _, args := range cmds {
		if len(args) == 0 {
			continue
		}
		if ci, err := d.commandInfo(ctx, db.Client, args); err == nil && ci.Has("readonly") {
			reads = true
		} else {
			s.wrote.Store(true)
		}
	}
	if s.in == 0 || !reads {
		return ctx
	}
	rr := db.Client.(client.ReplicaReader)
	tr := d.syncs[db.Name]
	if s.in > tr.last.Load() {
		// newer than any offset this gateway has seen (another gateway
		// process wrote): ask the primary; a token beyond its offset
		// cannot be reached by a replica first
		if off, err := rr.ReplicationOffset(ctx); err == nil {
			tr.raise(off)
		}
		if s.in > tr.last.Load() {
			return client.WithReplicas(ctx, nil)
		}
	}
	wait := d.cfg.SyncWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	return client.WithReplicas(ctx, rr.ReplicasAt(ctx, s.in, wait))
}
