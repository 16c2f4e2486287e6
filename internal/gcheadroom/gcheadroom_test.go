package gcheadroom

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
		name                 string
		headroom, live, root uint64
		base, want           int
	}{
		{"small heap gets the headroom", 32 * mib, 4 * mib, 0, 100, 800},
		{"roots count in the headroom", 32 * mib, 4 * mib, 4 * mib, 100, 400},
		{"a thousand connections' heap", 32 * mib, 20 * mib, 0, 100, 160},
		{"live heap past the headroom: base applies", 32 * mib, 40 * mib, 0, 100, 100},
		{"operator's base is the least", 32 * mib, 16 * mib, 0, 400, 400},
		{"empty heap: the heap minimum bounds it", 32 * mib, 1, 0, 100, 800},
		{"headroom under the heap minimum does nothing", 2 * mib, 1, 0, 100, 100},
		{"nothing measured yet", 32 * mib, 0, 0, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.headroom, tc.base, tc.live, tc.root); got != tc.want {
				t.Fatalf("Percent(%d MiB headroom, base %d, live %d, roots %d) = %d, want %d",
					tc.headroom/mib, tc.base, tc.live, tc.root, got, tc.want)
			}
		})
	}
}

func readUint(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// gcPercent reads the GC percent in force without changing it.
func gcPercent() int { return int(readUint("/gc/gogc:percent")) }

// waitPercent runs collections until the headroom's cleanup has set a
// percent for which ok holds, and returns it.
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

var retained [][]byte

// retain keeps n MiB live (0: lets go of what was kept).
func retain(n int) {
	retained = nil
	for i := 0; i < n; i++ {
		retained = append(retained, make([]byte, mib))
	}
}

// waitHeadroom runs collections until the heap goal is about want bytes
// past the live heap, and returns the goal and the live heap. A collection
// that runs while the heap grows counts what is allocated during its mark
// as live, so the percent set after it may be too low; a forced
// collection with nothing allocating gives the true live heap.
func waitHeadroom(t *testing.T, want uint64) (goal, live uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		time.Sleep(5 * time.Millisecond) // the cleanup runs after the collection
		goal, live = readUint("/gc/heap/goal:bytes"), readUint("/gc/heap/live:bytes")
		if d := goal - live; d >= want-want/16 && d <= want+want/8 {
			return goal, live
		}
		if time.Now().After(deadline) {
			t.Fatalf("headroom %d MiB over %d MiB live after 5 s, want about %d", (goal-live)/mib, live/mib, want/mib)
		}
	}
}

// The headroom's whole point: fewer collections for the same garbage, with
// a small live heap and with a middling one. Counted, not timed.
func TestHeadroomRunsFewerCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer retain(0)
	for _, live := range []int{0, 8} {
		retain(live)
		runtime.GC()
		before := readUint("/gc/cycles/total:gc-cycles")
		churn(512 * mib)
		without := readUint("/gc/cycles/total:gc-cycles") - before

		h := Start(64 * mib)
		if h == nil {
			t.Fatal("Start returned nil at GOGC=100")
		}
		goal, liveNow := waitHeadroom(t, 64*mib)
		before = readUint("/gc/cycles/total:gc-cycles")
		churn(512 * mib)
		with := readUint("/gc/cycles/total:gc-cycles") - before
		h.Stop()

		t.Logf("%d MiB kept live: %d collections for 512 MiB of garbage at GOGC=100, %d with a 64 MiB headroom (goal %d MiB over %d MiB live)",
			live, without, with, goal/mib, liveNow/mib)
		// A 64 MiB headroom against GOGC's 4 MiB minimum (nothing kept
		// live) or the live heap's 8 MiB: several times fewer collections
		// (eight expected), half at the least, however slow the machine.
		if with == 0 || with*2 > without {
			t.Fatalf("%d MiB live: %d collections with the headroom, %d without: want at most half", live, with, without)
		}
	}
}

// A live heap past the headroom gets the base percent back, so large
// replies peak as they would without it; and Stop restores the base.
func TestHeadroomStepsAsideForALargeHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	defer retain(0)
	h := Start(16 * mib)
	defer h.Stop()
	waitPercent(t, func(p int) bool { return p > 150 })

	retain(24)
	waitPercent(t, func(p int) bool { return p == 150 })
	retain(0)
	waitPercent(t, func(p int) bool { return p > 150 })

	h.Stop()
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
	if h := Start(0); h != nil {
		t.Fatal("Start(0) started a headroom")
	}
	debug.SetGCPercent(-1)
	if h := Start(64 * mib); h != nil {
		t.Fatal("Start at GOGC=off started a headroom")
	}
	if p := debug.SetGCPercent(100); p != -1 {
		t.Fatalf("Start at GOGC=off changed the percent to %d", p)
	}
	var h *Headroom
	h.Stop() // a nil Headroom's Stop does nothing
}
