// Package callbacks turns Redis replies into JSON-ready values, in the
// manner of redis-py's RESPONSE_CALLBACKS.
//
// A [Func] receives a [resp.Value] and [Options] and returns a value built
// only from these types, which the HTTP layer encodes without reflection:
//
//   - nil (JSON null), bool, int64, float64 (±Inf and NaN are written as
//     the strings "inf", "-inf", "nan"), [Number] (written verbatim);
//   - string: text chosen by the gateway, written as a JSON string;
//   - []byte: a bulk string from Redis, written as text when it is valid
//     UTF-8 (or base64 when the caller asked for it);
//   - []any: a JSON array; [Map]: a JSON object that keeps key order;
//   - *resp.Error: an error nested in a reply (EXEC, pipelines), written
//     as {"error": "..."}.
//
// [Default] returns a fresh copy of the default table; [Registry] is safe
// for concurrent use and copy-on-write, so a client's per-instance
// SetResponseCallback never affects another client. Every default callback
// gives the same result for the RESP2 and the RESP3 form of a reply.
package callbacks
