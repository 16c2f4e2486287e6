package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestRunHTTP2 runs the real program with --tls-cert/--tls-key and checks
// that one h2 connection carries ten concurrent event streams (five
// single-channel, five multiplexed) and ordinary requests next to them:
// what lets a browser page hold more than six streams on one origin.
func TestRunHTTP2(t *testing.T) {
	rs := redistest.Start(t)
	certFile, keyFile, pool := redistest.SelfSigned(t, t.TempDir())
	ready := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	g := startGatewayClient(t, ready, map[string]string{"REDIS_URL": rs.URL(0)},
		"--tls-cert", certFile, "--tls-key", keyFile, "--heartbeat", "1s")
	if !strings.HasPrefix(g.URL, "https://") {
		t.Fatalf("listening on %s, want https://", g.URL)
	}

	var dials atomic.Int32
	tr := &http.Transport{
		ForceAttemptHTTP2: true,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			d := tls.Dialer{Config: &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, g.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s %s: got %s, want HTTP/2", method, path, resp.Proto)
		}
		return resp
	}
	// one ordinary request first, so that the streams find the connection
	// up instead of racing to dial their own
	resp := do("POST", "/db/0/command", `{"command":["SET","h2:greeting","hello"]}`)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SET: got %d, want 200", resp.StatusCode)
	}

	const streams = 10
	channel := func(i int) string { return fmt.Sprintf("h2:ch:%d", i) }
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	opened := make(chan struct{}, streams)
	for i := range streams {
		path := "/db/0/channels/" + url.PathEscape(channel(i)) + "/events"
		if i%2 == 1 {
			path = "/db/0/events?" + url.Values{"channel": {channel(i)}, "stream": {fmt.Sprintf("h2:s:%d", i)}}.Encode()
		}
		resp := do("GET", path, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("GET %s: got %d %s, want 200 text/event-stream", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			opened <- struct{}{}
			want := fmt.Sprintf(`"message":"m%d"`, i)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") && strings.Contains(sc.Text(), want) {
					errs <- nil
					return
				}
			}
			errs <- fmt.Errorf("stream %d (%s): ended before %s: %v", i, path, want, sc.Err())
		}()
	}
	for range streams {
		<-opened
	}
	// ordinary requests on the same connection while the ten streams are
	// open: publishes (each stream subscribed before its headers) and a GET
	for i := range streams {
		resp := do("POST", "/db/0/channels/"+url.PathEscape(channel(i))+"/messages", fmt.Sprintf(`{"message":"m%d"}`, i))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("publish to %s: got %d, want 200", channel(i), resp.StatusCode)
		}
	}
	resp = do("GET", "/db/0/strings/h2:greeting", "")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET h2:greeting: got %d, want 200", resp.StatusCode)
	}
	for range streams {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	if n := dials.Load(); n != 1 {
		t.Fatalf("TLS dials: got %d, want 1 (every request on one h2 connection)", n)
	}
}
