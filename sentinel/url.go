package sentinel

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis-gateway/redis-gateway/internal/multihost"
	"github.com/redis-gateway/redis-gateway/pool"
)

// Scheme is the URL scheme of a Sentinel-monitored database.
const Scheme = "redis+sentinel"

// ParseURL reads a Sentinel URL into a Config:
//
//	redis+sentinel://[user:password@]host1:port1[,host2:port2…]/mastername[/db][?option=value…]
//
// The hosts are sentinels (the port defaults to 26379); the credentials,
// database and options (those of pool.ParseURL) apply to the primary.
// sentinel_password=… (and sentinel_username=…) authenticate to the
// sentinels; read_from_replicas=true sets [Config.ReadFromReplicas].
func ParseURL(raw string) (Config, error) {
	rest, ok := strings.CutPrefix(raw, Scheme+"://")
	if !ok {
		return Config{}, fmt.Errorf("sentinel: url: scheme: want %s://", Scheme)
	}
	hosts, path, query := rest, "", ""
	if i := strings.IndexByte(hosts, '?'); i >= 0 {
		hosts, query = hosts[:i], hosts[i+1:]
	}
	if i := strings.IndexByte(hosts, '/'); i >= 0 {
		hosts, path = hosts[:i], hosts[i+1:]
	}
	var cfg Config
	user, sentinels := multihost.SplitHosts(hosts, "26379")
	cfg.Sentinels = sentinels
	name, db, _ := strings.Cut(path, "/")
	cfg.MasterName, _ = url.PathUnescape(name)
	q, err := url.ParseQuery(query)
	if err != nil {
		return Config{}, fmt.Errorf("sentinel: url: query: %w", err)
	}
	cfg.SentinelUsername, cfg.SentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	if cfg.ReadFromReplicas, err = multihost.TakeBool(q, "read_from_replicas"); err != nil {
		return Config{}, fmt.Errorf("sentinel: url: %w", err)
	}
	pu := "redis://" + user + "127.0.0.1"
	if db != "" {
		pu += "/" + db
	}
	if len(q) > 0 {
		pu += "?" + q.Encode()
	}
	if cfg.Pool, err = pool.ParseURL(pu); err != nil {
		return Config{}, fmt.Errorf("sentinel: %w", err)
	}
	return cfg, cfg.Validate()
}
