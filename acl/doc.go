// Package acl turns the gateway's token scopes into Redis ACL users, so
// that Redis itself enforces a scope on every command: typed routes, the
// generic command route, pipelines, the Upstash surface, and the commands
// a Lua script or function calls.
//
// # Scopes and users
//
// A [Scope] is read or write access limited to key and channel patterns.
// [Scope.Rules] writes it as ACL SETUSER rules: the read or write command
// categories, no @admin or @dangerous command, and none of the commands
// that reach another database or server (SELECT, SWAPDB, MOVE, MIGRATE,
// COPY). [Scope.UserName] names the user by a hash of its rules.
//
// [Users] opens one backend per scope of a database, lazily: its
// connections are set up by the gateway's identity (AUTH, SELECT), then
// create the user with [SetUser] and switch to it with AUTH. Because every
// new connection re-creates the user, a Redis restart that lost it costs
// nothing. When the gateway's identity may not run ACL SETUSER, or the
// server has no ACL at all (the embedded server), [Users.Backend] answers
// [ErrUnavailable] and the HTTP layer applies its own stricter checks.
//
// # Patterns
//
// [Match] is Redis's glob matching, used by the gateway where Redis cannot
// filter for it: pub/sub messages fanned out from one shared connection
// per database.
package acl
