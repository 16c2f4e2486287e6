// Command floor is the least a Go net/http handler can spend to answer a
// request with a value fetched from Redis: each request, whatever its
// path, does GET on the last path segment (so /db/0/strings/k reads "k")
// over one TCP connection to Redis that all handlers share, pipelined, and
// answers
//
//	200 {"value":"…"}   (application/json), 404 when the key is absent
//
// There is no router, no middleware, no JSON encoder and no client
// library: a handler appends its request to a mutex-protected queue and
// wakes a writer goroutine, which swaps the whole queue out, writes every
// command in RESP with one flush and passes the requests, in order, to a
// reader goroutine; the reader parses the bulk-string replies and hands
// each one to its handler over a per-request channel.
//
// It is a measuring stick, not a server: nothing it does with Redis has a
// timeout, there is no cancellation, no reconnect and no limit on the
// queue (the HTTP server is configured as bare's, ReadHeaderTimeout
// included, so that floor − bare is the cost of Redis alone). Values go
// into the JSON body without escaping (the benchmark's value is "xxx"),
// and a reply other than a bulk string or an error stops the reader. It
// is deliberately unsafe: once the Redis connection fails, the writer or
// the reader stops and every request from then on hangs.
//
// The peer benchmark (scripts/bench-peers.sh) loads it with wrk next to
// the gateway and bench/cmd/bare: bare bounds what net/http serves when
// it talks to nothing, floor what any net/http program can serve when
// each request must fetch a value from Redis on the same machine, so
// gateway/floor is the share of that bound the gateway keeps.
//
// Usage:
//
//	floor -addr 127.0.0.1:8083 -redis 127.0.0.1:6379
package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/redis-gateway/redis-gateway/bench/internal/peer"
)

func main() { peer.Main("floor", "127.0.0.1:8083", true, setup) }

// setup dials the one Redis connection and starts its writer and reader.
func setup(f peer.Flags, stderr io.Writer) (http.Handler, func(), error) {
	conn, err := net.Dial("tcp", f.Redis)
	if err != nil {
		return nil, nil, fmt.Errorf("floor: redis: %w", err)
	}
	logger := log.New(stderr, "floor: ", log.LstdFlags)
	p := newPipe()
	go p.write(conn, logger)
	go p.read(conn, logger)
	return p, func() { conn.Close() }, nil
}

// call is one GET in flight. The reader fills body and sends the status on
// done; the handler, which alone touches the call until then, writes body
// and puts the call back in the pool.
type call struct {
	key  string
	body []byte   // {"value":"…"} when status is 200
	done chan int // HTTP status, capacity 1
}

var calls = sync.Pool{New: func() any { return &call{done: make(chan int, 1)} }}

// pipe is the shared connection: a queue for the writer, and the calls the
// writer has sent, in order, for the reader.
type pipe struct {
	mu    sync.Mutex
	queue []*call
	wake  chan struct{} // capacity 1: "the queue may be non-empty"
	sent  chan *call
}

func newPipe() *pipe {
	return &pipe{wake: make(chan struct{}, 1), sent: make(chan *call, 4096)}
}

// ServeHTTP does GET on the path's last segment.
func (p *pipe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := calls.Get().(*call)
	c.key = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	p.mu.Lock()
	p.queue = append(p.queue, c)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // the writer is already woken and will see the call
	}
	status := <-c.done
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(c.body)))
		_, _ = w.Write(c.body)
	} else {
		w.WriteHeader(status)
	}
	c.key = ""
	calls.Put(c)
}

// write sends the queued calls, a whole queue per flush, until the
// connection fails.
func (p *pipe) write(conn net.Conn, logger *log.Logger) {
	bw := bufio.NewWriterSize(conn, 64<<10)
	var batch []*call
	for range p.wake {
		p.mu.Lock()
		batch, p.queue = p.queue, batch[:0]
		p.mu.Unlock()
		for _, c := range batch {
			// *2\r\n$3\r\nGET\r\n$<len>\r\n<key>\r\n
			bw.WriteString("*2\r\n$3\r\nGET\r\n$")
			bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(c.key)), 10))
			bw.WriteString("\r\n")
			bw.WriteString(c.key)
			bw.WriteString("\r\n")
		}
		if err := bw.Flush(); err != nil {
			logger.Printf("write: %v (requests hang from now on)", err)
			return
		}
		for i, c := range batch {
			p.sent <- c
			batch[i] = nil
		}
	}
}

var (
	bodyOpen  = []byte(`{"value":"`)
	bodyClose = []byte(`"}`)
)

// read parses one reply per sent call, in order, until the connection
// fails or Redis answers something other than a bulk string or an error.
func (p *pipe) read(conn net.Conn, logger *log.Logger) {
	br := bufio.NewReaderSize(conn, 64<<10)
	for c := range p.sent {
		line, err := br.ReadSlice('\n')
		if err != nil {
			logger.Printf("read: %v (requests hang from now on)", err)
			return
		}
		if len(line) < 3 || line[len(line)-2] != '\r' {
			logger.Printf("read: bad reply line %q (requests hang from now on)", line)
			return
		}
		switch line[0] {
		case '-':
			c.done <- http.StatusBadGateway
			continue
		case '$':
		default:
			logger.Printf("read: not a bulk string: %q (requests hang from now on)", line)
			return
		}
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || n < -1 {
			logger.Printf("read: bad bulk length %q (requests hang from now on)", line)
			return
		}
		if n == -1 {
			c.done <- http.StatusNotFound
			continue
		}
		// The value goes into the body unescaped: the benchmark's is "xxx".
		b := append(c.body[:0], bodyOpen...)
		start := len(b)
		b = append(b, make([]byte, n+2)...)
		if _, err := io.ReadFull(br, b[start:]); err != nil {
			logger.Printf("read: %v (requests hang from now on)", err)
			return
		}
		c.body = append(b[:start+n], bodyClose...)
		c.done <- http.StatusOK
	}
}
