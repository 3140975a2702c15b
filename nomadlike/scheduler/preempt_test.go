package scheduler_test

import (
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// lowJob registers a job of priority prio with one allocation per size (MB)
// on the harness's only node.
func lowJob(t *testing.T, h *schedtest.Harness, prio int, sizes ...int) []*structs.Allocation {
	t.Helper()
	var out []*structs.Allocation
	for _, mb := range sizes {
		j := schedtest.Job()
		j.Priority = prio
		j.TaskGroups[0].Count = 1
		j.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: mb}
		register(t, h, j)
		out = append(out, live(h, j.ID)...)
	}
	return out
}

func TestPreemption(t *testing.T) {
	for _, tc := range []struct {
		name       string
		config     *structs.SchedulerConfig
		typ        string
		prio       int
		low        map[int][]int // priority -> allocation sizes in MB on the 8,192 MB node
		askMB      int
		wantVictim []int // sizes of the preempted allocations, sorted; nil: no placement
	}{
		{
			name: "service enabled, fewest victims", typ: structs.JobTypeService, prio: 80,
			config: &structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}},
			low:    map[int][]int{20: {1000, 1000, 3000, 3000}}, askMB: 2500, wantVictim: []int{3000},
		},
		{
			name: "lowest priority first", typ: structs.JobTypeService, prio: 80,
			config: &structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}},
			low:    map[int][]int{60: {4000}, 20: {4000}}, askMB: 1500, wantVictim: []int{4000},
		},
		{
			name: "priority gap under 10 is not preemptible", typ: structs.JobTypeService, prio: 65,
			config: &structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}},
			low:    map[int][]int{60: {4000, 4000}}, askMB: 1000,
		},
		{
			name: "service disabled by default", typ: structs.JobTypeService, prio: 80,
			low: map[int][]int{20: {4000, 4000}}, askMB: 1000,
		},
		{
			name: "system enabled by default", typ: structs.JobTypeSystem, prio: 80,
			low: map[int][]int{20: {2000, 6000}}, askMB: 1000, wantVictim: []int{2000},
		},
		{
			name: "several victims when one is not enough", typ: structs.JobTypeBatch, prio: 90,
			config: &structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{BatchSchedulerEnabled: true}},
			low:    map[int][]int{30: {2000, 2000, 2000, 2000}}, askMB: 3000, wantVictim: []int{2000, 2000},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.CheckFit = true
			h.State.SetSchedulerConfig(tc.config)
			node := h.Nodes(1, nil)[0]
			// The filler jobs leave under 192 MB free.
			var lows []*structs.Allocation
			for _, prio := range []int{20, 30, 60} {
				lows = append(lows, lowJob(t, h, prio, tc.low[prio]...)...)
			}
			job := schedtest.Job()
			job.Type = tc.typ
			job.Priority = tc.prio
			job.TaskGroups[0].Count = 1
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: tc.askMB}
			if tc.typ == structs.JobTypeSystem {
				job.TaskGroups[0].ReschedulePolicy = nil
			}
			register(t, h, job)
			plan := h.LastPlan()
			placed := live(h, job.ID)
			if tc.wantVictim == nil {
				if len(placed) != 0 || len(plan.NodePreemptions) != 0 {
					t.Fatalf("got %d placements and preemptions %v, want none", len(placed), plan.NodePreemptions)
				}
				if m := h.LastEval().FailedTGAllocs["web"]; m == nil || m.DimensionExhausted["memory"] != 1 {
					t.Errorf("got failed metric %+v, want memory exhausted", m)
				}
				return
			}
			if len(placed) != 1 {
				t.Fatalf("got %d placements, want 1", len(placed))
			}
			var sizes []int
			ids := map[string]bool{}
			for _, v := range plan.NodePreemptions[node.ID] {
				if v.DesiredStatus != structs.AllocDesiredStatusEvict || v.PreemptedByAllocation != placed[0].ID {
					t.Errorf("preempted %s: got desired %q by %q, want evict by %s", v.Name, v.DesiredStatus, v.PreemptedByAllocation, placed[0].ID)
				}
				sizes = append(sizes, int(v.AllocatedResources.Tasks["web"].Memory.MemoryMB))
				ids[v.ID] = true
			}
			slices.Sort(sizes)
			if !slices.Equal(sizes, tc.wantVictim) {
				t.Errorf("got victims of %v MB, want %v MB", sizes, tc.wantVictim)
			}
			if got := len(placed[0].PreemptedAllocations); got != len(tc.wantVictim) {
				t.Errorf("got PreemptedAllocations %v, want %d IDs", placed[0].PreemptedAllocations, len(tc.wantVictim))
			}
			if got := plan.Annotations.DesiredTGUpdates["web"].Preemptions; got != uint64(len(tc.wantVictim)) {
				t.Errorf("got DesiredTGUpdates.Preemptions %d, want %d", got, len(tc.wantVictim))
			}
			for _, l := range lows {
				stored := h.State.AllocByID(l.ID)
				if ids[l.ID] != (stored.DesiredStatus == structs.AllocDesiredStatusEvict) {
					t.Errorf("alloc %s: got desired status %q, preempted %v", l.ID, stored.DesiredStatus, ids[l.ID])
				}
			}
			stored, _ := h.State.AllocsByNode(nil, node.ID)
			if ok, dim, _ := structs.AllocsFit(node, stored); !ok {
				t.Errorf("node over-committed on %s after preemption", dim)
			}
		})
	}
}
