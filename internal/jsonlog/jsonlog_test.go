package jsonlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// both logs the same calls through this package and through
// slog.JSONHandler and fails unless the bytes are the same.
func both(t *testing.T, opts *slog.HandlerOptions, log func(l *slog.Logger)) string {
	t.Helper()
	var fast, want bytes.Buffer
	log(slog.New(New(&fast, opts)))
	log(slog.New(slog.NewJSONHandler(&want, opts)))
	if fast.String() != want.String() {
		t.Fatalf("lines differ\n got: %q\nwant: %q", fast.String(), want.String())
	}
	if fast.Len() == 0 {
		t.Fatal("nothing written")
	}
	return fast.String()
}

var when = time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.FixedZone("X", 3600))

// record logs a record at a fixed time (Logger.Log would stamp time.Now).
func record(l *slog.Logger, lv slog.Level, msg string, as ...slog.Attr) {
	r := slog.NewRecord(when, lv, msg, 0)
	r.AddAttrs(as...)
	_ = l.Handler().Handle(context.Background(), r)
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.GroupValue(slog.Int("a", 1)) }

func TestSameBytesAsSlog(t *testing.T) {
	strs := []string{
		"", "plain", `quote " and \ backslash`, "new\nline\r\ttab", "\x00\x01\x1f\x7f",
		"<html>&amp;</html>", "héllo wörld", "\u2028\u2029", "bad \xff\xfe utf8", "emoji 🙂",
		strings.Repeat("long ", 5000),
	}
	for _, s := range strs {
		both(t, nil, func(l *slog.Logger) {
			record(l, slog.LevelInfo, s, slog.String(s, s), slog.String("k", s))
		})
	}
	cases := map[string][]slog.Attr{
		"ints":      {slog.Int("i", -42), slog.Int64("max", math.MaxInt64), slog.Int64("min", math.MinInt64), slog.Uint64("u", math.MaxUint64)},
		"bool":      {slog.Bool("t", true), slog.Bool("f", false)},
		"duration":  {slog.Duration("d", 1500*time.Microsecond), slog.Duration("neg", -time.Second)},
		"time":      {slog.Time("t", when), slog.Time("utc", when.UTC()), slog.Time("zero", time.Time{})},
		"empty key": {slog.String("", "v"), slog.Int("", 1)},
		"duplicate": {slog.String("k", "1"), slog.String("k", "2")},
		// no fast path: slog's own handler writes these
		"float":       {slog.Float64("f", 1e21), slog.Float64("g", 0.1)},
		"any":         {slog.Any("err", errors.New("boom")), slog.Any("m", map[string]int{"a": 1})},
		"empty attr":  {{}, slog.String("after", "x")},
		"group":       {slog.Group("g", slog.Int("a", 1), slog.String("b", "c"))},
		"empty group": {slog.Group("g"), slog.String("after", "x")},
		"valuer":      {slog.Any("v", valuer{})},
		"far year":    {slog.Time("t", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))},
		"mixed":       {slog.String("a", "b"), slog.Float64("f", 2.5), slog.Int("c", 3)},
	}
	for name, as := range cases {
		t.Run(name, func(t *testing.T) {
			both(t, nil, func(l *slog.Logger) { record(l, slog.LevelWarn+2, "m", as...) })
			both(t, nil, func(l *slog.Logger) {
				record(slog.New(l.Handler().WithAttrs(as)).With("x", 1), slog.LevelInfo, "m", as...)
			})
		})
	}
}

func TestRecordShapes(t *testing.T) {
	now := time.Now() // with a monotonic reading, which slog drops
	both(t, nil, func(l *slog.Logger) {
		r := slog.NewRecord(time.Time{}, slog.LevelError, "no time", 0)
		_ = l.Handler().Handle(context.Background(), r)
	})
	both(t, nil, func(l *slog.Logger) {
		// the monotonic reading is dropped, as slog drops it
		record(l, slog.LevelDebug-3, "custom level")
		r := slog.NewRecord(now, slog.LevelInfo, "monotonic", 0)
		_ = l.Handler().Handle(context.Background(), r)
	})
	both(t, nil, func(l *slog.Logger) {
		l = l.With("db", "0", "n", 7)
		record(l, slog.LevelInfo, "with attrs", slog.String("a", "b"))
		record(l.With(), slog.LevelInfo, "with nothing")
		record(l.WithGroup(""), slog.LevelInfo, "empty group name")
		record(l.WithGroup("g"), slog.LevelInfo, "in a group", slog.Int("a", 1))
		record(l.WithGroup("g").With("b", 2), slog.LevelInfo, "group then attrs", slog.Int("a", 1))
		record(l.With("e", errors.New("x")), slog.LevelInfo, "slow attrs", slog.Int("a", 1))
	})
}

