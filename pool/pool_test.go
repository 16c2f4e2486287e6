package pool_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/pool"
	"github.com/redis-gateway/redis-gateway/resp"
)

func newPool(tb testing.TB, cfg pool.Config) *pool.Pool {
	tb.Helper()
	p, err := pool.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// do runs one command through the pool the way the client does.
func do(ctx context.Context, p *pool.Pool, args ...string) (resp.Value, error) {
	cn, err := p.Get(ctx)
	if err != nil {
		return resp.Value{}, err
	}
	done := cn.Watch(ctx)
	err = cn.WriteCommand(args...)
	if err == nil {
		err = cn.Flush()
	}
	var v resp.Value
	if err == nil {
		v, err = cn.Read()
	}
	if werr := done(); werr != nil && err != nil {
		err = werr
	}
	if err == nil {
		err = v.Err()
	}
	p.Put(cn, err)
	return v, err
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		url  string
		want pool.Config
		err  string
	}{
		{url: "redis://localhost", want: pool.Config{Network: "tcp", Addr: "localhost:6379"}},
		{url: "redis://u:p@h:7000/3?pool_size=5&dial_timeout=2s&protocol=2&client_name=gw", want: pool.Config{Network: "tcp", Addr: "h:7000", Username: "u", Password: "p", DB: 3, PoolSize: 5, DialTimeout: 2 * time.Second, Protocol: 2, ClientName: "gw"}},
		{url: "redis://secret@h:1", want: pool.Config{Network: "tcp", Addr: "h:1", Password: "secret"}},
		{url: "unix:///tmp/r.sock?db=2", want: pool.Config{Network: "unix", Addr: "/tmp/r.sock", DB: 2}},
		{url: "http://h", err: "scheme"},
		{url: "redis://h/x", err: "database"},
		{url: "redis://h?bogus=1", err: "unknown option"},
		{url: "redis://h?pool_timeout=soon", err: "duration"},
	}
	for _, tc := range cases {
		got, err := pool.ParseURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error about %s", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		got.TLS = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.url, got, tc.want)
		}
	}
	c, _ := pool.ParseURL("rediss://u:hunter2@h:1/0")
	if c.TLS == nil || c.TLS.ServerName != "h" {
		t.Errorf("rediss: TLS %+v", c.TLS)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "rediss://u:xxxxx@h:1/0") {
		t.Errorf("String() = %q, want the password redacted", s)
	}
}

