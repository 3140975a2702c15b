package agent

import (
	"fmt"
	"testing"
	"time"
)

// TestLongPollsFreeMemory: memory is returned when a crowd of long polls
// leaves and stays away for freeDelay, not when woken watchers come
// straight back (which forced a full collection every 2 s while jobs were
// placed on simulated nodes), and at most once per freeEvery.
func TestLongPollsFreeMemory(t *testing.T) {
	var scheduled []func()
	frees := 0
	l := &longPolls{
		after: func(_ time.Duration, f func()) { scheduled = append(scheduled, f) },
		free:  func(heapSample) { frees++ },
	}
	ip := func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250) }
	const n = 1000
	for i := range n {
		if !l.acquire(ip(i), 1) {
			t.Fatalf("acquire %d refused", i)
		}
	}
	leave := func() {
		for i := range 500 {
			l.release(ip(i))
		}
	}
	comeBack := func() {
		for i := range 500 {
			l.acquire(ip(i), 1)
		}
	}
	runScheduled := func() {
		t.Helper()
		if len(scheduled) != 1 {
			t.Fatalf("%d returns scheduled, want 1", len(scheduled))
		}
		f := scheduled[0]
		scheduled = nil
		f()
	}

	// Woken watchers that come back before freeDelay: no collection.
	leave()
	comeBack()
	runScheduled()
	if frees != 0 {
		t.Fatalf("watchers that came back: %d collections, want 0", frees)
	}

	// A crowd that leaves and stays away: one collection.
	leave()
	runScheduled()
	if frees != 1 {
		t.Fatalf("crowd that left: %d collections, want 1", frees)
	}

	// It comes back and leaves again at once: the last return was less
	// than freeEvery ago, so none.
	comeBack()
	leave()
	runScheduled()
	if frees != 1 {
		t.Fatalf("second crowd within freeEvery: %d collections, want 1", frees)
	}

	// freeEvery later it does.
	l.lastFree = time.Now().Add(-freeEvery)
	comeBack()
	leave()
	runScheduled()
	if frees != 2 {
		t.Fatalf("crowd after freeEvery: %d collections, want 2", frees)
	}
	if len(l.open) != n-500 || l.total != n-500 {
		t.Fatalf("open %d IPs, total %d; want %d", len(l.open), l.total, n-500)
	}
}
