package pool_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/redis-gateway/redis-gateway/pool"
)

// TestStatsAdd: every counter is summed (reflect walks the fields, so a
// counter added to Stats later and forgotten in Add fails here).
func TestStatsAdd(t *testing.T) {
	a := pool.Stats{Hits: 1, Misses: 2, Timeouts: 3, WaitCount: 4, WaitDuration: 5 * time.Millisecond, TotalConns: 6, IdleConns: 7, InUse: 8, StaleConns: 9}
	var sum pool.Stats
	sum.Add(a)
	sum.Add(a)
	v, s := reflect.ValueOf(a), reflect.ValueOf(sum)
	for i := range v.NumField() {
		want := v.Field(i)
		got := s.Field(i)
		var ok bool
		switch want.Kind() {
		case reflect.Int, reflect.Int64:
			ok = got.Int() == 2*want.Int()
		case reflect.Uint64:
			ok = got.Uint() == 2*want.Uint()
		}
		if !ok {
			t.Errorf("%s: %v after adding %v twice", v.Type().Field(i).Name, got, want)
		}
	}
}
