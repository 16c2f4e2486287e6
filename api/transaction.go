package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/redis-gateway/redis-gateway/client"
)

// TransactionRequest is the body of POST /db/{db}/transaction.
type TransactionRequest struct {
	// Watch lists keys to WATCH before MULTI: if any changes before EXEC,
	// nothing runs and the answer is 409 TX_ABORTED.
	Watch []string `json:"watch" validate:"max=1000" example:"balance"`
	// Commands run atomically inside MULTI/EXEC.
	Commands []Args `json:"commands" validate:"required,min=1,dive,min=1"`
}

// handleTransaction serves POST /db/{db}/transaction.
//
// @Summary      Run a transaction
// @Description  WATCHes the given keys, then runs the commands in MULTI/EXEC on a connection of its own. Runtime errors (such as WRONGTYPE) are reported per command, as Redis does. If a watched key changed, nothing ran: 409 TX_ABORTED. If Redis refused a command when queueing it (syntax, arity), the whole transaction was discarded: 400 EXECABORT with `errors` naming each refused command.
// @ID           runTransaction
// @Tags         commands
// @Accept       json
// @Produce      json
// @Param        db        path   string              true   "Database name"  example(0)
// @Param        encoding  query  string              false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   TransactionRequest  true   "Watched keys and commands"
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
// @Security     BearerAuth
// @Router       /db/{db}/transaction [post]
func handleTransaction(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[TransactionRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		cmds, err := d.batchArgs(r, req.Commands)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		enc, _ := encodingOf(r)
		watch := make([]string, len(req.Watch))
		for i, k := range req.Watch {
			if watch[i], err = decodeArg(enc, "watch["+strconv.Itoa(i)+"]", k); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		e, err := newReplyEncoder(r)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		defer e.release()
		e.b = append(e.b, `{"results":[`...)
		res, visited, err := d.transaction(r, watch, cmds, &pipelineJSON{rv: replyVisitor{e: &e.valueEncoder}, visited: -1})
		var te *client.TxError
		if errors.As(err, &te) {
			ae := &apiError{status: http.StatusBadRequest, code: te.Err.Code, detail: te.Err.Msg}
			for i, r := range te.Results {
				if r.Err != nil {
					ae.fields = append(ae.fields, FieldError{Field: "commands[" + strconv.Itoa(i) + "]", Message: r.Err.Error()})
				}
			}
			writeError(w, r, d.logger, ae)
			return
		}
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if !visited {
			respondField(w, r, d.logger, http.StatusOK, `{"results":`, resultList(res))
			return
		}
		e.b = append(e.b, "]}"...)
		e.send(w, r, d.logger, http.StatusOK)
	}
}
