package cluster

import (
	"fmt"
	"net"
	"strings"

	"github.com/redis-gateway/redis-gateway/pool"
)

// Scheme is the URL scheme of a cluster database.
const Scheme = "redis+cluster"

// ParseURL reads a cluster URL into a Config:
//
//	redis+cluster://[user:password@]host1:port1[,host2:port2…][/0][?option=value…]
//
// The hosts are seed nodes (the port defaults to 6379); the options are
// those of pool.ParseURL and apply to every node's pool. A database other
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
	user := ""
	if i := strings.LastIndexByte(hosts, '@'); i >= 0 {
		user, hosts = hosts[:i+1], hosts[i+1:]
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, "6379")
		}
		addrs = append(addrs, h)
	}
	if len(addrs) == 0 {
		return Config{}, fmt.Errorf("cluster: url: no host")
	}
	// The credentials, database and options read like a redis:// URL's.
	pc, err := pool.ParseURL("redis://" + user + addrs[0] + tail)
	if err != nil {
		return Config{}, fmt.Errorf("cluster: %w", err)
	}
	cfg := Config{Addrs: addrs, Pool: pc}
	return cfg, cfg.Validate()
}
