// Package idempotency keeps the first response to a request sent with an
// Idempotency-Key header (the IETF httpapi draft's header), so that a
// retry with the same key gets that response instead of running the
// request again.
//
// # Records
//
// A [Store] keeps one record per (identity, key) in Redis, through a
// backend with the gateway's own credentials, under a reserved key prefix
// (default "gateway:idempotency:"). A record is first an in-flight marker,
// created with SET NX, then the stored response (status, the headers that
// matter, body). Records live for [Config.TTL] (default 24 h). Because the
// store is Redis, a record holds across gateway restarts and across every
// gateway process that shares the Redis server.
//
// While a request runs, a short lease key next to the marker (refreshed
// every third of [Config.Lease]) says that its gateway is still alive, and
// a run key, taken with SET NX just before the request runs, names the one
// attempt allowed to run it. A duplicate that finds the marker with its
// lease (or younger than the lease) is told that the first request is in
// flight ([InFlight]). One that finds the marker with a run key but no
// lease learns that the first request's gateway stopped before storing
// the response ([Interrupted]): its commands may have run, so the key will
// not run them again. A marker with neither was left by an attempt that
// gave up before running anything (its SET reached Redis late), and the
// duplicate takes the key over.
//
// # Fences
//
// A record is kept apart from the request's effect, so on its own it can
// only make a retry at-most-once: after an attempt whose reply never came
// (or whose gateway stopped), nothing in the record says whether the
// request ran. [Store.BeginFenced] adds a fence: the attempt's commands
// run with client.WithFence under a run key K
// ([Store.FencePrefix] + scope + ":{hash}") set to the attempt's id inside
// the commands' own MULTI/EXEC, after WATCH K. An attempt whose outcome is
// unknown ends with [Attempt.Uncertain] instead of storing its failure; a
// retry that finds the record uncertain, or interrupted, takes the key
// over (one retry at a time, through a take key) and reads K: set, the
// request ran exactly once ([RanEarlier]); unset, it runs again under a
// new attempt id, and WATCH K keeps an older attempt still unread in a
// paused Redis from running as well. An attempt that runs a command the
// fence cannot cover (a blocking one) marks its record unfenced first,
// and is [Interrupted] as before when its gateway stops. See
// docs/reliability.md for the argument and its limits.
//
// [Recorder] holds the response until it is stored; a response the
// handler flushes (a stream) passes through and is not kept.
//
// # Sealing
//
// Records are sealed with AES-256-GCM under a key derived from
// [Config.Secret], with the record's Redis key as associated data. A token
// that may touch every key of the database can therefore read neither the
// response of another token's request nor forge or move one: a record that
// does not open is treated like an interrupted one. It can still delete
// records, as it can delete any key of the database.
//
// # Fingerprints
//
// [Fingerprint] hashes what makes two requests the same (method, path,
// query, content type, body); a key reused with a different fingerprint is
// a [Mismatch].
package idempotency
