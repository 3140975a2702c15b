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
