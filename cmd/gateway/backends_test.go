package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis-gateway/redis-gateway/api"
)

// TestOpenScaledDatabases builds cluster and sentinel databases from their
// URLs (nothing is dialled yet) and checks the configuration errors.
func TestOpenScaledDatabases(t *testing.T) {
	cases := []struct {
		name    string
		url     string
		n       int
		named   map[string]NamedDatabase
		wantErr string
		addr    string
	}{
		{name: "Cluster", url: "redis+cluster://127.0.0.1:1,127.0.0.1:2", n: 1, addr: "redis+cluster://127.0.0.1:1,127.0.0.1:2"},
		{name: "ClusterNumbered", url: "redis+cluster://127.0.0.1:1", n: 16, wantErr: "only database 0"},
		{name: "ClusterDatabase", url: "redis+cluster://127.0.0.1:1/2", n: 1, wantErr: "only database 0"},
		{name: "Sentinel", url: "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster", n: 2, addr: "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster/0"},
		{name: "ClusterReadFromReplicas", url: "redis+cluster://127.0.0.1:1?read_from_replicas=true", n: 1, addr: "redis+cluster://127.0.0.1:1"},
		{name: "SentinelReadFromReplicas", url: "redis+sentinel://127.0.0.1:1/mymaster?read_from_replicas=true", n: 1, addr: "redis+sentinel://127.0.0.1:1/mymaster/0"},
		{name: "SentinelReadFromReplicasBad", url: "redis+sentinel://127.0.0.1:1/mymaster?read_from_replicas=yes", n: 1, wantErr: "read_from_replicas"},
		{name: "SentinelNoName", url: "redis+sentinel://127.0.0.1:1", n: 1, wantErr: "no master name"},
		{name: "NamedCluster", url: "redis://127.0.0.1:1", named: map[string]NamedDatabase{"big": {URL: "redis+cluster://127.0.0.1:7000/0"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.RedisURL = tc.url
			cfg.Databases = tc.n
			cfg.NamedDatabases = tc.named
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			reg := prometheus.NewRegistry()
			dbs, err := openDatabases(cfg, slog.New(slog.DiscardHandler), api.NewMetrics(reg, reg))
			for _, db := range dbs {
				db.Client.Close()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.addr != "" && dbs[0].Addr != tc.addr {
				t.Errorf("Addr: got %q, want %q", dbs[0].Addr, tc.addr)
			}
		})
	}
}
