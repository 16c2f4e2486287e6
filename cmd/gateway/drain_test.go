package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestShutdownServesIdleKeepAlives: requests sent on idle keep-alive
// connections right as the gateway is told to stop (the cancel is what
// SIGTERM does through signal.NotifyContext) are all answered, with
// Connection: close, and every acknowledged write is in Redis. Before the
// drain, Shutdown closed idle connections at once and such requests
// failed with EOF or ECONNRESET.
func TestShutdownServesIdleKeepAlives(t *testing.T) {
	rs := redistest.Start(t)
	g := startGateway(t, map[string]string{"REDIS_URL": rs.URL(0)})
	addr := strings.TrimPrefix(g.URL, "http://")
	const conns = 32
	type kept struct {
		c  net.Conn
		br *bufio.Reader
	}
	ks := make([]kept, conns)
	for i := range ks {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ks[i] = kept{c, bufio.NewReader(c)}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		res, err := http.ReadResponse(ks[i].br, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("warm-up: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	// every connection is idle now; stop the gateway and use them at once
	var wg sync.WaitGroup
	errs := make([]error, conns)
	closing := make([]bool, conns)
	g.cancel()
	// The stop is asynchronous: wait until the gateway drains (a fresh
	// connection is answered with Connection: close), or a request that
	// beats the signal is rightly answered as before the stop.
	for deadline := time.Now().Add(2 * time.Second); ; {
		res, err := http.Get(g.URL + "/healthz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.Close {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway never started draining")
		}
		time.Sleep(time.Millisecond)
	}
	for i, k := range ks {
		wg.Go(func() {
			body := fmt.Sprintf(`{"value":"v%d"}`, i)
			fmt.Fprintf(k.c, "PUT /db/0/strings/drain%d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
			res, err := http.ReadResponse(k.br, nil)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("status %d", res.StatusCode)
			}
			closing[i] = res.Close
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			t.Errorf("connection %d: request right after the stop: %v", i, err)
			continue
		}
		if !closing[i] {
			t.Errorf("connection %d: answered without Connection: close while draining", i)
		}
		if v := rs.Do(t, "GET", fmt.Sprintf("drain%d", i)); string(v.Str) != fmt.Sprintf("v%d", i) {
			t.Errorf("drain%d = %q after a 200", i, v.Str)
		}
	}
	t.Logf("%d of %d requests on idle keep-alive connections failed at the stop", failed, conns)
}
