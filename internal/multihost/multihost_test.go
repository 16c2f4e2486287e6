package multihost

import (
	"net/url"
	"reflect"
	"testing"
)

func TestSplitHosts(t *testing.T) {
	for _, c := range []struct {
		in, user string
		addrs    []string
	}{
		{"h1:7000,h2", "", []string{"h1:7000", "h2:6379"}},
		{"u:p@w@h1, ,[::1]:7001", "u:p@w@", []string{"h1:6379", "[::1]:7001"}},
		{"", "", nil},
	} {
		user, addrs := SplitHosts(c.in, "6379")
		if user != c.user || !reflect.DeepEqual(addrs, c.addrs) {
			t.Errorf("SplitHosts(%q) = %q, %v; want %q, %v", c.in, user, addrs, c.user, c.addrs)
		}
	}
}

func TestTakeBool(t *testing.T) {
	q := url.Values{"a": {"true"}, "b": {"nope"}, "keep": {"1"}}
	if v, err := TakeBool(q, "a"); err != nil || !v {
		t.Fatalf("a: %v %v", v, err)
	}
	if _, err := TakeBool(q, "b"); err == nil {
		t.Fatal("b: no error for a bad value")
	}
	if v, err := TakeBool(q, "absent"); err != nil || v {
		t.Fatalf("absent: %v %v", v, err)
	}
	if len(q) != 1 || q.Get("keep") != "1" {
		t.Fatalf("left %v, want only keep", q)
	}
}
