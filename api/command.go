package api

import (
	"net/http"
	"strconv"
)

// CommandRequest is the body of POST /db/{db}/command.
type CommandRequest struct {
	// Command is the command name followed by its arguments, all strings.
	// With ?encoding=base64 every argument after the name is base64.
	Command Args `json:"command" validate:"required,min=1,max=100000" swaggertype:"array,string" example:"ZRANGE,scores,0,-1,WITHSCORES"`
}

// CommandReply is the body of a successful POST /db/{db}/command.
type CommandReply struct {
	// Result is the reply shaped by the database's response callbacks (or
	// the generic conversion with ?raw=true).
	Result any `json:"result" swaggertype:"object"`
}

// handleCommand serves POST /db/{db}/command.
//
// @Summary      Run any allowed command
// @Description  Runs one Redis command and returns its reply shaped by the database's response callbacks: for example `["ZRANGE","z","0","-1","WITHSCORES"]` gives `[{"member":"a","score":1}]`, `["HGETALL","h"]` an object, `["SET","k","v"]` `true`. With `?raw=true` the reply is converted generically instead (arrays stay arrays). Connection-state commands (SELECT, AUTH, MULTI, SUBSCRIBE…) are refused with 403 FORBIDDEN_COMMAND; Redis error replies become problems with the Redis error code (WRONGTYPE → 409, other ERR → 400).
// @ID           runCommand
// @Tags         commands
// @Accept       json
// @Produce      json
// @Param        db        path   string          true   "Database name"  example(0)
// @Param        raw       query  bool            false  "Skip the response callbacks"
// @Param        encoding  query  string          false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   CommandRequest  true   "The command"
// @Param        Redis-Sync-Token  header  string  false  "Read-your-writes token from an earlier response (docs/upstash.md#sync-tokens)"
// @Param        Idempotency-Key  header  string  false  "Run at most once per token and key: a retry with the same key and request gets the first response (Idempotent-Replayed: true); another request with the key is 422 IDEMPOTENCY_KEY_REUSED, a duplicate in flight 409 IDEMPOTENCY_IN_FLIGHT; a retry after an unknown outcome whose request ran is 409 IDEMPOTENCY_REPLY_LOST (outcome ran)"
// @Success      200  {object}  CommandReply
// @Header       200  {string}  Redis-Sync-Token  "Token to send with the next request so that its reads see this request's writes"
// @Failure      400  {object}  Problem
// @Failure      403  {object}  Problem
// @Failure      404  {object}  Problem
// @Failure      409  {object}  Problem
// @Failure      422  {object}  Problem
// @Failure      503  {object}  Problem
// @Failure      504  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/command [post]
func handleCommand(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[CommandRequest](r, d.cfg.BodyLimit)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		args, err := commandArgs(r, "command", req.Command)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		raw, err := boolQuery(r, "raw")
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		d.respondCommand(w, r, raw, args)
	}
}

// commandArgs validates a command array and, under ?encoding=base64,
// decodes every argument after the name. field names the array in errors.
func commandArgs(r *http.Request, field string, cmd []string) ([]string, error) {
	if len(cmd) == 0 || cmd[0] == "" {
		return nil, errValidation("the command is empty", FieldError{Field: field, Message: "must start with a command name"})
	}
	enc, err := encodingOf(r)
	if err != nil {
		return nil, err
	}
	if enc != EncodingBase64 {
		return cmd, nil
	}
	out := make([]string, len(cmd))
	out[0] = cmd[0]
	for i := 1; i < len(cmd); i++ {
		if out[i], err = decodeArg(enc, field+"["+strconv.Itoa(i)+"]", cmd[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// boolQuery reads an optional boolean query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	s := queryOf(r).Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errValidation("a query parameter is not a boolean", FieldError{Field: name, Message: "must be true or false"})
	}
	return b, nil
}

// maxArgs is the most arguments one request may carry, counted over all
// its commands (a pipeline or transaction sums them): it bounds what one
// request costs in memory, whatever the surface.
const maxArgs = 100_000
