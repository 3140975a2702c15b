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

// TestValidateNetworksPortRange: the API path (a job sent as JSON) checks
// ranges as the job spec parser does: count bounds, ends beyond 65535 and
// overlapping static ranges, each at its field.
func TestValidateNetworksPortRange(t *testing.T) {
	for _, tc := range []struct {
		name string
		net  NetworkResource
		err  string // "" = valid
	}{
		{name: "dynamic range", net: NetworkResource{DynamicPorts: []Port{{Label: "rtp", Count: 100, To: 10000}}}},
		{name: "static range beside a port", net: NetworkResource{ReservedPorts: []Port{{Label: "a", Value: 30000, Count: 10}, {Label: "b", Value: 30010}}}},
		{name: "count too big", net: NetworkResource{DynamicPorts: []Port{{Label: "rtp", Count: MaxPortCount + 1}}},
			err: `Networks[0].Ports[0].Count: port "rtp": count must be between 1 and 1000, got 1001`},
		{name: "negative count", net: NetworkResource{DynamicPorts: []Port{{Label: "rtp", Count: -1}}},
			err: `count must be between 1 and 1000, got -1`},
		{name: "static beyond 65535", net: NetworkResource{ReservedPorts: []Port{{Label: "a", Value: 65530, Count: 10}}},
			err: `Networks[0].Ports[0].Count: port "a": the range 65530-65539 of count 10 goes beyond port 65535`},
		{name: "to beyond 65535", net: NetworkResource{DynamicPorts: []Port{{Label: "a", To: 65535, Count: 2}}},
			err: `port "a": the mapped range 65535-65536 (to = 65535, count 2) goes beyond port 65535`},
		{name: "bridge range of 100", net: NetworkResource{Mode: "bridge", DynamicPorts: []Port{{Label: "rtp", Count: 99}, {Label: "http"}}}},
		{name: "bridge ranges beyond 100", net: NetworkResource{Mode: "bridge", DynamicPorts: []Port{{Label: "rtp", Count: 100}, {Label: "http"}}},
			err: `Networks[0]: network mode "bridge" maps 101 host ports, more than 100`},
		{name: "host range of 1000", net: NetworkResource{Mode: "host", DynamicPorts: []Port{{Label: "rtp", Count: 1000}}}},
		{name: "overlap", net: NetworkResource{ReservedPorts: []Port{{Label: "a", Value: 30000, Count: 10}, {Label: "b", Value: 30009}}},
			err: `Networks[0]: static port 30009 of "b" is already reserved by port "a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateNetworks([]*NetworkResource{&tc.net})
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got %v, want %q", err, tc.err)
			}
		})
	}
}
