package agent

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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

// gcHeadroom raises GOGC after each collection so that the next one starts
// no sooner than headroom bytes above the live heap, never below GOGC=100.
// It changes nothing when the GOGC environment variable is set (the
// operator chose). stop ends it and restores GOGC=100.
type gcHeadroom struct {
	headroom atomic.Uint64
	stopped  atomic.Bool
	percent  atomic.Int64 // last value set, for tests
	sample   []metrics.Sample
}

// startGCHeadroom starts a gcHeadroom for the process, or returns nil when
// GOGC is set in the environment.
func startGCHeadroom(headroom uint64) *gcHeadroom {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	g := &gcHeadroom{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	g.headroom.Store(headroom)
	g.percent.Store(100)
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
		if s.g.stopped.Load() {
			return
		}
		s.g.adjust()
		s.g.arm()
	})
}

// adjust sets GOGC from the live heap of the last collection.
func (g *gcHeadroom) adjust() {
	metrics.Read(g.sample)
	live := uint64(0)
	if g.sample[0].Value.Kind() == metrics.KindUint64 {
		live = g.sample[0].Value.Uint64()
	}
	percent := int64(maxGCPercent)
	if live > 0 {
		percent = min(max(int64(g.headroom.Load()*100/live), 100), maxGCPercent)
	}
	// Small changes are not worth a call (it takes the heap lock).
	if old := g.percent.Load(); percent*10 < old*9 || percent*10 > old*11 {
		debug.SetGCPercent(int(percent))
		g.percent.Store(percent)
	}
}

// stop ends the adjustments and restores GOGC=100. Safe on nil.
func (g *gcHeadroom) stop() {
	if g == nil || g.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(100)
}
