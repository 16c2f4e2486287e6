package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestAccessLogIsBatchedButWritten: the access log is written by the
// batching writer, so a request's line appears shortly after the request
// (within the interval), whole and in the documented format; the lines
// still buffered when the gateway stops are written before run returns,
// and so is the "stopped" line.
func TestAccessLogIsBatchedButWritten(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var logs lockedBuffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"gateway", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, pw, &logs)
		pw.CloseWithError(err)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("gateway did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	_, url, _ := strings.Cut(strings.TrimSpace(line), "listening on ")
	if !strings.Contains(logs.String(), `"msg":"listening"`) {
		t.Errorf("the startup lines were not written before the gateway said it listens:\n%s", logs.String())
	}
	waitStatus(t, url+"/readyz", 200)
	if code, body := httpDo(t, "GET", url+"/db/0/strings/nope", ""); code != 404 {
		t.Fatalf("GET: %d %s", code, body)
	}
	deadline := time.Now().Add(2 * time.Second)
	var rec map[string]any
	for rec == nil && time.Now().Before(deadline) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"status":404`) {
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("access-log line is not JSON: %q: %v", l, err)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rec == nil {
		t.Fatalf("no access-log line for the request within 2 s:\n%s", logs.String())
	}
	for _, k := range []string{"time", "level", "req_id", "method", "route", "status", "bytes", "dur"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("access-log line lacks %q: %v", k, rec)
		}
	}
	if rec["route"] != "/db/{db}/strings/{key}" {
		t.Errorf("route = %v", rec["route"])
	}
	// a burst of requests right before the stop: every line is written by
	// the time run returns
	for i := range 20 {
		httpDo(t, "GET", fmt.Sprintf("%s/db/0/strings/burst%d", url, i), "")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return")
	}
	out := logs.String()
	if n := strings.Count(out, `"msg":"request"`); n < 22 { // the 404, the 20 of the burst, and /readyz
		t.Errorf("%d access-log lines after the stop, want at least 22:\n%s", n, out)
	}
	if !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("no stopped line after run returned:\n%s", out)
	}
}
