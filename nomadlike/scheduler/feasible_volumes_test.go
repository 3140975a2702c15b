package scheduler_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHostVolumeFeasibility places groups asking for host volumes on nodes
// that offer them read-write, read-only or not at all, and checks where the
// allocations land and how the metric explains the filtered nodes.
func TestHostVolumeFeasibility(t *testing.T) {
	hv := func(name string, ro bool) *structs.ClientHostVolumeConfig {
		return &structs.ClientHostVolumeConfig{Name: name, Path: "/srv/" + name, ReadOnly: ro}
	}
	nodeVolumes := []map[string]*structs.ClientHostVolumeConfig{
		{"data": hv("data", false)},
		{"data": hv("data", true)},
		nil,
		{"logs": hv("logs", false)},
		{"data": hv("data", true), "logs": hv("logs", false)},
	}
	vol := func(source string, ro bool) *structs.VolumeRequest {
		return &structs.VolumeRequest{Type: structs.VolumeTypeHost, Source: source, ReadOnly: ro}
	}
	for _, tc := range []struct {
		name       string
		volumes    map[string]*structs.VolumeRequest
		wantNodes  []int          // nodes that may receive allocations
		wantFilter map[string]int // ConstraintFiltered of the failed metric (when nothing fits)
	}{
		{name: "no volumes", wantNodes: []int{0, 1, 2, 3, 4}},
		{name: "read-only request", volumes: map[string]*structs.VolumeRequest{"d": vol("data", true)},
			wantNodes: []int{0, 1, 4}, wantFilter: map[string]int{"missing compatible host volume": 2}},
		{name: "read-write request skips read-only volumes", volumes: map[string]*structs.VolumeRequest{"d": vol("data", false)},
			wantNodes: []int{0}, wantFilter: map[string]int{"missing compatible host volume": 4}},
		{name: "two volumes", volumes: map[string]*structs.VolumeRequest{"d": vol("data", true), "l": vol("logs", false)},
			wantNodes: []int{4}, wantFilter: map[string]int{"missing compatible host volume": 4}},
		{name: "no node has it", volumes: map[string]*structs.VolumeRequest{"x": vol("nope", true)},
			wantFilter: map[string]int{"missing compatible host volume": 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			nodes := h.Nodes(len(nodeVolumes), func(i int, n *structs.Node) { n.HostVolumes = nodeVolumes[i] })
			job := schedtest.Job()
			job.TaskGroups[0].Count = 10
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
			job.TaskGroups[0].Volumes = tc.volumes
			job.Canonicalize()
			if err := job.Validate(); err != nil {
				t.Fatalf("job does not validate: %v", err)
			}
			register(t, h, job)
			allowed := map[string]bool{}
			for _, i := range tc.wantNodes {
				allowed[nodes[i].ID] = true
			}
			allocs := live(h, job.ID)
			if len(tc.wantNodes) > 0 && len(allocs) != 10 {
				t.Errorf("got %d placements, want 10", len(allocs))
			}
			if len(tc.wantNodes) == 0 && len(allocs) != 0 {
				t.Errorf("got %d placements, want none", len(allocs))
			}
			for _, a := range allocs {
				if !allowed[a.NodeID] {
					t.Errorf("alloc %s on %s, want one of nodes %v", a.Name, a.NodeName, tc.wantNodes)
				}
			}
			m := h.LastEval().FailedTGAllocs["web"]
			if len(tc.wantNodes) > 0 {
				if m != nil {
					t.Errorf("got failed metric %+v, want none", m)
				}
				return
			}
			if m == nil {
				t.Fatal("got no failed metric, want one")
			}
			if d := cmp.Diff(tc.wantFilter, m.ConstraintFiltered); d != "" {
				t.Errorf("ConstraintFiltered (-want +got):\n%s", d)
			}
		})
	}
}

// TestVolumeChangesAreDestructive checks that changing a group's volumes or
// a task's volume mounts replaces allocations rather than updating in place.
func TestVolumeChangesAreDestructive(t *testing.T) {
	base := schedtest.Job().TaskGroups[0]
	base.Volumes = map[string]*structs.VolumeRequest{"d": {Name: "d", Type: "host", Source: "data"}}
	base.Tasks[0].VolumeMounts = []*structs.VolumeMount{{Volume: "d", Destination: "/data"}}
	for _, tc := range []struct {
		name   string
		change func(tg *structs.TaskGroup)
		want   string
	}{
		{"same", func(*structs.TaskGroup) {}, ""},
		{"volume read-only", func(tg *structs.TaskGroup) { tg.Volumes["d"].ReadOnly = true }, "group volumes changed"},
		{"mount destination", func(tg *structs.TaskGroup) { tg.Tasks[0].VolumeMounts[0].Destination = "/d" }, "task web volume mounts changed"},
	} {
		updated := base.Copy()
		tc.change(updated)
		destructive, why := scheduler.DestructiveChange(base, updated)
		if destructive != (tc.want != "") || why != tc.want {
			t.Errorf("%s: got (%v, %q), want %q", tc.name, destructive, why, tc.want)
		}
	}
}

// TestStickyVolumePrefersPreviousNode: destructive updates of a group with
// a sticky host volume land on the node of the allocation they replace,
// although bin-packing prefers the nodes another job fills; without sticky
// they follow bin-packing.
func TestStickyVolumePrefersPreviousNode(t *testing.T) {
	for _, sticky := range []bool{true, false} {
		h := schedtest.NewHarness()
		data := map[string]*structs.ClientHostVolumeConfig{"data": {Name: "data", Path: "/srv/data"}}
		nodes := h.Nodes(4, func(i int, n *structs.Node) { n.HostVolumes = data })
		job := schedtest.Job()
		job.ID = "sticky"
		job.TaskGroups[0].Count = 1
		job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
		job.TaskGroups[0].Volumes = map[string]*structs.VolumeRequest{"d": {Type: structs.VolumeTypeHost, Source: "data", Sticky: sticky}}
		job.Canonicalize()
		register(t, h, job)
		first := live(h, job.ID)
		if len(first) != 1 {
			t.Fatalf("placements: %d", len(first))
		}
		home := first[0].NodeID
		// Fill every other node, so that bin-packing prefers them.
		for _, n := range nodes {
			if n.ID == home {
				continue
			}
			filler := schedtest.Job()
			filler.ID = "filler-" + n.ID
			filler.TaskGroups[0].Count = 1
			filler.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 2000, MemoryMB: 2048}
			filler.Constraints = []*structs.Constraint{{LTarget: "${node.unique.id}", RTarget: n.ID, Operand: "="}}
			filler.Canonicalize()
			register(t, h, filler)
		}
		moved := 0
		for v := 1; v <= 3; v++ {
			next := job.Copy()
			next.TaskGroups[0].Tasks[0].Env = map[string]string{"V": string(rune('0' + v))}
			next.Version = uint64(v)
			register(t, h, next)
			allocs := live(h, job.ID)
			if len(allocs) != 1 {
				t.Fatalf("sticky=%v version %d: %d live allocations", sticky, v, len(allocs))
			}
			if allocs[0].NodeID != home {
				moved++
			}
			job = next
		}
		if sticky && moved != 0 {
			t.Errorf("sticky: %d of 3 replacements left node %s", moved, home)
		}
		if !sticky && moved == 0 {
			t.Errorf("not sticky: every replacement stayed on %s; the test does not show a preference", home)
		}
	}
}
