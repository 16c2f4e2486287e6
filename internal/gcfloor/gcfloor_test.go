package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		name              string
		floor, live, root uint64
		base, want        int
	}{
		{"small heap reaches the floor", 32 * mib, 4 * mib, 0, 100, 700},
		{"roots count in the goal", 32 * mib, 4 * mib, 4 * mib, 100, 350},
		{"past half the floor, base applies", 32 * mib, 17 * mib, 0, 100, 100},
		{"past the floor, base applies", 32 * mib, 40 * mib, 0, 100, 100},
		{"operator's base is the least", 32 * mib, 8 * mib, 0, 400, 400},
		{"empty heap: the heap minimum bounds it", 32 * mib, 1, 0, 100, 800},
		{"a floor under the heap minimum does nothing", 2 * mib, 1, 0, 100, 100},
		{"nothing measured yet", 32 * mib, 0, 0, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.floor, tc.base, tc.live, tc.root); got != tc.want {
				t.Fatalf("Percent(%d MiB floor, base %d, live %d, roots %d) = %d, want %d",
					tc.floor/mib, tc.base, tc.live, tc.root, got, tc.want)
			}
		})
	}
}

// gcPercent reads the GC percent in force without changing it.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitPercent runs collections until the floor's cleanup has set a percent
// for which ok holds, and returns it.
func waitPercent(t *testing.T, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		p := gcPercent()
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent stayed %d", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var sink []byte

// churn allocates n bytes of garbage in 4 KiB pieces, as requests do.
func churn(n int) {
	for i := 0; i < n/4096; i++ {
		sink = make([]byte, 4096)
	}
	sink = nil
}

// The floor's whole point: fewer collections for the same garbage while the
// live heap is small. Counted, not timed.
func TestFloorRunsFewerCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	before := gcCycles()
	churn(256 * mib)
	without := gcCycles() - before

	f := Start(64 * mib)
	if f == nil {
		t.Fatal("Start returned nil at GOGC=100")
	}
	defer f.Stop()
	waitPercent(t, func(p int) bool { return p > 100 })
	before = gcCycles()
	churn(256 * mib)
	with := gcCycles() - before

	t.Logf("collections for 256 MiB of garbage: %d without the floor, %d with a 64 MiB floor", without, with)
	if with == 0 || with*4 > without {
		t.Fatalf("with the floor %d collections, without %d: want at most a quarter", with, without)
	}
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	if goal := s[0].Value.Uint64(); goal < 56*mib || goal > 72*mib {
		t.Fatalf("heap goal %d MiB, want about the 64 MiB floor", goal/mib)
	}
}

var retained [][]byte

// A live heap past the floor gets the base percent back, so large replies
// peak as they would without the floor; and Stop restores the base.
func TestFloorStepsAsideForALargeHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	f := Start(16 * mib)
	defer f.Stop()
	waitPercent(t, func(p int) bool { return p > 150 })

	for i := 0; i < 24; i++ {
		retained = append(retained, make([]byte, mib))
	}
	waitPercent(t, func(p int) bool { return p == 150 })
	retained = nil
	waitPercent(t, func(p int) bool { return p > 150 })

	f.Stop()
	if p := gcPercent(); p != 150 {
		t.Fatalf("after Stop the GC percent is %d, want the base 150", p)
	}
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != 150 {
		t.Fatalf("a collection after Stop set the GC percent to %d", p)
	}
}

func TestStartOff(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if f := Start(0); f != nil {
		t.Fatal("Start(0) started a floor")
	}
	debug.SetGCPercent(-1)
	if f := Start(64 * mib); f != nil {
		t.Fatal("Start at GOGC=off started a floor")
	}
	if p := debug.SetGCPercent(100); p != -1 {
		t.Fatalf("Start at GOGC=off changed the percent to %d", p)
	}
	var f *Floor
	f.Stop() // a nil Floor's Stop does nothing
}
