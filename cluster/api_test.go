package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/api"
	"github.com/redis-gateway/redis-gateway/cluster"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// testHTTP serves a cluster database through the real HTTP layer and
// checks a few routes end to end.
func testHTTP(t *testing.T, rc *redistest.Cluster) {
	c := newClient(t, rc, cluster.Config{})
	srv := api.NewServer(nil, api.Config{}, []*api.Database{{Name: "0", Client: c, Addr: rc.URL()}}, nil)
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	call := func(t *testing.T, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, hs.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
			t.Fatalf("%s %s: body is not a JSON object: %s", method, path, raw)
		}
		return res.StatusCode, out
	}

	t.Run("Strings", func(t *testing.T) {
		for i := range 30 {
			key := fmt.Sprintf("http:%d", i)
			if st, body := call(t, "PUT", "/db/0/strings/"+key, fmt.Sprintf(`{"value":"v%d"}`, i)); st/100 != 2 {
				t.Fatalf("PUT %s: got %d %v, want 2xx", key, st, body)
			}
		}
		for i := range 30 {
			key := fmt.Sprintf("http:%d", i)
			st, body := call(t, "GET", "/db/0/strings/"+key, "")
			if st != 200 || body["value"] != fmt.Sprintf("v%d", i) {
				t.Fatalf("GET %s: got %d %v, want 200 with value v%d", key, st, body, i)
			}
		}
		if st, _ := call(t, "GET", "/db/0/strings/http:absent", ""); st != 404 {
			t.Errorf("GET absent key: got %d, want 404", st)
		}
	})

	t.Run("Pipeline", func(t *testing.T) {
		st, body := call(t, "POST", "/db/0/pipeline", `{"commands":[["SET","p:a","1"],["SET","p:b","2"],["SET","p:c","3"],["GET","p:c"],["GET","p:a"],["MSET","p:a","1","p:b","2"]]}`)
		if st != 200 {
			t.Fatalf("got %d %v, want 200", st, body)
		}
		out := fmt.Sprint(body["results"])
		if !strings.Contains(out, "result:3") || !strings.Contains(out, "CROSSSLOT") {
			t.Errorf("results: got %s, want GET p:c = 3 in order and a CROSSSLOT error for the MSET", out)
		}
	})

	t.Run("EventsAcrossSlots", func(t *testing.T) {
		// one multiplexed SSE over streams in different hash slots: each
		// slot gets its own XREAD (one XREAD naming both is CROSSSLOT)
		a, b := "ev:a", "ev:b"
		if cluster.Slot(a) == cluster.Slot(b) {
			t.Fatalf("%s and %s share slot %d; the test needs two", a, b, cluster.Slot(a))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/db/0/events?stream="+a+"&stream="+b, nil)
		req.Header.Set("Accept", "text/event-stream")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			raw, _ := io.ReadAll(res.Body)
			t.Fatalf("GET /events over two slots: got %d %s, want 200", res.StatusCode, raw)
		}
		for _, k := range []string{a, b} {
			if st, body := call(t, "POST", "/db/0/command", `{"command":["XADD","`+k+`","*","from","`+k+`"]}`); st != 200 {
				t.Fatalf("XADD %s: got %d %v", k, st, body)
			}
		}
		got := map[string]bool{}
		sc := bufio.NewScanner(res.Body)
		for len(got) < 2 && sc.Scan() {
			line := sc.Text()
			if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"stream":"ev:`) {
				var e struct {
					Stream string
					Fields map[string]string
				}
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					t.Fatalf("entry %s: %v", data, err)
				}
				if e.Fields["from"] != e.Stream {
					t.Fatalf("entry %s: its field names another stream", data)
				}
				got[e.Stream] = true
			}
			if strings.HasPrefix(line, "event: error") {
				sc.Scan()
				t.Fatalf("error event: %s", sc.Text())
			}
		}
		if !got[a] || !got[b] {
			t.Fatalf("entries seen from %v, want both %s and %s (scan: %v)", got, a, b, sc.Err())
		}
	})

	t.Run("CrossSlot", func(t *testing.T) {
		st, body := call(t, "POST", "/db/0/command", `{"command":["MSET","a","1","b","2"]}`)
		if st != 400 || body["code"] != "CROSSSLOT" {
			t.Errorf("cross-slot MSET: got %d %v, want 400 CROSSSLOT", st, body)
		}
		st, body = call(t, "POST", "/db/0/transaction", `{"commands":[["SET","a","1"],["SET","b","2"]]}`)
		if st != 400 || body["code"] != "CROSSSLOT" {
			t.Errorf("cross-slot transaction: got %d %v, want 400 CROSSSLOT", st, body)
		}
		st, body = call(t, "POST", "/db/0/transaction", `{"watch":["{u}a"],"commands":[["SET","{u}a","1"],["INCR","{u}b"]]}`)
		if st != 200 {
			t.Errorf("one-slot transaction: got %d %v, want 200", st, body)
		}
	})

	t.Run("Ready", func(t *testing.T) {
		if st, body := call(t, "GET", "/readyz", ""); st != 200 {
			t.Errorf("readyz: got %d %v", st, body)
		}
	})
}
