package agent

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// serverGCHeadroom is the least heap growth a server agent lets happen
// between two garbage collections (unless GOGC is set). With Go's default
// GOGC=100 the next collection starts when the heap doubles: a server
// with a small live heap (tens of MB) and a steady write load collected
// every few milliseconds, a quarter of its CPU per job registration.
// Past a live heap of this size the default applies unchanged, and
// GOMEMLIMIT still bounds the heap when set.
const serverGCHeadroom = 128 << 20

// maxGCPercent bounds the GOGC the headroom sets (a near-empty heap would
// otherwise ask for a huge percentage).
const maxGCPercent = 1000

// maxTargetGCPercent bounds the GOGC a heap target sets: the heap grows
// to at most five times the live heap between collections. The GC's CPU
// per allocated byte goes as 100/GOGC, so past 400 a larger heap buys
// little (a further 15% of GOGC=100's cost at 1000) for much memory.
const maxTargetGCPercent = 400

// gcPercentFor is the GOGC for a live heap of live bytes: the next
// collection starts headroom bytes above it, or at target bytes (the
// heap target, 0 for none) when that is higher, but never before the
// heap doubles (GOGC=100). The headroom's GOGC is at most maxGCPercent,
// the target's at most maxTargetGCPercent.
func gcPercentFor(live, headroom, target uint64) int64 {
	if live == 0 {
		return maxGCPercent
	}
	percent := min(headroom*100/live, maxGCPercent)
	if target > live {
		percent = max(percent, min((target-live)*100/live, maxTargetGCPercent))
	}
	return int64(max(percent, 100))
}

// gcHeadroom raises GOGC after each collection so that the next one starts
// no sooner than headroom bytes above the live heap, or at the heap
// target when the machine has memory to spare (gcPercentFor), never below
// GOGC=100. It changes nothing when the GOGC environment variable is set
// (the operator chose); GOMEMLIMIT, when set, still bounds the heap (the
// runtime collects at the lower of the two goals). stop ends it and
// restores GOGC=100.
//
// The finalizer goroutine adjusts while the agent's goroutine may stop:
// mu makes an adjustment and stop one after the other, so an adjustment
// that began before stop cannot set its GOGC after stop's 100.
type gcHeadroom struct {
	headroom atomic.Uint64
	target   atomic.Uint64 // heap target in bytes; 0: none
	percent  atomic.Int64  // last value set, for tests
	mu       sync.Mutex
	stopped  bool             // under mu
	sample   []metrics.Sample // under mu once started
	// adjusting, when not nil, is called by each collection's finalizer
	// before it adjusts (tests: stop lands there).
	adjusting func()
}

// startGCHeadroom starts a gcHeadroom for the process with a heap target
// of target bytes (0: none), or returns nil when GOGC is set in the
// environment.
func startGCHeadroom(headroom, target uint64) *gcHeadroom {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	return newGCHeadroom(headroom, target).start()
}

// newGCHeadroom returns a gcHeadroom that start sets going.
func newGCHeadroom(headroom, target uint64) *gcHeadroom {
	g := &gcHeadroom{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	g.headroom.Store(headroom)
	g.target.Store(target)
	g.percent.Store(100)
	return g
}

// start adjusts GOGC now and after every collection until stop.
func (g *gcHeadroom) start() *gcHeadroom {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.adjust()
	g.arm()
	return g
}

// sentinel is garbage the moment it is made: its finalizer runs after the
// next collection, adjusts GOGC and makes the next sentinel.
type sentinel struct{ g *gcHeadroom }

func (g *gcHeadroom) arm() {
	s := &sentinel{g: g}
	runtime.SetFinalizer(s, func(s *sentinel) {
		s.g.tick()
	})
}

// tick is a collection's adjustment, unless stop came first.
func (g *gcHeadroom) tick() {
	if g.adjusting != nil {
		g.adjusting()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.adjust()
	g.arm()
}

// adjust sets GOGC from the live heap of the last collection (under mu).
func (g *gcHeadroom) adjust() {
	metrics.Read(g.sample)
	live := uint64(0)
	if g.sample[0].Value.Kind() == metrics.KindUint64 {
		live = g.sample[0].Value.Uint64()
	}
	percent := gcPercentFor(live, g.headroom.Load(), g.target.Load())
	// Small changes are not worth a call (it takes the heap lock).
	if old := g.percent.Load(); percent*10 < old*9 || percent*10 > old*11 {
		debug.SetGCPercent(int(percent))
		g.percent.Store(percent)
	}
}

// stop ends the adjustments and restores GOGC=100. Safe on nil.
func (g *gcHeadroom) stop() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.stopped = true
	debug.SetGCPercent(100)
	g.percent.Store(100)
}
