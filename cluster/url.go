package cluster

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis-gateway/redis-gateway/internal/multihost"
	"github.com/redis-gateway/redis-gateway/pool"
)

// Scheme is the URL scheme of a cluster database.
const Scheme = "redis+cluster"

// ParseURL reads a cluster URL into a Config:
//
//	redis+cluster://[user:password@]host1:port1[,host2:port2…][/0][?option=value…]
//
// The hosts are seed nodes (the port defaults to 6379); the options are
// those of pool.ParseURL and apply to every node's pool, plus
// read_from_replicas=true ([Config.ReadFromReplicas]). A database other
// than 0 is an error: a Redis Cluster has only database 0.
func ParseURL(raw string) (Config, error) {
	rest, ok := strings.CutPrefix(raw, Scheme+"://")
	if !ok {
		return Config{}, fmt.Errorf("cluster: url: scheme: want %s://", Scheme)
	}
	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	user, addrs := multihost.SplitHosts(hosts, "6379")
	if len(addrs) == 0 {
		return Config{}, fmt.Errorf("cluster: url: no host")
	}
	path, query, _ := strings.Cut(tail, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return Config{}, fmt.Errorf("cluster: url: query: %w", err)
	}
	cfg := Config{Addrs: addrs}
	if cfg.ReadFromReplicas, err = multihost.TakeBool(q, "read_from_replicas"); err != nil {
		return Config{}, fmt.Errorf("cluster: url: %w", err)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	// The credentials, database and options read like a redis:// URL's.
	if cfg.Pool, err = pool.ParseURL("redis://" + user + addrs[0] + path); err != nil {
		return Config{}, fmt.Errorf("cluster: %w", err)
	}
	return cfg, cfg.Validate()
}
