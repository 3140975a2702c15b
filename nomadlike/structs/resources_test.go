package structs

import (
	"strings"
	"testing"
)

// TestResourcesMemoryMax: MemoryMaxMB is 0 (unset), -1 (no hard limit, as
// Nomad's memory_max = -1) or at least MemoryMB.
func TestResourcesMemoryMax(t *testing.T) {
	for _, tc := range []struct {
		max int
		err string
	}{
		{max: 0}, {max: MemoryNoLimit}, {max: 256}, {max: 128},
		{max: 64, err: "MemoryMaxMB: 64 is less than MemoryMB 128"},
		{max: -2, err: "MemoryMaxMB: must be -1 (no limit), 0 (unset) or at least MemoryMB, got -2"},
	} {
		r := &Resources{CPU: 100, MemoryMB: 128, MemoryMaxMB: tc.max}
		err := r.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("MemoryMaxMB %d: %v", tc.max, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("MemoryMaxMB %d: error %v, want %q", tc.max, err, tc.err)
		}
	}
}

// TestLegacyResourcesNoLimit: an allocation with a task without a memory
// limit has none in its total.
func TestLegacyResourcesNoLimit(t *testing.T) {
	a := &Allocation{AllocatedResources: &AllocatedResources{Tasks: map[string]*AllocatedTaskResources{
		"a": {Memory: AllocatedMemoryResources{MemoryMB: 64, MemoryMaxMB: 128}},
		"b": {Memory: AllocatedMemoryResources{MemoryMB: 64, MemoryMaxMB: MemoryNoLimit}},
		"c": {Memory: AllocatedMemoryResources{MemoryMB: 64, MemoryMaxMB: 256}},
	}}}
	total, _ := a.legacyResources()
	if total.MemoryMaxMB != MemoryNoLimit || total.MemoryMB != 192 {
		t.Errorf("total memory %d MB, max %d MB; want 192 MB and no limit (-1)", total.MemoryMB, total.MemoryMaxMB)
	}
}
