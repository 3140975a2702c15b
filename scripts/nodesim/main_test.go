package main

import (
	"slices"
	"testing"
)

// TestServerEnvironDropsGCSettings: the servers do not inherit the
// simulator's GOGC and GOMEMLIMIT (GOGC would turn their GC headroom
// tuner off); the rest of the environment passes.
func TestServerEnvironDropsGCSettings(t *testing.T) {
	got := serverEnviron([]string{"PATH=/bin", "GOGC=200", "GOMEMLIMIT=1GiB", "GODEBUG=gctrace=1", "GOGCX=1"})
	if want := []string{"PATH=/bin", "GODEBUG=gctrace=1", "GOGCX=1"}; !slices.Equal(got, want) {
		t.Errorf("servers' environment %q, want %q", got, want)
	}
}

// TestGCPercentDefault: the simulator collects at GOGC=200 unless the
// environment sets GOGC, which then stands.
func TestGCPercentDefault(t *testing.T) {
	if p, ok := gcPercent(""); !ok || p != simGCPercent {
		t.Errorf("GOGC unset: %d, %v; want %d", p, ok, simGCPercent)
	}
	if _, ok := gcPercent("50"); ok {
		t.Error("GOGC=50: the simulator set its own percent, want the environment's to stand")
	}
}

// TestHeapAllocOf: the server's live heap is read from the MemStats
// section of the text heap profile.
func TestHeapAllocOf(t *testing.T) {
	profile := "heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 123\n# TotalAlloc = 999\n# HeapAlloc = 456789\n# HeapSys = 1000000\n"
	if got, err := heapAllocOf(profile); err != nil || got != 456789 {
		t.Errorf("heapAllocOf = %d, %v; want 456789", got, err)
	}
	if _, err := heapAllocOf("heap profile: 0: 0 [0: 0] @ heap/1\n"); err == nil {
		t.Error("a profile without MemStats: no error")
	}
}
