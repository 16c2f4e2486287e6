package redistest_test

import (
	"testing"

	"github.com/redis-gateway/redis-gateway/internal/redistest"
)

func TestStartRestart(t *testing.T) {
	s := redistest.Start(t)
	if v := s.Do(t, "SET", "k", "v"); string(v.Str) != "OK" {
		t.Fatalf("SET: got %v, want OK", v)
	}
	s.Restart()
	if v := s.Do(t, "GET", "k"); !v.IsNull() {
		t.Fatalf("GET after restart: got %v, want nil (no persistence)", v)
	}
}
