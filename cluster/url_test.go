package cluster

import (
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		addrs   []string
		pass    string
		size    int
		rfr     bool
		wantErr bool
	}{
		{name: "TwoHosts", raw: "redis+cluster://10.0.0.1:7000,10.0.0.2:7001", addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001"}},
		{name: "DefaultPort", raw: "redis+cluster://a,b:7000/0", addrs: []string{"a:6379", "b:7000"}},
		{name: "Options", raw: "redis+cluster://:secret@a:1,b:2?pool_size=7", addrs: []string{"a:1", "b:2"}, pass: "secret", size: 7},
		{name: "ReadFromReplicas", raw: "redis+cluster://a:1/0?read_from_replicas=true&pool_size=3", addrs: []string{"a:1"}, size: 3, rfr: true},
		{name: "ReadFromReplicasOff", raw: "redis+cluster://a:1?read_from_replicas=false", addrs: []string{"a:1"}},
		{name: "ReadFromReplicasBad", raw: "redis+cluster://a:1?read_from_replicas=maybe", wantErr: true},
		{name: "Database", raw: "redis+cluster://a:1,b:2/3", wantErr: true},
		{name: "NoHost", raw: "redis+cluster:///0", wantErr: true},
		{name: "Scheme", raw: "redis://a:1", wantErr: true},
		{name: "UnknownOption", raw: "redis+cluster://a:1?nope=1", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseURL(tc.raw)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseURL(%q): got nil error, want one", tc.raw)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.raw, err)
			}
			if !reflect.DeepEqual(cfg.Addrs, tc.addrs) || cfg.Pool.Password != tc.pass || cfg.Pool.PoolSize != tc.size || cfg.ReadFromReplicas != tc.rfr {
				t.Errorf("ParseURL(%q): got %v %q %d %v, want %v %q %d %v", tc.raw, cfg.Addrs, cfg.Pool.Password, cfg.Pool.PoolSize, cfg.ReadFromReplicas, tc.addrs, tc.pass, tc.size, tc.rfr)
			}
		})
	}
}
