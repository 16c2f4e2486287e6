// Package gcfloor gives the garbage collector a heap floor: while the live
// heap is small, the collector waits until the heap has grown to about the
// floor before it starts a cycle, instead of at twice the live heap.
//
// A gateway's live heap is small (connection buffers, pools, route tables:
// a few MiB) and nearly everything a request allocates is garbage when the
// request ends. At Go's default (GOGC=100) the collector then runs many
// times a second under load, for little memory saved. Raising GOGC for the
// whole process would cut that cost but multiply the peak memory of large
// replies too, which grow the live heap. A floor costs at most the floor:
// once the live heap is large enough that GOGC alone puts the next
// collection past the floor, the floor does nothing, and large replies
// peak as they would without it.
//
// The floor is kept by setting the GC percent after every collection, from
// the live heap that collection found (runtime/metrics); the runtime's
// soft memory limit (GOMEMLIMIT) still applies on top, as it does to any
// GC percent.
package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The runtime/metrics samples read after each collection.
const (
	metricLive    = "/gc/heap/live:bytes"
	metricStacks  = "/gc/scan/stack:bytes"
	metricGlobals = "/gc/scan/globals:bytes"
)

// heapMinimum is the runtime's least heap goal at GOGC=100 (4 MiB); it
// scales with the percent (runtime/mgcpacer.go, defaultHeapMinimum), so a
// nearly empty heap at a percent of p has a goal of heapMinimum × p / 100.
const heapMinimum = 4 << 20

// Floor keeps a heap floor until Stop. Its methods are safe for concurrent
// use.
type Floor struct {
	floor uint64
	base  int // GC percent in force when the floor started

	mu      sync.Mutex
	stopped bool
	set     int // percent last set
	samples []metrics.Sample
}

// Start sets a heap floor of floor bytes over the GC percent in force now
// (GOGC, or 100). It returns nil and changes nothing when floor is 0 or the
// collector is off (GOGC=off). Start it once per process: two floors would
// overwrite each other's percent.
func Start(floor uint64) *Floor {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if floor == 0 || base < 0 {
		return nil
	}
	f := &Floor{
		floor: floor,
		base:  base,
		set:   base,
		samples: []metrics.Sample{
			{Name: metricLive}, {Name: metricStacks}, {Name: metricGlobals},
		},
	}
	f.adjust()
	f.arm()
	return f
}

// sentinel is garbage from the moment it is made; its cleanup runs after
// the collection that finds it unreachable. It holds a pointer so that it
// is not a tiny allocation, whose cleanups may never run.
type sentinel struct {
	_ [2]*byte
}

// arm registers a cleanup that adjusts the percent after the next
// collection and arms again.
func (f *Floor) arm() {
	runtime.AddCleanup(new(sentinel), func(f *Floor) {
		if f.adjust() {
			f.arm()
		}
	}, f)
}

// adjust sets the GC percent for the live heap the last collection found,
// unless the floor was stopped; it reports whether the floor still runs.
func (f *Floor) adjust() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.samples)
	p := Percent(f.floor, f.base, f.samples[0].Value.Uint64(), f.samples[1].Value.Uint64()+f.samples[2].Value.Uint64())
	if p != f.set {
		debug.SetGCPercent(p)
		f.set = p
	}
	return true
}

// Stop ends the floor and restores the GC percent it started over. A nil
// Floor's Stop does nothing.
func (f *Floor) Stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		debug.SetGCPercent(f.base)
	}
}

// Percent is the GC percent that puts the next collection's heap goal at
// floor bytes, for a live heap of live bytes and roots (goroutine stacks
// and globals, which the runtime's goal counts too) of roots bytes; never
// below base, the percent that applies once the heap is past the floor.
// The runtime's goal is live + (live+roots) × percent / 100, and at least
// the heap minimum scaled by the percent, so the percent is bounded by
// floor / heapMinimum × 100 as well.
func Percent(floor uint64, base int, live, roots uint64) int {
	scan := live + roots
	if live >= floor || scan == 0 {
		return base
	}
	p := math.Min(float64(floor-live)*100/float64(scan), float64(floor)*100/heapMinimum)
	if p <= float64(base) {
		return base
	}
	return int(p)
}
