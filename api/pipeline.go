package api

import (
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
// @Param        Idempotency-Key  header  string  false  "Run at most once per token and key: a retry with the same key and request gets the first response (Idempotent-Replayed: true); another request with the key is 422 IDEMPOTENCY_KEY_REUSED, a duplicate in flight 409 IDEMPOTENCY_IN_FLIGHT"
// @Success      200  {object}  PipelineReply
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
		res, err := d.pipe(r, cmds)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respond(w, r, d.logger, http.StatusOK, client.Map{{Key: "results", Value: resultList(res)}})
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
		if r.Err != nil {
			msg, code := r.Err.Error(), "ERR"
			var re *client.Error
			if errors.As(r.Err, &re) {
				msg, code = re.Msg, re.Code
			}
			out[i] = client.Map{{Key: "error", Value: msg}, {Key: "code", Value: code}}
			continue
		}
		out[i] = client.Map{{Key: "result", Value: r.Value}}
	}
	return out
}