func TestOptions(t *testing.T) {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	out := both(t, opts, func(l *slog.Logger) {
		for _, lv := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
			if l.Enabled(context.Background(), lv) {
				record(l, lv, "kept "+lv.String())
			}
		}
	})
	if strings.Contains(out, "kept INFO") || !strings.Contains(out, "kept WARN") {
		t.Fatalf("level not applied: %q", out)
	}
	rep := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "secret" {
			a.Value = slog.StringValue("***")
		}
		return a
	}}
	if _, ok := New(io.Discard, rep).(*Handler); ok {
		t.Fatal("ReplaceAttr set: New must return slog's handler")
	}
	out = both(t, rep, func(l *slog.Logger) { record(l, slog.LevelInfo, "m", slog.String("secret", "pw")) })
	if strings.Contains(out, "pw") {
		t.Fatalf("ReplaceAttr not applied: %q", out)
	}
}

// TestConcurrentLines: lines from both paths, from many goroutines, over
// a writer that is not safe for concurrent use, come out whole (run with
// -race).
func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(New(&buf, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if i%2 == 0 {
					l.Info("fast", "g", g, "i", i)
				} else {
					l.Info("slow", "g", g, "f", 1.5)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, `{"time":"`) || !strings.HasSuffix(line, "}") || strings.Count(line, `"msg"`) != 1 {
			t.Fatalf("torn line %q", line)
		}
	}
}

func FuzzSameBytesAsSlog(f *testing.F) {
	f.Add("msg", "key", "value", int64(-1))
	f.Add("\u2028", "\xff", "\"\\\n", int64(0))
	f.Fuzz(func(t *testing.T, msg, key, val string, n int64) {
		both(t, nil, func(l *slog.Logger) {
			record(l.With(key, val), slog.Level(n%16), msg, slog.String(key, val), slog.Int64(val, n), slog.Duration(msg, time.Duration(n)))
		})
	})
}

// BenchmarkAccessLine compares the gateway's access line through this
// package and through slog.JSONHandler.
func BenchmarkAccessLine(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    slog.Handler
	}{
		{"jsonlog", New(io.Discard, nil)},
		{"slog", slog.NewJSONHandler(io.Discard, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := tc.h.WithAttrs([]slog.Attr{slog.String("component", "http")})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				r.AddAttrs(
					slog.String("req_id", "b6e6b359bf8e681f"),
					slog.String("method", "GET"),
					slog.String("route", "/db/{db}/strings/{key}"),
					slog.Int("status", 200),
					slog.Int64("bytes", 16),
					slog.String("dur", "123.456µs"),
				)
				_ = h.Handle(ctx, r)
			}
		})
	}
}

// refuse is a slog.Handler that fails the test when a record reaches it.
type refuse struct{ t *testing.T }

func (r refuse) Enabled(context.Context, slog.Level) bool { return true }
func (r refuse) Handle(_ context.Context, rec slog.Record) error {
	r.t.Errorf("record %q took slog's path", rec.Message)
	return nil
}
func (r refuse) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r refuse) WithGroup(string) slog.Handler      { return r }

// TestFlatRecordsTakeTheFastPath: the access line's kinds of attribute
// never reach slog.JSONHandler (else the package would cost what slog
// costs and every test above would still pass).
func TestFlatRecordsTakeTheFastPath(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, nil).(*Handler)
	h.slow = refuse{t}
	l := slog.New(h.WithAttrs([]slog.Attr{slog.String("db", "0")}))
	record(l, slog.LevelInfo, "request", slog.String("req_id", "x"), slog.Int("status", 200),
		slog.Int64("bytes", 16), slog.Uint64("u", 1), slog.Bool("b", true),
		slog.Duration("d", time.Millisecond), slog.Time("t", when))
	if !strings.Contains(buf.String(), `"msg":"request","db":"0","req_id":"x","status":200`) {
		t.Fatalf("line %q", buf.String())
	}
}
