package agent

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// freeUnlessDueWithin: memory is returned to the OS after a crowd of long
// polls left (longPolls.freeMemory) only if the runtime would not collect
// on its own within this long at the rate the heap grew since the crowd
// began to leave. A busy server's own collections return memory as they
// go (the scavenger keeps its RSS near the heap goal), and a forced
// collection costs a full mark of the live heap: at 2,000 nodes and
// 200,000 allocations, 9 to 11 of a run's 55 collections were forced so,
// two each minute, each as costly as any other on a heap of up to 1 GB.
const freeUnlessDueWithin = 5 * time.Minute

// heapSample is the process's cumulative heap allocations at a moment.
type heapSample struct {
	at     time.Time
	allocs uint64
}

// heapNames are the runtime metrics heapNow reads, in its order.
var heapNames = []string{"/gc/heap/allocs:bytes", "/gc/heap/goal:bytes", "/memory/classes/heap/objects:bytes"}

// heapNow reads the cumulative bytes allocated, the heap goal and the
// bytes in heap objects (live, and dead ones not yet swept).
func heapNow() (allocs, goal, objects uint64) {
	s := make([]metrics.Sample, len(heapNames))
	for i, n := range heapNames {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return v(0), v(1), v(2)
}

// sampleHeap is heapSample now.
func sampleHeap() heapSample {
	allocs, _, _ := heapNow()
	return heapSample{at: time.Now(), allocs: allocs}
}

// collectionDue reports whether a heap of heap bytes reaches its goal
// within `within`, at the rate of allocated bytes over `over`.
func collectionDue(allocated uint64, over time.Duration, heap, goal uint64, within time.Duration) bool {
	if heap >= goal {
		return true
	}
	if allocated == 0 || over <= 0 {
		return false
	}
	return float64(goal-heap) <= float64(allocated)*within.Seconds()/over.Seconds()
}

// collectAndFree collects the heap and returns it to the OS, unless the
// runtime collects on its own soon (freeUnlessDueWithin) at the rate the
// heap has grown since since.
func collectAndFree(since heapSample) {
	allocs, goal, objects := heapNow()
	if allocs >= since.allocs && collectionDue(allocs-since.allocs, time.Since(since.at), objects, goal, freeUnlessDueWithin) {
		return
	}
	// The first collection moves sync.Pool contents (encoding/json's
	// buffers, each as large as a reply) to the victim cache; the second,
	// in FreeOSMemory, frees them.
	runtime.GC()
	debug.FreeOSMemory()
}
