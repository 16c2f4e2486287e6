package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestREADMECurlExamples runs the README's "Try it with curl" block, in
// order, against the real binary started as the README says (no
// configuration: the embedded Redis), and checks every answer the README
// shows as exact JSON. Comments with "…" or "<" describe rather than quote,
// and are only checked for a 2xx status.
func TestREADMECurlExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```sh\nB=http://127.0.0.1:8080/db/0\n")
	if !ok {
		t.Fatal("README.md: the curl block (starting B=http://127.0.0.1:8080/db/0) is gone")
	}
	block, _, _ = strings.Cut(block, "```")
	// The Upstash section's examples run too, after the REST ones.
	_, upstash, ok := strings.Cut(string(readme), "## Using @upstash/redis")
	if !ok {
		t.Fatal("README.md: the Upstash section is gone")
	}
	_, upstash, _ = strings.Cut(upstash, "```sh\n")
	upstash, _, _ = strings.Cut(upstash, "```")
	block += upstash
	p := startBinary(t, nil)
	base := p.URL + "/db/0"
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		cmd, comment, _ := strings.Cut(line, "  #")
		comment = strings.TrimSpace(comment)
		args := shellWords(t, strings.TrimPrefix(cmd, "curl "))
		method, body, url := "GET", "", ""
		var headers []string
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-X":
				i++
				method = args[i]
			case "-d":
				i++
				body = args[i]
				if method == "GET" {
					method = "POST"
				}
			case "-H":
				i++
				headers = append(headers, args[i])
			case "-i", "-s":
			default:
				url = strings.ReplaceAll(args[i], "$B", base)
				url = strings.ReplaceAll(url, "http://127.0.0.1:8080", p.URL)
			}
		}
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ran++
		if res.StatusCode >= 300 {
			t.Errorf("%s\n  got %d %s", line, res.StatusCode, got)
			continue
		}
		want, _, _ := strings.Cut(comment, "  ")
		if !(strings.HasPrefix(want, "{") || strings.HasPrefix(want, "[")) || strings.ContainsAny(want, "…<") {
			continue
		}
		var w, g any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Errorf("README comment of %q is not JSON: %v", line, err)
			continue
		}
		err = json.Unmarshal(bytes.TrimSpace(got), &g)
		if err == nil {
			approxTTL(w, g)
		}
		if err != nil || !reflect.DeepEqual(w, g) {
			t.Errorf("%s\n  got  %s\n  want %s", line, bytes.TrimSpace(got), want)
		}
	}
	if ran < 33 {
		t.Fatalf("ran %d curl examples; the README block has more", ran)
	}
}

// approxTTL makes a remaining TTL within two seconds of the README's count
// as equal (time passes between the examples).
func approxTTL(want, got any) {
	w, ok1 := want.(map[string]any)
	g, ok2 := got.(map[string]any)
	if !ok1 || !ok2 {
		return
	}
	wt, ok1 := w["ttl_ms"].(float64)
	gt, ok2 := g["ttl_ms"].(float64)
	if ok1 && ok2 && gt <= wt && wt-gt < 2000 {
		g["ttl_ms"] = wt
	}
}

// shellWords splits a command line the way sh would for the README's
// examples: words, '…' and "…" quoting.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				t.Fatalf("unbalanced quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