func TestReuseAndStats(t *testing.T) {
	s := redistest.Start(t)
	p := newPool(t, pool.Config{Addr: s.Addr()})
	for range 5 {
		if _, err := do(t.Context(), p, "PING"); err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if st.Misses != 1 || st.Hits != 4 || st.TotalConns != 1 || st.IdleConns != 1 || st.InUse != 0 {
		t.Fatalf("stats %+v, want 1 miss, 4 hits, 1 idle connection", st)
	}
}

func TestExhaustionWaitsThenTimesOut(t *testing.T) {
	s := redistest.Start(t)
	p := newPool(t, pool.Config{Addr: s.Addr(), PoolSize: 2, PoolTimeout: 150 * time.Millisecond})
	a, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Get(t.Context())
	if !errors.Is(err, pool.ErrPoolTimeout) {
		t.Fatalf("third Get: got %v, want ErrPoolTimeout", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("third Get failed after %v, before the pool timeout", waited)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx: %v", err)
	}
	// A waiter gets the connection as soon as one is returned.
	got := make(chan error, 1)
	go func() {
		cn, err := p.Get(context.Background())
		if err == nil {
			p.Put(cn, nil)
		}
		got <- err
	}()
	p.Put(a, nil)
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	p.Put(b, nil)
	if st := p.Stats(); st.Timeouts != 1 || st.WaitCount < 1 {
		t.Fatalf("stats %+v, want 1 timeout and a wait", st)
	}
}

func TestBrokenConnectionsAreNotReused(t *testing.T) {
	s := redistest.Start(t)
	p := newPool(t, pool.Config{Addr: s.Addr(), PoolSize: 1})
	cn, _ := p.Get(t.Context())
	first := cn.NetConn()
	p.Put(cn, errors.New("i/o failure"))
	cn, _ = p.Get(t.Context())
	if cn.NetConn() == first {
		t.Fatal("a connection returned with a transport error was reused")
	}
	// Unread reply bytes make a connection dirty.
	_ = cn.WriteCommand("PING")
	_ = cn.Flush()
	dirty := cn.NetConn()
	p.Put(cn, nil) // reply never read
	cn, _ = p.Get(t.Context())
	if cn.NetConn() == dirty {
		t.Fatal("a connection with an unread reply was reused")
	}
	p.Put(cn, nil)
	if p.Stats().StaleConns < 2 {
		t.Fatalf("stale count %d, want 2", p.Stats().StaleConns)
	}
}

func TestKilledIdleConnectionIsSkipped(t *testing.T) {
	s := redistest.Start(t)
	p := newPool(t, pool.Config{Addr: s.Addr()})
	if _, err := do(t.Context(), p, "PING"); err != nil {
		t.Fatal(err)
	}
	s.Do(t, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := do(t.Context(), p, "PING")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PING after CLIENT KILL kept failing: %v", err)
		}
	}
	if p.Stats().StaleConns == 0 {
		t.Fatal("the killed connection was not detected as stale")
	}
}

// TestIdleConnectionOutlivesCommandDeadline pins issue 18 item 2: a
// connection that sat idle longer than the deadline of the command that last
// used it is reused (same CLIENT ID), not counted stale and re-dialled.
func TestIdleConnectionOutlivesCommandDeadline(t *testing.T) {
	s := redistest.Start(t)
	cases := []struct {
		name    string
		timeout time.Duration
	}{
		{name: "ShortDeadline", timeout: 50 * time.Millisecond},
		{name: "LongerDeadline", timeout: 200 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Addr: s.Addr(), PoolSize: 1})
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			first, err := do(ctx, p, "CLIENT", "ID")
			if err != nil {
				t.Fatal(err)
			}
			<-ctx.Done() // idle past the deadline the command ran under
			second, err := do(t.Context(), p, "CLIENT", "ID")
			if err != nil {
				t.Fatal(err)
			}
			if first.Int != second.Int {
				t.Errorf("CLIENT ID %d then %d: the idle connection was re-dialled", first.Int, second.Int)
			}
			if st := p.Stats(); st.StaleConns != 0 || st.Misses != 1 {
				t.Errorf("stats %+v, want no stale connection and one dial", st)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	s := redistest.Start(t, "--requirepass", "secret")
	c := dial(t, s.Addr())
	redistest.Exchange(t, c, "AUTH", "secret")
	redistest.Exchange(t, c, "ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all")
	c.Close()

	ok := newPool(t, pool.Config{Addr: s.Addr(), Password: "secret"})
	if _, err := do(t.Context(), ok, "PING"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	alice := newPool(t, pool.Config{Addr: s.Addr(), Username: "alice", Password: "pw"})
	if v, err := do(t.Context(), alice, "ACL", "WHOAMI"); err != nil || string(v.Str) != "alice" {
		t.Fatalf("ACL user: %v %v", v, err)
	}
	wrong := newPool(t, pool.Config{Addr: s.Addr(), Password: "nope"})
	_, err := do(t.Context(), wrong, "PING")
	var re *resp.Error
	if !errors.As(err, &re) || re.Code != "WRONGPASS" {
		t.Fatalf("wrong password: got %v, want WRONGPASS", err)
	}
	if strings.Contains(err.Error(), "nope") {
		t.Fatalf("error leaks the password: %v", err)
	}
	none := newPool(t, pool.Config{Addr: s.Addr()})
	if _, err := do(t.Context(), none, "GET", "k"); !errors.As(err, &re) || re.Code != "NOAUTH" {
		t.Fatalf("no password: got %v, want NOAUTH", err)
	}
}

func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestProtocolAndDatabase(t *testing.T) {
	s := redistest.Start(t)
	for _, proto := range []int{2, 3} {
		p := newPool(t, pool.Config{Addr: s.Addr(), Protocol: proto, DB: 4, ClientName: "gw-test"})
		cn, err := p.Get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if cn.Protocol() != proto {
			t.Errorf("protocol %d: negotiated %d", proto, cn.Protocol())
		}
		p.Put(cn, nil)
		if _, err := do(t.Context(), p, "SET", "where", "four"); err != nil {
			t.Fatal(err)
		}
		if v, _ := do(t.Context(), p, "CLIENT", "GETNAME"); string(v.Str) != "gw-test" {
			t.Errorf("client name %q", v.Str)
		}
	}
	c := dial(t, s.Addr())
	defer c.Close()
	redistest.Exchange(t, c, "SELECT", "4")
	if v := redistest.Exchange(t, c, "GET", "where"); string(v.Str) != "four" {
		t.Fatalf("the pool's writes are not in db 4: %v", v)
	}
}

// TestInitCommands checks that InitCommands run after the handshake on
// every new connection, and that one answered with an error fails the
// dial with that error.
func TestInitCommands(t *testing.T) {
	s := redistest.Start(t)
	for _, proto := range []int{2, 3} {
		// The init command's name wins over ClientName: it ran after
		// the handshake's SETNAME.
		p := newPool(t, pool.Config{Addr: s.Addr(), Protocol: proto, ClientName: "handshake", PoolSize: 2,
			InitCommands: [][]string{{"CLIENT", "SETNAME", "init"}, {"SET", "initran", "yes"}}})
		cn1, err := p.Get(t.Context())
		if err != nil {
			t.Fatalf("protocol %d: %v", proto, err)
		}
		if v, err := do(t.Context(), p, "CLIENT", "GETNAME"); err != nil || string(v.Str) != "init" {
			t.Errorf("protocol %d: CLIENT GETNAME on a second connection: got %q, %v, want init", proto, v.Str, err)
		}
		p.Put(cn1, nil)
		if st := p.Stats(); st.Misses != 2 {
			t.Errorf("protocol %d: dials: got %d, want 2", proto, st.Misses)
		}
	}
	if v := s.Do(t, "GET", "initran"); string(v.Str) != "yes" {
		t.Errorf("GET initran: got %q, want yes", v.Str)
	}

	// READONLY is refused by a server without cluster support.
	p := newPool(t, pool.Config{Addr: s.Addr(), InitCommands: [][]string{{"READONLY"}}})
	if _, err := p.Get(t.Context()); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("Get with a refused init command: got %v, want an error naming READONLY", err)
	}
	if err := (pool.Config{InitCommands: [][]string{{}}}).Validate(); err == nil {
		t.Error("Validate with an empty init command: got nil, want an error")
	}
}

// TestHelloFallback talks to a scripted server that does not know HELLO
// (like Redis 5): the only fake server in the suite, for a reply a real
// Redis 7 cannot give.
func TestHelloFallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var seen []string
	var mu sync.Mutex
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rd := resp.NewReader(c, resp.Limits{})
		w := resp.NewWriter(c)
		for {
			v, err := rd.Read()
			if err != nil {
				return
			}
			name := strings.ToUpper(string(v.Elems[0].Str))
			mu.Lock()
			seen = append(seen, name)
			mu.Unlock()
			if name == "HELLO" {
				w.WriteValue(resp.ErrorValue("ERR unknown command 'HELLO'"))
			} else if name == "PING" {
				w.WriteValue(resp.SimpleValue("PONG"))
			} else {
				w.WriteValue(resp.SimpleValue("OK"))
			}
			w.Flush()
		}
	}()
	p := newPool(t, pool.Config{Addr: ln.Addr().String(), Password: "pw", ClientName: "gw", DB: 2})
	cn, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cn.Protocol() != 2 {
		t.Fatalf("protocol %d, want the RESP2 fallback", cn.Protocol())
	}
	p.Put(cn, nil)
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, " "); got != "HELLO AUTH CLIENT SELECT" {
		t.Fatalf("handshake %q, want HELLO AUTH CLIENT SELECT", got)
	}
}

