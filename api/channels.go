package api

import (
	"io"
	"net/http"
)

// PublishRequest is the JSON body of POST …/messages.
type PublishRequest struct {
	// Message to publish (base64 with ?encoding=base64).
	Message *string `json:"message" validate:"required" example:"hello"`
}

// Receivers is the body of a publish reply.
type Receivers struct {
	// Receivers is the number of subscribers that got the message (on
	// this server).
	Receivers int64 `json:"receivers" example:"2"`
}

// handleChannelPublish serves POST /db/{db}/channels/{channel}/messages.
//
// @Summary      Publish a message
// @Description  PUBLISH. JSON body `{"message"}`, or the raw message with `Content-Type: application/octet-stream`.
// @ID           publishMessage
// @Tags         pubsub
// @Accept       json
// @Accept       octet-stream
// @Produce      json
// @Param        db        path   string          true   "Database name"  example(0)
// @Param        channel   path   string          true   "Channel"  example(news)
// @Param        encoding  query  string          false  "utf8 (default) or base64"  Enums(utf8, base64)
// @Param        body      body   PublishRequest  true   "Message"
// @Success      200  {object}  Receivers
// @Failure      400  {object}  Problem
// @Failure      403  {object}  Problem
// @Security     BearerAuth
// @Router       /db/{db}/channels/{channel}/messages [post]
func handleChannelPublish(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch, err := pathParam(r, "channel")
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		var msg string
		if r.Header.Get("Content-Type") == "application/octet-stream" {
			b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, d.cfg.BodyLimit))
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			msg = string(b)
		} else {
			req, err := decode[PublishRequest](r, d.cfg.BodyLimit)
			if err != nil {
				writeError(w, r, d.logger, err)
				return
			}
			enc, _ := encodingOf(r)
			if msg, err = decodeArg(enc, "message", *req.Message); err != nil {
				writeError(w, r, d.logger, err)
				return
			}
		}
		v, err := d.do(r, "PUBLISH", ch, msg)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		respondField(w, r, d.logger, http.StatusOK, `{"receivers":`, v)
	}
}
