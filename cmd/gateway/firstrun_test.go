package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

// TestComposeExampleTokens: the configuration docker compose mounts
// defines tokens, so a request without one is 401; the token the README
// and docker-compose.yml tell the reader to use is accepted.
func TestComposeExampleTokens(t *testing.T) {
	const token = "change-me-too"
	for _, f := range []string{"../../README.md", "../../docker-compose.yml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Authorization: Bearer "+token) {
			t.Errorf("%s does not show a request with the example's token", f)
		}
	}
	example, err := os.ReadFile("../../deploy/gateway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	yaml := strings.ReplaceAll(string(example), "redis://redis:6379", "redis://"+rs.Addr())
	yaml = strings.Replace(yaml, "addr: 0.0.0.0:8080", "addr: 127.0.0.1:0", 1)
	g := startWithConfig(t, yaml)
	if code, _ := httpDo(t, "GET", g.URL+"/db/0/dbsize", ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
	if code, body := httpDoAs(t, token, "GET", g.URL+"/db/0/dbsize", ""); code != 200 {
		t.Errorf("with the README's token: %d %s, want 200", code, body)
	}
}

// lockedBuffer is a bytes buffer safe for the gateway's log writes and
// the test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRedisDownAtStartWarns: a Redis that does not answer at start is
// logged then, once per server, and the gateway still starts.
func TestRedisDownAtStartWarns(t *testing.T) {
	port := redistest.FreePort(t) // nothing listens there
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var logs lockedBuffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"gateway", "--addr", "127.0.0.1:0", "--redis-url", fmt.Sprintf("redis://127.0.0.1:%d", port), "--databases", "3"},
			func(string) string { return "" }, pw, &logs)
		pw.CloseWithError(err)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.Contains(line, "listening on") {
		t.Fatalf("gateway did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	warning := "Redis does not answer at start"
	if n := strings.Count(logs.String(), warning); n != 1 {
		t.Errorf("log before listening: %d warnings %q, want 1 (three databases, one server):\n%s", n, warning, logs.String())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return")
	}
}
