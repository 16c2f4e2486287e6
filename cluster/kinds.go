package cluster

import "github.com/redis-gateway/redis-gateway/resp"

// errorKind is the kind of an error reply built here (CROSSSLOT).
const errorKind = resp.ErrorReply
