package sentinel_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/faultproxy"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/sentinel"
)

// TestSyncTokensReadYourWrites runs the gateway on a Sentinel database
// with read_from_replicas whose replica replicates through a proxy that
// delays the stream by 300ms. Without a token, a read right after a write
// sees the old value on the replica; with the write's token, on both the
// REST API and the Upstash surface, it never does: with the default
// 50ms wait the primary answers, with a wait longer than the lag the
// replica does, once it has caught up.
func TestSyncTokensReadYourWrites(t *testing.T) {
	var proxy *faultproxy.Proxy
	ss := redistest.StartSentinelVia(t, func(p *redistest.Server) string {
		var err error
		if proxy, err = faultproxy.Start(p.Addr()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proxy.Close() })
		return proxy.Addr()
	})
	rc := newReplicaReader(t, ss)
	rc2 := func(init [][]string) (client.Backend, error) {
		return sentinel.New(sentinel.Config{Sentinels: ss.SentinelAddrs(), MasterName: ss.MasterName,
			ReadFromReplicas: true, Pool: pool.Config{Protocol: 2, InitCommands: init}, CheckInterval: 100 * time.Millisecond})
	}
	serve := func(cfg api.Config) string {
		srv := api.NewServer(nil, cfg, []*api.Database{{Name: "0", Client: rc, Addr: "sentinel", OpenRESP2: rc2}}, nil)
		hs := httptest.NewServer(srv)
		t.Cleanup(func() { hs.Close(); srv.Close() })
		return hs.URL
	}
	do := func(method, url, body, header, token string) (string, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if token != "" {
			req.Header.Set(header, token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 && res.StatusCode != 404 { // 404: not on the replica yet
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
		}
		return string(b), res.Header.Get(header)
	}
	// surfaces: write value v with the token, read with the token
	type surface struct {
		name        string
		write, read func(base, v, tok string) (string, string)
		wantBodyOf  func(v string) string
	}
	surfaces := []surface{
		{"rest",
			func(base, v, tok string) (string, string) {
				return do("PUT", base+"/db/0/strings/ryw", `{"value":"`+v+`"}`, "Redis-Sync-Token", tok)
			},
			func(base, _, tok string) (string, string) {
				return do("GET", base+"/db/0/strings/ryw", "", "Redis-Sync-Token", tok)
			}, func(v string) string { return `"value":"` + v + `"` }},
		{"upstash",
			func(base, v, tok string) (string, string) {
				return do("POST", base+"/upstash/0", `["SET","ryw:u","`+v+`"]`, "Upstash-Sync-Token", tok)
			},
			func(base, _, tok string) (string, string) {
				return do("POST", base+"/upstash/0", `["GET","ryw:u"]`, "Upstash-Sync-Token", tok)
			}, func(v string) string { return `{"result":"` + v + `"}` }},
	}
	proxy.SetLatency(300 * time.Millisecond)

	// Without a token, the replica answers with what it has: the old value.
	base := serve(api.Config{})
	stale := false
	for i := range 3 {
		v := "plain" + strconv.Itoa(i)
		surfaces[0].write(base, v, "")
		if body, _ := surfaces[0].read(base, v, ""); !strings.Contains(body, surfaces[0].wantBodyOf(v)) {
			stale = true
		}
	}
	if !stale {
		t.Fatal("setup: reads without a token never saw an old value; the replica does not lag")
	}

	for _, wait := range []struct {
		name      string
		cfg       api.Config
		onReplica bool
	}{
		{"default wait, primary answers", api.Config{}, false},
		{"wait beyond the lag, replica answers", api.Config{SyncWait: 3 * time.Second}, true},
	} {
		base := serve(wait.cfg)
		for _, sf := range surfaces {
			tok := ""
			var last int64
			p0, r0 := getCalls(t, ss.Primary), getCalls(t, ss.Replica)
			const n = 4
			for i := range n {
				v := sf.name + strconv.Itoa(i) + strconv.FormatBool(wait.onReplica)
				_, tok = sf.write(base, v, tok)
				got, err := strconv.ParseInt(tok, 10, 64)
				if err != nil || got <= last {
					t.Fatalf("%s, %s: token after write %d is %q, want more than %d", wait.name, sf.name, i, tok, last)
				}
				last = got
				body, after := sf.read(base, v, tok)
				if !strings.Contains(body, sf.wantBodyOf(v)) {
					t.Fatalf("%s, %s: read with the write's token answered %s, want %s", wait.name, sf.name, body, v)
				}
				if after != tok {
					t.Fatalf("%s, %s: token after the read %q, want %q", wait.name, sf.name, after, tok)
				}
			}
			p1, r1 := getCalls(t, ss.Primary), getCalls(t, ss.Replica)
			if wait.onReplica && (r1-r0 != n || p1-p0 != 0) {
				t.Errorf("%s, %s: GETs on the primary %d, on the replica %d; want 0 and %d", wait.name, sf.name, p1-p0, r1-r0, n)
			}
			if !wait.onReplica && (p1-p0 != n || r1-r0 != 0) {
				t.Errorf("%s, %s: GETs on the primary %d, on the replica %d; want %d and 0", wait.name, sf.name, p1-p0, r1-r0, n)
			}
		}
	}
}
