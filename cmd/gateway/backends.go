package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// scaledURL reports whether url names a Redis Cluster or a
// Sentinel-monitored Redis rather than one server.
func scaledURL(url string) bool {
	return strings.HasPrefix(url, cluster.Scheme+"://") || strings.HasPrefix(url, sentinel.Scheme+"://")
}

// openScaled builds the backend of a redis+cluster:// or redis+sentinel://
// database. db ≥ 0 is the number of a numbered database, which replaces
// the URL's; a cluster has only database 0.
//
// init runs on every new connection after the handshake (a scope's ACL
// user: see package acl); proto is the RESP version they speak.
func openScaled(cfg Config, name, url string, db int, init [][]string, proto int, logger *slog.Logger, metrics *api.Metrics) (client.Backend, string, error) {
	logger = logger.With("db", name)
	if strings.HasPrefix(url, cluster.Scheme+"://") {
		cc, err := cluster.ParseURL(url)
		if err != nil {
			return nil, "", err
		}
		if db > 0 {
			return nil, "", fmt.Errorf("a Redis Cluster has only database 0: set databases to 1 (GATEWAY_DATABASES=1) with a %s:// REDIS_URL, and reach other clusters through named_databases", cluster.Scheme)
		}
		applyPoolConfig(cfg, &cc.Pool)
		cc.Pool.InitCommands = init
		cc.Pool.Protocol = proto
		cc.MaxBlocking = cfg.MaxBlocking
		cc.Observe = metrics.Observer(name)
		cc.Logger = logger
		c, err := cluster.New(cc)
		if err != nil {
			return nil, "", err
		}
		return c, cluster.Scheme + "://" + strings.Join(cc.Addrs, ","), nil
	}
	sc, err := sentinel.ParseURL(url)
	if err != nil {
		return nil, "", err
	}
	if db >= 0 {
		sc.Pool.DB = db
	}
	applyPoolConfig(cfg, &sc.Pool)
	sc.Pool.InitCommands = init
	sc.Pool.Protocol = proto
	sc.MaxBlocking = cfg.MaxBlocking
	sc.Observe = metrics.Observer(name)
	sc.Logger = logger
	c, err := sentinel.New(sc)
	if err != nil {
		return nil, "", err
	}
	return c, fmt.Sprintf("%s://%s/%s/%d", sentinel.Scheme, strings.Join(sc.Sentinels, ","), sc.MasterName, sc.Pool.DB), nil
}

// autoPipelineMinBusy makes the binary's auto-pipelining adaptive
// (client.Config.AutoPipelineMinBusy): below four pooled commands in flight
// nothing would be batched and a command's own connection answers sooner.
const autoPipelineMinBusy = 4

// applyPoolConfig applies the pool settings shared by every database.
func applyPoolConfig(cfg Config, pc *client.PoolConfig) {
	pc.ClientName = "redis-gateway"
	if cfg.Pool.Size > 0 {
		pc.PoolSize = cfg.Pool.Size
	}
	if cfg.Pool.MinIdle > 0 {
		pc.MinIdle = cfg.Pool.MinIdle
	}
	if cfg.Pool.Timeout > 0 {
		pc.PoolTimeout = cfg.Pool.Timeout
	}
	if cfg.Pool.IdleTime > 0 {
		pc.MaxIdleTime = cfg.Pool.IdleTime
	}
	if cfg.Pool.MaxLifetime > 0 {
		pc.MaxLifetime = cfg.Pool.MaxLifetime
	}
	if cfg.Pool.DialTimeout > 0 {
		pc.DialTimeout = cfg.Pool.DialTimeout
	}
}
