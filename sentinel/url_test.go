package sentinel

import (
	"reflect"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		name, raw    string
		sentinels    []string
		master       string
		db           int
		pass, sntPwd string
		rfr          bool
		wantErr      bool
	}{
		{name: "Basic", raw: "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster", sentinels: []string{"10.0.0.1:26379", "10.0.0.2:26380"}, master: "mymaster"},
		{name: "DBAndAuth", raw: "redis+sentinel://:pw@a,b:1/m/3?sentinel_password=sp&pool_size=4", sentinels: []string{"a:26379", "b:1"}, master: "m", db: 3, pass: "pw", sntPwd: "sp"},
		{name: "ReadFromReplicas", raw: "redis+sentinel://a:1/m?read_from_replicas=true", sentinels: []string{"a:1"}, master: "m", rfr: true},
		{name: "ReadFromReplicasBad", raw: "redis+sentinel://a:1/m?read_from_replicas=2", wantErr: true},
		{name: "NoMaster", raw: "redis+sentinel://a:1", wantErr: true},
		{name: "BadDB", raw: "redis+sentinel://a:1/m/x", wantErr: true},
		{name: "NoHost", raw: "redis+sentinel:///m", wantErr: true},
		{name: "UnknownOption", raw: "redis+sentinel://a:1/m?nope=1", wantErr: true},
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
			if !reflect.DeepEqual(cfg.Sentinels, tc.sentinels) || cfg.MasterName != tc.master || cfg.Pool.DB != tc.db ||
				cfg.Pool.Password != tc.pass || cfg.SentinelPassword != tc.sntPwd || cfg.ReadFromReplicas != tc.rfr {
				t.Errorf("ParseURL(%q): got %v %q db %d %q %q %v", tc.raw, cfg.Sentinels, cfg.MasterName, cfg.Pool.DB, cfg.Pool.Password, cfg.SentinelPassword, cfg.ReadFromReplicas)
			}
		})
	}
}
