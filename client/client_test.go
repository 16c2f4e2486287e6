package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/callbacks"
	"github.com/redis-gateway/redis-gateway/client"
	"github.com/redis-gateway/redis-gateway/internal/redistest"
	"github.com/redis-gateway/redis-gateway/resp"
)

// newClient returns a client for database db of s, closed in Cleanup.
func newClient(tb testing.TB, s *redistest.Server, db int, tweak func(*client.Config)) *client.Client {
	tb.Helper()
	pc, err := client.ParseURL(s.URL(db))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := client.Config{Pool: pc}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func TestDoShapesReplies(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ctx := t.Context()
	cases := []struct {
		args []string
		want any
	}{
		{[]string{"SET", "k", "v"}, true},
		{[]string{"GET", "k"}, []byte("v")},
		{[]string{"GET", "absent"}, nil},
		{[]string{"INCR", "n"}, int64(1)},
		{[]string{"EXPIRE", "k", "100"}, true},
		{[]string{"EXPIRE", "absent", "100"}, false},
		{[]string{"INCRBYFLOAT", "f", "1.5"}, 1.5},
	}
	for _, tc := range cases {
		got, err := c.Do(ctx, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %#v, want %#v", tc.args, got, tc.want)
		}
	}
}

func TestRedisErrorIsTyped(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	if _, err := c.Do(t.Context(), "LPUSH", "l", "x"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Do(t.Context(), "GET", "l")
	var re *client.Error
	if !errors.As(err, &re) || re.Code != "WRONGTYPE" {
		t.Fatalf("GET on a list: got %v, want *Error with code WRONGTYPE", err)
	}
	if client.IsTransport(err) {
		t.Errorf("IsTransport(WRONGTYPE) = true, want false")
	}
	// The connection that carried the error reply is still usable.
	if got, err := c.Do(t.Context(), "PING"); err != nil || got == nil {
		t.Fatalf("PING after an error reply: %v, %v", got, err)
	}
}

func TestConnectionStateCommandsRejected(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	for _, args := range [][]string{
		{"SELECT", "1"}, {"select", "1"}, {"AUTH", "x"}, {"HELLO", "3"}, {"QUIT"}, {"RESET"}, {"MONITOR"},
		{"MULTI"}, {"EXEC"}, {"WATCH", "k"}, {"SUBSCRIBE", "c"}, {"PSUBSCRIBE", "p*"}, {"CLIENT", "REPLY", "OFF"},
		{"client", "tracking", "on"}, {},
	} {
		_, err := c.Do(t.Context(), args...)
		if !errors.Is(err, client.ErrForbiddenCommand) && !errors.Is(err, client.ErrEmptyCommand) {
			t.Errorf("%q: got %v, want ErrForbiddenCommand", args, err)
		}
	}
	_, err := c.Do(t.Context(), "SELECT", "1")
	if err == nil || !strings.Contains(err.Error(), "/db/{db}") {
		t.Errorf("SELECT error should say what to use instead: %v", err)
	}
	if got, err := c.Do(t.Context(), "CLIENT", "ID"); err != nil || got == nil {
		t.Errorf("CLIENT ID should be allowed: %v %v", got, err)
	}
}

func TestDatabasesAreSeparate(t *testing.T) {
	s := redistest.Start(t)
	c0 := newClient(t, s, 0, nil)
	c7 := newClient(t, s, 7, nil)
	if _, err := c7.Do(t.Context(), "SET", "k", "seven"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c0.Do(t.Context(), "GET", "k"); got != nil {
		t.Fatalf("db 0 sees db 7's key: %v", got)
	}
	if got, _ := c7.Do(t.Context(), "GET", "k"); string(got.([]byte)) != "seven" {
		t.Fatalf("db 7: got %v", got)
	}
}

func TestSetResponseCallbackIsPerInstance(t *testing.T) {
	s := redistest.Start(t)
	base := callbacks.Default()
	mk := func() *client.Client {
		return newClient(t, s, 0, func(c *client.Config) { c.Callbacks = base })
	}
	a, b := mk(), mk()
	if _, err := a.Do(t.Context(), "HSET", "h", "f", "v"); err != nil {
		t.Fatal(err)
	}
	a.SetResponseCallback("HGETALL", func(v resp.Value, _ callbacks.Options) (any, error) { return "custom", nil })
	ga, _ := a.Do(t.Context(), "HGETALL", "h")
	gb, _ := b.Do(t.Context(), "HGETALL", "h")
	if ga != "custom" {
		t.Errorf("client a: got %#v, want custom", ga)
	}
	if _, ok := gb.(callbacks.Map); !ok {
		t.Errorf("client b: got %#v, want the default Map (a's callback leaked)", gb)
	}
	if base.Get("HGETALL") == nil {
		t.Errorf("the shared table lost its HGETALL callback")
	}
}

func TestSetResponseCallbackConcurrent(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if i == 0 {
					c.SetResponseCallback("PING", func(resp.Value, callbacks.Options) (any, error) { return j, nil })
					continue
				}
				if _, err := c.Do(t.Context(), "PING"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCancelledCommandsNeverCrossReplies runs many goroutines, each with its
// own keys and values; a third of the commands are cancelled at random
// points (many mid-reply, thanks to large values). Every successful reply
// must be the caller's own value: a connection whose exchange was cut must
// never be reused.
func TestCancelledCommandsNeverCrossReplies(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, func(c *client.Config) { c.Pool.PoolSize = 4 })
	big := strings.Repeat("x", 256<<10)
	var wg sync.WaitGroup
	var crossed sync.Map
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				key := fmt.Sprintf("k:%d:%d", g, i)
				val := fmt.Sprintf("%s:%d:%d", big, g, i)
				if _, err := c.Do(context.Background(), "SET", key, val); err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				if rand.IntN(3) == 0 {
					go func() {
						time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
						cancel()
					}()
				}
				got, err := c.Do(ctx, "GET", key)
				cancel()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("GET %s: unexpected error %v", key, err)
					}
					continue
				}
				if string(got.([]byte)) != val {
					crossed.Store(key, true)
				}
			}
		}()
	}
	wg.Wait()
	crossed.Range(func(k, _ any) bool { t.Errorf("crossed reply for %v", k); return true })
}

