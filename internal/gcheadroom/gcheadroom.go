// Package gcheadroom gives the garbage collector a least headroom: the
// heap may grow by at least a set number of bytes past the live heap
// before the collector starts a cycle, where Go's default (GOGC=100) lets
// it grow by the live heap (plus stacks and globals) alone.
//
// A gateway's live heap is small (connection buffers, pools, route tables:
// a few MiB, about 20 at a thousand connections) and nearly everything a
// request allocates is garbage when the request ends. At GOGC=100 the
// collector then runs many times a second under load, for little memory
// saved. Raising GOGC for the whole process would cut that cost but
// multiply the peak memory of large replies too, which grow the live heap.
// A least headroom costs at most the headroom: once the live heap is
// larger than the headroom, GOGC's own headroom is the larger and applies,
// and large replies peak as they would without it.
//
// The headroom is kept by setting the GC percent after every collection,
// from the live heap that collection found (runtime/metrics); the
// runtime's soft memory limit (GOMEMLIMIT) still applies on top, as it does
// to any GC percent. The live heap a collection reports counts what was
// allocated while it marked, so under heavy allocation the headroom comes
// out somewhat smaller than asked, never larger.
package gcheadroom

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

// Headroom keeps a least headroom until Stop. Its methods are safe for
// concurrent use.
type Headroom struct {
	bytes uint64
	base  int // GC percent in force when the headroom started

	mu      sync.Mutex
	stopped bool
	set     int // percent last set
	samples []metrics.Sample
}

// Start keeps a headroom of at least bytes over the GC percent in force now
// (GOGC, or 100). It returns nil and changes nothing when bytes is 0 or the
// collector is off (GOGC=off). Start it once per process: two would
// overwrite each other's percent.
func Start(bytes uint64) *Headroom {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if bytes == 0 || base < 0 {
		return nil
	}
	h := &Headroom{
		bytes: bytes,
		base:  base,
		set:   base,
		samples: []metrics.Sample{
			{Name: metricLive}, {Name: metricStacks}, {Name: metricGlobals},
		},
	}
	h.adjust()
	h.arm()
	return h
}

// sentinel is garbage from the moment it is made; its cleanup runs after
// the collection that finds it unreachable. It holds a pointer so that it
// is not a tiny allocation, whose cleanups may never run.
type sentinel struct {
	_ [2]*byte
}

// arm registers a cleanup that adjusts the percent after the next
// collection and arms again.
func (h *Headroom) arm() {
	runtime.AddCleanup(new(sentinel), func(h *Headroom) {
		if h.adjust() {
			h.arm()
		}
	}, h)
}

// adjust sets the GC percent for the live heap the last collection found,
// unless the headroom was stopped; it reports whether it still runs.
func (h *Headroom) adjust() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	metrics.Read(h.samples)
	p := Percent(h.bytes, h.base, h.samples[0].Value.Uint64(), h.samples[1].Value.Uint64()+h.samples[2].Value.Uint64())
	if p != h.set {
		debug.SetGCPercent(p)
		h.set = p
	}
	return true
}

// Stop ends the headroom and restores the GC percent it started over. A
// nil Headroom's Stop does nothing.
func (h *Headroom) Stop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped {
		h.stopped = true
		debug.SetGCPercent(h.base)
	}
}

// Percent is the GC percent that gives the next cycle a headroom of at
// least headroom bytes over a live heap of live bytes, with roots
// (goroutine stacks and globals, which the runtime counts in the headroom
// too) of roots bytes; never below base. The runtime's heap goal is
// live + (live+roots) × percent / 100, and at least the heap minimum
// scaled by the percent, so the percent is also bounded by
// (live + headroom) / heapMinimum × 100: the goal stays live + headroom
// however small the heap.
func Percent(headroom uint64, base int, live, roots uint64) int {
	scan := live + roots
	if scan == 0 {
		return base
	}
	p := math.Min(float64(headroom)*100/float64(scan), float64(live+headroom)*100/heapMinimum)
	if p <= float64(base) {
		return base
	}
	return int(p)
}
