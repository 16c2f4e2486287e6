// Package resp implements the Redis serialization protocol, RESP2 and RESP3.
//
// A [Reader] turns bytes from a Redis server into [Value]s and a [Writer]
// turns commands (and values) into bytes. Both work over buffered I/O and are
// binary safe: bulk strings are kept as []byte and never converted to text.
//
// # Values
//
// [Value] keeps the RESP3 kind of every reply (array, set, push, map,
// attribute, verbatim string, big number…) so that callers can shape the
// reply without losing information. Maps keep the order the server sent
// their entries in, as a flat list of key/value pairs in [Value.Elems].
//
// # Limits
//
// A Reader enforces [Limits] (bulk length, aggregate length, nesting depth)
// before it allocates, and allocates aggregates and large bulk strings
// progressively, so a hostile or broken server can make a read fail with
// [ErrLimit] or [ErrProtocol] but cannot make it panic or reserve memory the
// data never arrives for.
//
// # Errors
//
// A Redis error reply is a [Value] of kind [ErrorReply] or [BulkError]; its
// [Value.Err] method turns it into an [*Error], which keeps the error code
// (the first word, such as WRONGTYPE or MOVED) apart from the message.
// Failures of the stream itself wrap [ErrProtocol] or [ErrLimit], or are the
// underlying I/O error.
package resp