func TestKilledConnectionsAreReplaced(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	for range 3 {
		if _, err := c.Do(t.Context(), "PING"); err != nil {
			t.Fatal(err)
		}
	}
	if v := s.Do(t, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"); v.IsError() {
		t.Fatal(v)
	}
	for i := range 5 {
		if _, err := c.Do(t.Context(), "PING"); err != nil {
			t.Fatalf("PING %d after CLIENT KILL: %v", i, err)
		}
	}
}

func TestBlockingCommandDoesNotHoldUpOthers(t *testing.T) {
	s := redistest.Start(t)
	// One pooled connection: if BLPOP took it, GET would time out.
	c := newClient(t, s, 0, func(c *client.Config) {
		c.Pool.PoolSize = 1
		c.Pool.PoolTimeout = 200 * time.Millisecond
	})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := c.Do(context.Background(), "BLPOP", "queue", "5")
		done <- err
	}()
	<-started
	// Wait until Redis reports the blocked client.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(s.Do(t, "INFO", "clients").Str), "blocked_clients:1") {
		if time.Now().After(deadline) {
			t.Fatal("BLPOP never blocked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 5 {
		if _, err := c.Do(t.Context(), "GET", "other"); err != nil {
			t.Fatalf("GET %d while BLPOP blocks: %v", i, err)
		}
	}
	if _, err := c.Do(t.Context(), "RPUSH", "queue", "item"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("BLPOP: %v", err)
	}
}

func TestBlockingTimeout(t *testing.T) {
	cases := []struct {
		args  []string
		want  time.Duration
		block bool
	}{
		{[]string{"BLPOP", "a", "b", "1.5"}, 1500 * time.Millisecond, true},
		{[]string{"bzpopmin", "z", "0"}, 0, true},
		{[]string{"BLMPOP", "2", "2", "a", "b", "LEFT"}, 2 * time.Second, true},
		{[]string{"XREAD", "COUNT", "1", "BLOCK", "250", "STREAMS", "s", "$"}, 250 * time.Millisecond, true},
		{[]string{"XREAD", "STREAMS", "s", "0"}, 0, false},
		{[]string{"WAIT", "1", "100"}, 100 * time.Millisecond, true},
		{[]string{"GET", "k"}, 0, false},
	}
	for _, tc := range cases {
		got, block := client.BlockingTimeout(tc.args)
		if got != tc.want || block != tc.block {
			t.Errorf("%v: got %v %v, want %v %v", tc.args, got, block, tc.want, tc.block)
		}
	}
}

