package agent

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// gcPercent reads the process's current GOGC.
func gcPercent() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestGCHeadroomRaisesGOGCAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	// A headroom far above this test's live heap: the maximum.
	g := startGCHeadroom(1<<40, 0)
	if g == nil {
		t.Fatal("startGCHeadroom returned nil with GOGC unset")
	}
	if got := gcPercent(); got != maxGCPercent {
		t.Fatalf("GOGC = %d after start, want %d", got, maxGCPercent)
	}
	// After a collection the finalizer adjusts again: lower the headroom
	// to below the live heap and wait for GOGC to come back to 100.
	g.headroom.Store(1)
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d 10 s after collections with a 1-byte headroom: the finalizer did not re-arm", gcPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // let the finalizer goroutine run
	}
	g.headroom.Store(1 << 40)
	for gcPercent() != maxGCPercent {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections with a large headroom", gcPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	g.stop()
	if got := gcPercent(); got != 100 {
		t.Fatalf("GOGC = %d after stop, want 100", got)
	}
	runtime.GC()
	if got := gcPercent(); got != 100 {
		t.Fatalf("GOGC = %d after a collection past stop, want 100", got)
	}
}

func TestGCHeadroomLeavesOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	if g := startGCHeadroom(1<<40, 0); g != nil {
		g.stop()
		t.Fatal("startGCHeadroom tuned GOGC although the GOGC environment variable is set")
	}
	var g *gcHeadroom
	g.stop() // nil is safe: Run defers it unconditionally
}

// TestGCHeadroomStopWinsOverAdjust: stop restores GOGC=100 for good, even
// when a collection's finalizer is about to adjust GOGC at that moment (it
// had seen the tuner running, and set its GOGC after stop's 100).
func TestGCHeadroomStopWinsOverAdjust(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(100)
	// A headroom below the live heap: GOGC=100 from the start.
	g := newGCHeadroom(1, 0)
	inAdjust, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	g.adjusting = func() {
		once.Do(func() {
			close(inAdjust)
			<-proceed
		})
	}
	g.start()
	// The finalizer of the next collection starts adjusting and waits.
	deadline := time.Now().Add(10 * time.Second)
	for waiting := false; !waiting; {
		runtime.GC()
		select {
		case <-inAdjust:
			waiting = true
		case <-time.After(10 * time.Millisecond):
		}
		if !waiting && time.Now().After(deadline) {
			t.Fatal("no collection's finalizer started adjusting within 10 s")
		}
	}
	// The adjustment under way will find a large headroom: GOGC=1000.
	g.headroom.Store(1 << 40)
	stopped := make(chan struct{})
	go func() {
		g.stop()
		close(stopped)
	}()
	// stop may wait for the adjustment under way (it must then win), or
	// return first (and the adjustment must then see it): either way
	// GOGC is 100 once both are done.
	select {
	case <-stopped:
	case <-time.After(100 * time.Millisecond):
	}
	close(proceed)
	<-stopped
	finalizersDone(t)
	if got := gcPercent(); got != 100 {
		t.Errorf("GOGC = %d after stop, want 100: a finalizer that was under way set it after stop", got)
	}
}

// finalizersDone returns once the finalizers queued before it have run:
// they run one at a time, in order, on one goroutine.
func finalizersDone(t *testing.T) {
	t.Helper()
	ran := make(chan struct{})
	obj := new([16]byte)
	runtime.SetFinalizer(obj, func(*[16]byte) { close(ran) })
	obj = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-ran:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a finalizer did not run within 10 s of collections")
		}
	}
}

// TestGCHeadroomTarget: with a heap target far above the live heap the
// tuner sets the target's largest GOGC, even when the headroom alone
// would leave GOGC=100.
func TestGCHeadroomTarget(t *testing.T) {
	t.Setenv("GOGC", "")
	g := startGCHeadroom(1, 1<<40)
	defer g.stop()
	if got := gcPercent(); got != maxTargetGCPercent {
		t.Fatalf("GOGC = %d with a 1 TiB heap target, want %d", got, maxTargetGCPercent)
	}
}