func TestUnixSocket(t *testing.T) {
	s := redistest.Start(t)
	cfg, err := pool.ParseURL("unix://" + s.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, cfg)
	if v, err := do(t.Context(), p, "PING"); err != nil || string(v.Str) != "PONG" {
		t.Fatalf("PING over unix socket: %v %v", v, err)
	}
}

func TestIdleExpiryAndMinIdle(t *testing.T) {
	s := redistest.Start(t)
	p := newPool(t, pool.Config{Addr: s.Addr(), MinIdle: 2, MaxIdleTime: 50 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().StaleConns < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: idle connections were never expired and replaced", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := p.Stats(); st.IdleConns > 2 {
		t.Fatalf("stats %+v: more idle than MinIdle", st)
	}
}

func TestClose(t *testing.T) {
	s := redistest.Start(t)
	p, _ := pool.New(pool.Config{Addr: s.Addr()})
	cn, err := p.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := p.Get(t.Context()); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	p.Put(cn, nil) // returned after Close: closed, not kept
	if st := p.Stats(); st.IdleConns != 0 || st.TotalConns != 0 {
		t.Fatalf("stats after Close %+v", st)
	}
}

func BenchmarkGetPut(b *testing.B) {
	s := redistest.Start(b)
	p := newPool(b, pool.Config{Addr: s.Addr()})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cn, err := p.Get(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			p.Put(cn, nil)
		}
	})
}

func BenchmarkPing(b *testing.B) {
	s := redistest.Start(b)
	p := newPool(b, pool.Config{Addr: s.Addr()})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := do(ctx, p, "PING"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestTLSHandshake dials a real redis-server over TLS (rediss://), with
// the server's CA trusted, and refuses a server it cannot verify.
func TestTLSHandshake(t *testing.T) {
	s := redistest.StartTLS(t, "--requirepass", "sekret")
	cfg, err := pool.ParseURL("rediss://:sekret@" + s.TLSAddr() + "/3")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS.RootCAs = s.CAPool
	p := newPool(t, cfg)
	ctx := t.Context()
	if _, err := do(ctx, p, "SET", "over-tls", "yes"); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	if v, err := do(ctx, p, "GET", "over-tls"); err != nil || string(v.Str) != "yes" {
		t.Fatalf("GET over TLS: %v %v", v, err)
	}
	// The handshake authenticated and selected database 3: the key is
	// there and not in database 0.
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	redistest.Exchange(t, c, "AUTH", "sekret")
	if v := redistest.Exchange(t, c, "EXISTS", "over-tls"); v.Int != 0 {
		t.Fatal("the key landed in database 0")
	}
	redistest.Exchange(t, c, "SELECT", "3")
	if v := redistest.Exchange(t, c, "GET", "over-tls"); string(v.Str) != "yes" {
		t.Fatalf("database 3 holds %v", v)
	}
	untrusted, err := pool.ParseURL("rediss://:sekret@" + s.TLSAddr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	untrusted.DialTimeout = 2 * time.Second
	_, err = do(ctx, newPool(t, untrusted), "PING")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("PING to a server signed by an unknown CA: %v, want a certificate error", err)
	}
}
