// Package sentinel runs the gateway's commands on the primary of a Redis
// monitored by Sentinel. Its [Client] implements client.Backend.
//
// The client asks the sentinels for the primary (SENTINEL
// GET-MASTER-ADDR-BY-NAME), subscribes to +switch-master on each of them,
// and asks again every [Config.CheckInterval] and after errors. When the
// primary changes, commands go to a new *client.Client for it. A command
// that failed without running (the connection was refused, or a demoted
// primary answered READONLY) is retried with backoff after a new lookup;
// one whose bytes may have reached Redis is never resent. With
// [Config.ReadFromReplicas], read-only commands go to a replica listed by
// SENTINEL REPLICAS instead.
package sentinel
