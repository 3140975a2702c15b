package agent

import (
	"runtime"
	"runtime/metrics"
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
	g := startGCHeadroom(1 << 40)
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
	if g := startGCHeadroom(1 << 40); g != nil {
		g.stop()
		t.Fatal("startGCHeadroom tuned GOGC although the GOGC environment variable is set")
	}
	var g *gcHeadroom
	g.stop() // nil is safe: Run defers it unconditionally
}
