package cluster_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// TestContainmentOnEveryBackend runs the heart of the red-team matrix
// (api/redteam_test.go) on a single server, a cluster and a Sentinel
// primary: tokens below admin run as ACL users on every node their
// backend reaches, so a script stays inside the token's scope.
func TestContainmentOnEveryBackend(t *testing.T) {
	single := redistest.Start(t)
	rc := redistest.StartCluster(t, redistest.ClusterConfig{})
	ss := redistest.StartSentinel(t)
	opens := []struct {
		name string
		open func(init [][]string) (client.Backend, error)
		// data is where the test key lives, for the admin's check
		data func(t *testing.T) *redistest.Server
	}{
		{"Single", func(init [][]string) (client.Backend, error) {
			pc, _ := client.ParseURL(single.URL(0))
			pc.InitCommands = init
			return client.New(client.Config{Pool: pc})
		}, func(*testing.T) *redistest.Server { return single }},
		{"Cluster", func(init [][]string) (client.Backend, error) {
			cfg := cluster.Config{Addrs: rc.Addrs()}
			cfg.Pool.InitCommands = init
			return cluster.New(cfg)
		}, func(t *testing.T) *redistest.Server {
			slot := rc.Nodes[0].Do(t, "CLUSTER", "KEYSLOT", "{ct}")
			return rc.Primary(t, int(slot.Int))
		}},
		{"Sentinel", func(init [][]string) (client.Backend, error) {
			cfg := sentinel.Config{Sentinels: ss.SentinelAddrs(), MasterName: ss.MasterName}
			cfg.Pool.InitCommands = init
			return sentinel.New(cfg)
		}, func(*testing.T) *redistest.Server { return ss.Primary }},
	}
	tokens := []api.Token{
		{Name: "write", Secret: "write", Databases: []string{"0"}, Level: api.LevelWrite},
		{Name: "mine", Secret: "mine", Databases: []string{"0"}, Level: api.LevelWrite, Keys: []string{"{ct}:mine:*"}},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			admin, err := o.open(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { admin.Close() })
			srv := api.NewServer(nil, api.Config{Tokens: tokens}, []*api.Database{{Name: "0", Client: admin, Addr: o.name, OpenScoped: o.open}}, nil)
			hs := httptest.NewServer(srv)
			t.Cleanup(func() { srv.Close(); hs.Close() })
			data := o.data(t)
			data.Do(t, "SET", "{ct}:victim", "v")
			post := func(token string, args ...string) (int, string) {
				body, _ := json.Marshal(map[string]any{"command": args})
				req, _ := http.NewRequest("POST", hs.URL+"/db/0/command", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			for _, c := range []struct {
				token  string
				args   []string
				status int
			}{
				{"write", []string{"EVAL", "redis.call('FLUSHALL') return 1", "1", "{ct}:x"}, 403},
				{"write", []string{"EVAL", "return redis.call('DEL', KEYS[1])", "1", "{ct}:victim"}, 200}, // contained, not banned
				{"mine", []string{"EVAL", "return redis.call('GET', KEYS[1])", "1", "{ct}:victim"}, 403},
				{"mine", []string{"SET", "{ct}:victim", "pwned"}, 403},
				{"mine", []string{"SET", "{ct}:mine:a", "1"}, 200},
			} {
				data.Do(t, "SET", "{ct}:victim", "v")
				status, body := post(c.token, c.args...)
				if status != c.status {
					t.Errorf("%s %v: got %d %s, want %d", c.token, c.args, status, body, c.status)
				}
				if c.status == 403 {
					if v := data.Do(t, "GET", "{ct}:victim"); string(v.Str) != "v" {
						t.Errorf("%s %v was refused but the victim key is %q", c.token, c.args, v.Str)
					}
				}
			}
			if v := data.Do(t, "ACL", "LIST"); !strings.Contains(v.String(), "gw-write-") {
				t.Errorf("no gateway ACL user on the data node: %s", v)
			}
		})
	}
}
