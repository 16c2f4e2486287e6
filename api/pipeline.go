package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// PipelineRequest is the body of POST /db/{db}/pipeline.
type PipelineRequest struct {
	// Commands run in order on one connection, in one round trip.
	Commands []Args `json:"commands" validate:"required,min=1,dive,min=1"`
}

// CommandResult is one command's outcome in a pipeline or transaction:
// either result, or error and code.
type CommandResult struct {
	// Result is the shaped reply (absent on error).
	Result any `json:"result,omitempty" swaggertype:"object"`
	// Error is the Redis error message.
	Error string `json:"error,omitempty" example:"WRONGTYPE Operation against a key holding the wrong kind of value"`
	// Code is the Redis error code.
	Code string `json:"code,omitempty" example:"WRONGTYPE"`
}

// PipelineReply is the body of a pipeline or transaction reply.
type PipelineReply struct {
	// Results holds one entry per command, in order.
	Results []CommandResult `json:"results"`
}

// handlePipeline serves POST /db/{db}/pipeline.
//
// @Summary      Run a pipeline
// @Description  Sends the commands in one round trip on one connection and returns one `{"result"}` or `{"error","code"}` per command, in order. A Redis error in one command does not fail the others (200). Every command is checked first: one forbidden command refuses the whole pipeline (403) and nothing runs. At most max_pipeline commands (default 1000; 400 over it).
// @ID           runPipeline
// @Tags         commands
// @Accept       json
// @Produce      json
// @Param        db        path   string           true   "Database name"  example(0)
// @Param        encoding  query  string           false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   PipelineRequest  true   "The commands"
// @Param        Redis-Sync-Token  header  string  false  "Read-your-writes token from an earlier response (docs/upstash.md#sync-tokens)"
// @Param        Idempotency-Key  header  string  false  "Run at most once per token and key: a retry with the same key and request gets the first response (Idempotent-Replayed: true); another request with the key is 422 IDEMPOTENCY_KEY_REUSED, a duplicate in flight 409 IDEMPOTENCY_IN_FLIGHT; a retry after an unknown outcome whose request ran is 409 IDEMPOTENCY_REPLY_LOST (outcome ran)"
// @Success      200  {object}  PipelineReply
// @Header       200  {string}  Redis-Sync-Token  "Token to send with the next request so that its reads see this request's writes"
// @Failure      400  {object}  Problem
// @Failure      403  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Failure      503  {object}  Problem
// @Failure      504  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/pipeline [post]
func handlePipeline(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[PipelineRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmds, err := d.batchArgs(r, req.Commands)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		d.respondPipeline(w, r, cmds)
	}
}

// batchArgs checks the size of a batch and decodes each command.
func (d *deps) batchArgs(r *http.Request, commands []Args) ([][]string, error) {
	if len(commands) > d.cfg.MaxPipeline {
		return nil, errValidation("too many commands", FieldError{Field: "commands", Message: "must have at most " + strconv.Itoa(d.cfg.MaxPipeline) + " commands"})
	}
	if err := checkArgCount(commands); err != nil {
		return nil, err
	}
	cmds := make([][]string, len(commands))
	for i, c := range commands {
		args, err := commandArgs(r, "commands["+strconv.Itoa(i)+"]", c)
		if err != nil {
			return nil, err
		}
		cmds[i] = args
	}
	return cmds, nil
}

// checkArgCount refuses a batch whose commands hold more than maxArgs
// arguments in all: the limit of one /command holds for a whole pipeline
// or transaction too.
func checkArgCount[S ~[]string](commands []S) error {
	n := 0
	for _, c := range commands {
		if n += len(c); n > maxArgs {
			return errTooManyArgs
		}
	}
	return nil
}

// resultList renders per-command results as [{result} | {error, code}].
func resultList(res []client.Result) []any {
	out := make([]any, len(res))
	for i, r := range res {
		out[i] = resultItem(r)
	}
	return out
}

// resultItem is one command's entry in a pipeline or transaction reply:
// {"result": …} or {"error": …, "code": …}.
func resultItem(r client.Result) any {
	if r.Err != nil {
		msg, code := r.Err.Error(), "ERR"
		var re *client.Error
		if errors.As(r.Err, &re) {
			msg, code = re.Msg, re.Code
		}
		return client.Map{{Key: "error", Value: msg}, {Key: "code", Value: code}}
	}
	return client.Map{{Key: "result", Value: r.Value}}
}

// respondPipeline runs cmds as a pipeline and writes {"results": […]}.
// On a backend that can visit replies (client.Visiting) the JSON is
// written while replies are read (pipelineJSON), so a pipeline's memory
// stays a small multiple of its body whatever its replies' element count.
func (d *deps) respondPipeline(w http.ResponseWriter, r *http.Request, cmds [][]string) {
	b, err := d.prepare(r, cmds...)
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	ctx, cancel, err := d.commandContext(r.Context(), cmds...)
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	defer cancel()
	vb, ok := b.(pipeVisiting)
	if !ok {
		res, err := b.Pipe(ctx, cmds)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"results":`, resultList(res))
		return
	}
	respondWith(w, r, d.logger, http.StatusOK, `{"results":[`, "]}", func(e *valueEncoder) error {
		return vb.PipeVisit(ctx, cmds, &pipelineJSON{rv: replyVisitor{e: e}, visited: -1})
	})
}

// pipeVisiting is a backend that streams pipeline replies.
type pipeVisiting interface {
	PipeVisit(ctx context.Context, cmds [][]string, pv client.PipeVisitor) error
}

// pipelineJSON writes a pipeline's results as resultList would, one reply
// at a time.
type pipelineJSON struct {
	rv      replyVisitor
	start   int // where the current entry starts
	visited int // the entry Reply was called for
}

func (p *pipelineJSON) open(i int) {
	if i > 0 {
		p.rv.e.b = append(p.rv.e.b, ',')
	}
	p.start = len(p.rv.e.b)
}

// Reply implements client.PipeVisitor.
func (p *pipelineJSON) Reply(i int) client.Visitor {
	p.open(i)
	p.visited = i
	p.rv.e.b = append(p.rv.e.b, `{"result":`...)
	p.rv.frames = p.rv.frames[:0]
	return &p.rv
}

// Done implements client.PipeVisitor.
func (p *pipelineJSON) Done(i int, res client.Result) error {
	e := p.rv.e
	visited := p.visited == i
	if !visited {
		p.open(i)
	}
	switch {
	case res.Err != nil:
		e.b = e.b[:p.start] // an error reply: drop the visit's opening
		return e.value(resultItem(res))
	case visited:
		e.b = append(e.b, '}')
		return nil
	}
	return e.value(resultItem(res))
}
