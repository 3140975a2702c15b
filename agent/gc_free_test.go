package agent

import (
	"runtime/metrics"
	"testing"
	"time"
)

func TestCollectionDue(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		allocated  uint64
		over       time.Duration
		heap, goal uint64
		within     time.Duration
		want       bool
	}{
		{"heap at its goal", 0, time.Second, 100 * mib, 100 * mib, time.Minute, true},
		{"idle since the drop", 0, 2 * time.Second, 50 * mib, 100 * mib, time.Hour, false},
		{"busy: 45 MB/s, 1 GiB to the goal, within 5 min", 90 * mib, 2 * time.Second, 1024 * mib, 2048 * mib, 5 * time.Minute, true},
		{"slow: 1 MiB/s, 1 GiB to the goal, within 5 min", 2 * mib, 2 * time.Second, 1024 * mib, 2048 * mib, 5 * time.Minute, false},
		{"no time passed", 10 * mib, 0, 1024 * mib, 2048 * mib, 5 * time.Minute, false},
	}
	for _, tc := range tests {
		if got := collectionDue(tc.allocated, tc.over, tc.heap, tc.goal, tc.within); got != tc.want {
			t.Errorf("%s: collectionDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestCollectAndFreeLeavesABusyHeap: returning memory after a crowd of
// long polls left forces no collection when the heap grows fast enough to
// be collected soon anyway, and forces one on a heap that grows slowly.
func TestCollectAndFreeLeavesABusyHeap(t *testing.T) {
	cycles := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// Everything the test process allocated, in the last microseconds:
	// due at once.
	before := cycles()
	collectAndFree(heapSample{at: time.Now(), allocs: 0})
	if got := cycles() - before; got != 0 {
		t.Fatalf("busy heap: %d forced collections, want 0", got)
	}
	// Nothing allocated in an hour: collected and returned.
	now, _, _ := heapNow()
	before = cycles()
	collectAndFree(heapSample{at: time.Now().Add(-time.Hour), allocs: now})
	if got := cycles() - before; got == 0 {
		t.Fatal("idle heap: no forced collection")
	}
}