func TestPipeline(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	p := c.Pipeline()
	p.Queue("SET", "a", "1")
	p.Queue("INCR", "a")
	p.Queue("LPUSH", "a", "x") // WRONGTYPE
	p.Queue("GET", "a")
	res, err := p.Exec(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("got %d results, want 4", len(res))
	}
	if res[0].Value != true || res[1].Value != int64(2) || string(res[3].Value.([]byte)) != "2" {
		t.Errorf("values: got %#v", res)
	}
	var re *client.Error
	if !errors.As(res[2].Err, &re) || re.Code != "WRONGTYPE" {
		t.Errorf("LPUSH on a string: got %v, want WRONGTYPE", res[2].Err)
	}
	// A forbidden command fails the whole pipeline before anything runs.
	_, err = c.Pipe(t.Context(), [][]string{{"SET", "b", "1"}, {"SELECT", "2"}})
	if !errors.Is(err, client.ErrForbiddenCommand) {
		t.Fatalf("pipeline with SELECT: got %v", err)
	}
	if got, _ := c.Do(t.Context(), "EXISTS", "b"); got != int64(0) {
		t.Errorf("a refused pipeline ran its first command")
	}
}

func TestTransaction(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	other := newClient(t, s, 0, nil)
	ctx := t.Context()

	res, err := c.Transaction(ctx, []string{"w"}, [][]string{{"SET", "w", "1"}, {"INCR", "w"}, {"LPUSH", "w", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[1].Value != int64(2) {
		t.Errorf("INCR in tx: got %#v", res[1].Value)
	}
	if res[2].Err == nil {
		t.Errorf("runtime error inside EXEC should be per command")
	}

	// A watched key changed by someone else aborts the transaction.
	tx, err := c.Tx(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Do(ctx, "SET", "w", "changed"); err != nil {
		t.Fatal(err)
	}
	tx.Queue("SET", "w", "mine")
	_, err = tx.Exec(ctx)
	tx.Close()
	if !errors.Is(err, client.ErrTxAborted) {
		t.Fatalf("got %v, want ErrTxAborted", err)
	}
	if got, _ := c.Do(ctx, "GET", "w"); string(got.([]byte)) != "changed" {
		t.Errorf("aborted tx wrote: %s", got)
	}

	// EXECABORT: a command refused at queue time discards everything.
	_, err = c.Transaction(ctx, nil, [][]string{{"SET", "z", "1"}, {"SET", "z"}})
	var te *client.TxError
	if !errors.As(err, &te) || te.Err.Code != "EXECABORT" || te.Results[1].Err == nil || te.Results[0].Err != nil {
		t.Fatalf("got %#v, want TxError EXECABORT with command 1 refused", err)
	}
	if got, _ := c.Do(ctx, "EXISTS", "z"); got != int64(0) {
		t.Errorf("discarded tx wrote z")
	}

	// A Tx closed without EXEC releases its WATCH: the connection is clean.
	tx, err = c.Tx(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	tx.Close()
	res, err = c.Transaction(ctx, nil, [][]string{{"SET", "w", "ok"}})
	if err != nil || res[0].Value != true {
		t.Fatalf("tx after an unused Tx: %v %v", res, err)
	}
}

func TestPubSubDeliversAndResubscribes(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ps := c.PubSub(client.PubSubConfig{PingInterval: 200 * time.Millisecond})
	defer ps.Close()
	ctx := t.Context()
	if err := ps.Subscribe(ctx, "news"); err != nil {
		t.Fatal(err)
	}
	if err := ps.PSubscribe(ctx, "ev:*"); err != nil {
		t.Fatal(err)
	}
	expect := func(kind, channel, payload string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m, ok := <-ps.Messages():
				if !ok {
					t.Fatal("messages channel closed")
				}
				if m.Kind == kind && m.Channel == channel && string(m.Payload) == payload {
					return
				}
			case <-timeout:
				t.Fatalf("no %s on %q with %q", kind, channel, payload)
			}
		}
	}
	publish := func(ch, msg string) {
		t.Helper()
		// Publish until someone receives: subscriptions are asynchronous.
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := c.Do(ctx, "PUBLISH", ch, msg)
			if err == nil && n.(int64) > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("nobody subscribed to %s: %v %v", ch, n, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	publish("news", "hello")
	expect(client.KindMessage, "news", "hello")
	publish("ev:1", "bin\x00\xff")
	expect(client.KindPMessage, "ev:1", "bin\x00\xff")

	s.Restart()
	expect(client.KindReconnected, "", "")
	publish("news", "after restart")
	expect(client.KindMessage, "news", "after restart")
	publish("ev:2", "pattern after restart")
	expect(client.KindPMessage, "ev:2", "pattern after restart")

	if err := ps.Unsubscribe(ctx, "news"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := s.Do(t, "PUBSUB", "NUMSUB", "news")
		if v.Elems[1].Int == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("UNSUBSCRIBE did not reach Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ps.Close()
	for range ps.Messages() {
	}
}

func TestRecoversAfterRedisRestart(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	if _, err := c.Do(t.Context(), "PING"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	_, err := c.Do(t.Context(), "PING")
	if err == nil || !client.IsTransport(err) {
		t.Fatalf("PING with Redis down: got %v, want a transport error", err)
	}
	s.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Do(t.Context(), "PING"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("client did not recover: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWaitSubscribed(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ps := c.PubSub(client.PubSubConfig{PingInterval: 200 * time.Millisecond})
	defer ps.Close()
	ctx := t.Context()
	if err := ps.WaitSubscribed(ctx, false, "never"); !errors.Is(err, client.ErrNotSubscribed) {
		t.Fatalf("WaitSubscribed on a name never subscribed: %v, want ErrNotSubscribed", err)
	}
	// After WaitSubscribed returns, a single PUBLISH must reach us: no
	// retry loop here, that is the point.
	for i, name := range []string{"first", "second"} {
		if err := ps.Subscribe(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := ps.PSubscribe(ctx, name+":*"); err != nil {
			t.Fatal(err)
		}
		if err := ps.WaitSubscribed(ctx, false, name); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := ps.WaitSubscribed(ctx, true, name+":*"); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		for _, ch := range []string{name, name + ":x"} {
			if n, err := c.Do(ctx, "PUBLISH", ch, "m"); err != nil || n != int64(1) {
				t.Fatalf("round %d: PUBLISH %s right after WaitSubscribed reached %v subscribers (%v), want 1", i, ch, n, err)
			}
		}
	}

	// While Redis is down the subscription is unconfirmed: waiting times
	// out instead of claiming success; once Redis is back it confirms.
	s.Stop()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := ps.Subscribe(ctx, "during-outage"); err != nil {
		t.Fatal(err)
	}
	if err := ps.WaitSubscribed(short, false, "during-outage"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSubscribed with Redis down: %v, want a deadline error", err)
	}
	s.Restart()
	long, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	for _, name := range []string{"first", "during-outage"} {
		if err := ps.WaitSubscribed(long, false, name); err != nil {
			t.Fatalf("after restart, %s: %v", name, err)
		}
		if n, err := c.Do(ctx, "PUBLISH", name, "m"); err != nil || n != int64(1) {
			t.Fatalf("after restart PUBLISH %s reached %v (%v), want 1", name, n, err)
		}
	}

	// Unsubscribing wakes a waiter with ErrNotSubscribed; Close wakes
	// everyone with ErrPubSubClosed.
	if err := ps.Unsubscribe(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	if err := ps.WaitSubscribed(ctx, false, "first"); !errors.Is(err, client.ErrNotSubscribed) {
		t.Fatalf("after Unsubscribe: %v", err)
	}
	ps.Close()
	if err := ps.WaitSubscribed(ctx, false, "second"); !errors.Is(err, client.ErrPubSubClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestPubSubResubscribesQuickly: after an outage long enough for the
// reconnect backoff to reach its bound, a subscriber is resubscribed
// (KindReconnected) within about that bound (40 ms) of Redis answering.
func TestPubSubResubscribesQuickly(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s, 0, nil)
	ps := c.PubSub(client.PubSubConfig{})
	defer ps.Close()
	if err := ps.Subscribe(t.Context(), "news"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; { // subscribed on Redis
		if n, err := c.Do(t.Context(), "PUBLISH", "news", "x"); err == nil && n.(int64) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription never reached Redis")
		}
		time.Sleep(5 * time.Millisecond) // polling pace
	}
	s.Stop()
	<-time.After(2500 * time.Millisecond) // the outage: backoff reaches its bound
	s.Restart()                           // returns once Redis answers PING
	up := time.Now()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-ps.Messages():
			if !ok {
				t.Fatal("messages channel closed")
			}
			if m.Kind != client.KindReconnected {
				continue
			}
			d := time.Since(up)
			t.Logf("resubscribed %v after Redis answered PING", d)
			if d > 100*time.Millisecond {
				t.Fatalf("resubscribed %v after Redis answered PING, want within about 50ms", d)
			}
			return
		case <-timeout:
			t.Fatal("never resubscribed")
		}
	}
}
