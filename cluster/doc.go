// Package cluster runs the gateway's commands on a Redis Cluster. Its
// [Client] implements client.Backend, so the HTTP layer serves a cluster
// exactly as it serves a single Redis.
//
// # Routing
//
// The client reads the slot map with CLUSTER SHARDS (CLUSTER SLOTS on
// servers without it) and keeps one *client.Client, with its own pools,
// per primary. A command's keys are found from the server's own COMMAND
// INFO key positions (cached per command), with EVAL/FCALL and XREAD
// parsed directly and other movable-key commands asked with COMMAND
// GETKEYS; [Slot] hashes them (CRC16 with {hash tags}). Keys in different
// slots are refused with a CROSSSLOT error before anything is sent;
// keyless commands go to the primary serving slot 0. With
// [Config.ReadFromReplicas], read-only commands with keys go to a replica
// of their slot's shard instead.
//
// # Redirections and retries
//
// MOVED updates the slot at once, schedules a refresh of the whole map and
// sends the command to the new owner; ASK sends ASKING and the command on
// one connection to the importing node. TRYAGAIN, CLUSTERDOWN and refused
// connections are retried with backoff. All of these mean the command did
// not run; a command whose bytes may have reached a node is never resent.
// The map is also re-read periodically ([Config.RefreshInterval]).
//
// # Pipelines, transactions and pub/sub
//
// [Client.Pipe] splits a pipeline per node, runs the parts concurrently
// and reassembles the results in order. [Client.Transaction] needs every
// key in one slot. [Client.PubSub] subscribes on one node: classic pub/sub
// messages reach every node of a cluster.
package cluster
