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
