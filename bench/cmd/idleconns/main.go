// Command idleconns measures what an idle HTTP/1.1 keep-alive connection
// costs a server in memory. It reads the server's resident set size
// (VmRSS in /proc/PID/status), opens n connections, sends one request on
// each and reads its response (so the server has served the connection
// and parked it as idle keep-alive), waits for the server to settle, reads
// VmRSS again and prints the difference divided by n. The connections stay
// open until the second reading, then close.
//
// Usage:
//
//	idleconns -pid 1234 -url http://127.0.0.1:8080/db/0/strings/k -n 1000
//
// Output (one line, for scripts/bench-peers.sh):
//
//	n=1000 rss_before_kib=12345 rss_after_kib=23456 per_conn_kib=11.1
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 0, "server process id (its VmRSS is read)")
	rawURL := fs.String("url", "", "URL to GET once on every connection (http only)")
	n := fs.Int("n", 1000, "connections to open")
	settle := fs.Duration("settle", 2*time.Second, "wait before each RSS reading")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *pid <= 0 || *rawURL == "" || *n <= 0 {
		return errors.New("-pid, -url and a positive -n are required")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("-url %q: want an http:// URL", *rawURL)
	}
	time.Sleep(*settle)
	before, err := rssKiB(*pid)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host)
	for i := 0; i < *n; i++ {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		if err := roundTrip(c, req); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	time.Sleep(*settle)
	after, err := rssKiB(*pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "n=%d rss_before_kib=%d rss_after_kib=%d per_conn_kib=%.1f\n",
		*n, before, after, float64(after-before)/float64(*n))
	return nil
}

// roundTrip writes req on c and reads one response, leaving c open.
func roundTrip(c net.Conn, req string) error {
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return c.SetDeadline(time.Time{})
}

// rssKiB reads VmRSS of pid in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(string(f[0]), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
