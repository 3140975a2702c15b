package scheduler_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestSetAndDistinctConstraints places a group on 4 nodes under the set
// operators, distinct_hosts and distinct_property, and checks where the
// allocations land and what the metrics say about the rest.
func TestSetAndDistinctConstraints(t *testing.T) {
	racks := []string{"r1", "r1", "r2", "r3"}
	features := []string{"avx,sse4", "sse4", "avx, sse4 ,gpu", "gpu"}
	for _, tc := range []struct {
		name       string
		count      int
		job        func(j *structs.Job)
		wantPlaced int
		perNodeMax int            // most allocations of the job on one node
		perRackMax int            // most allocations of the job per rack (0: unchecked)
		wantNodes  []int          // nodes that may receive allocations (nil: any)
		wantFilter map[string]int // ConstraintFiltered of the failed metric
	}{
		{
			name: "set_contains all values", count: 4, wantPlaced: 4,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.features}", RTarget: "avx,sse4", Operand: "set_contains"}}
			},
			wantNodes: []int{0, 2},
		},
		{
			name: "set_contains_all alias", count: 2, wantPlaced: 2,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.features}", RTarget: "gpu,avx", Operand: "set_contains_all"}}
			},
			wantNodes: []int{2},
		},
		{
			name: "set_contains_any", count: 4, wantPlaced: 4,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r2, r3", Operand: "set_contains_any"}}
			},
			wantNodes: []int{2, 3},
		},
		{
			name: "distinct_hosts at job level", count: 6, wantPlaced: 4, perNodeMax: 1,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{Operand: "distinct_hosts", RTarget: "true"}}
			},
			wantFilter: map[string]int{"distinct_hosts": 4},
		},
		{
			name: "distinct_hosts at group level", count: 3, wantPlaced: 3, perNodeMax: 1,
			job: func(j *structs.Job) {
				j.TaskGroups[0].Constraints = []*structs.Constraint{{Operand: "distinct_hosts"}}
			},
		},
		{
			name: "distinct_hosts false is off", count: 8, wantPlaced: 8,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{Operand: "distinct_hosts", RTarget: "false"}}
			},
		},
		{
			name: "distinct_property default limit 1", count: 5, wantPlaced: 3, perRackMax: 1,
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{Operand: "distinct_property", LTarget: "${meta.rack}"}}
			},
			wantFilter: map[string]int{"distinct_property ${meta.rack} 1": 4},
		},
		{
			name: "distinct_property limit 2", count: 8, wantPlaced: 6, perRackMax: 2,
			job: func(j *structs.Job) {
				j.TaskGroups[0].Constraints = []*structs.Constraint{{Operand: "distinct_property", LTarget: "${meta.rack}", RTarget: "2"}}
			},
			wantFilter: map[string]int{"distinct_property ${meta.rack} 2": 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			nodes := h.Nodes(4, func(i int, n *structs.Node) {
				n.Meta["rack"] = racks[i]
				n.Attributes["features"] = features[i]
			})
			job := schedtest.Job()
			job.TaskGroups[0].Count = tc.count
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
			tc.job(job)
			if err := job.Validate(); err != nil {
				t.Fatalf("job does not validate: %v", err)
			}
			register(t, h, job)
			allocs := live(h, job.ID)
			if len(allocs) != tc.wantPlaced {
				t.Fatalf("got %d placements, want %d", len(allocs), tc.wantPlaced)
			}
			allowed := map[string]bool{}
			for _, i := range tc.wantNodes {
				allowed[nodes[i].ID] = true
			}
			rackOf := map[string]string{}
			for i, n := range nodes {
				rackOf[n.ID] = racks[i]
			}
			perNode, perRack := map[string]int{}, map[string]int{}
			for _, a := range allocs {
				if tc.wantNodes != nil && !allowed[a.NodeID] {
					t.Errorf("alloc %s on node %s, want one of nodes %v", a.Name, a.NodeName, tc.wantNodes)
				}
				perNode[a.NodeID]++
				perRack[rackOf[a.NodeID]]++
			}
			for id, n := range perNode {
				if tc.perNodeMax > 0 && n > tc.perNodeMax {
					t.Errorf("got %d allocations on node %s, want at most %d", n, id, tc.perNodeMax)
				}
			}
			for r, n := range perRack {
				if tc.perRackMax > 0 && n > tc.perRackMax {
					t.Errorf("got %d allocations in rack %s, want at most %d", n, r, tc.perRackMax)
				}
			}
			m := h.LastEval().FailedTGAllocs["web"]
			if tc.wantFilter == nil {
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
			if got, want := m.CoalescedFailures, tc.count-tc.wantPlaced-1; got != want {
				t.Errorf("got CoalescedFailures %d, want %d", got, want)
			}
		})
	}
}

// TestDistinctHostsCountsExistingAllocs checks that a later evaluation sees
// the allocations already placed: scaling up a distinct_hosts job adds
// allocations only on nodes without one.
func TestDistinctHostsCountsExistingAllocs(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(3, nil)
	job := schedtest.Job()
	job.TaskGroups[0].Count = 2
	job.Constraints = []*structs.Constraint{{Operand: "distinct_hosts", RTarget: "true"}}
	register(t, h, job)
	scaled := job.Copy()
	scaled.TaskGroups[0].Count = 4
	register(t, h, scaled)
	perNode := map[string]int{}
	for _, a := range live(h, job.ID) {
		perNode[a.NodeID]++
	}
	if len(perNode) != 3 {
		t.Errorf("got allocations on %d nodes, want 3", len(perNode))
	}
	for id, n := range perNode {
		if n != 1 {
			t.Errorf("got %d allocations on node %s, want 1", n, id)
		}
	}
	if m := h.LastEval().FailedTGAllocs["web"]; m == nil || m.ConstraintFiltered["distinct_hosts"] != 3 {
		t.Errorf("got failed metric %+v, want distinct_hosts filtering 3 nodes", m)
	}
}

// TestCores checks whole-core reservations: each allocation gets distinct
// cores from the node's reservable ones, charged at the node's MHz per core,
// and a node without free cores is exhausted on "cores".
func TestCores(t *testing.T) {
	h := schedtest.NewHarness()
	nodes := h.Nodes(2, func(i int, n *structs.Node) {
		n.NodeResources.Cpu = structs.NodeCpuResources{CpuShares: 8000, TotalCpuCores: 4, ReservableCpuCores: []uint16{1, 2, 3}}
	})
	job := schedtest.Job()
	job.TaskGroups[0].Count = 4
	job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{Cores: 2, MemoryMB: 64}
	register(t, h, job)
	allocs := live(h, job.ID)
	if len(allocs) != 2 {
		t.Fatalf("got %d placements, want 2 (3 reservable cores per node hold one 2-core allocation)", len(allocs))
	}
	seen := map[string]bool{}
	for _, a := range allocs {
		cpu := a.AllocatedResources.Tasks["web"].Cpu
		if d := cmp.Diff([]uint16{1, 2}, cpu.ReservedCores); d != "" {
			t.Errorf("alloc %s reserved cores (-want +got):\n%s", a.Name, d)
		}
		if cpu.CpuShares != 4000 {
			t.Errorf("alloc %s: got %d MHz, want 4000 (2 cores of 2000 MHz)", a.Name, cpu.CpuShares)
		}
		seen[a.NodeID] = true
	}
	if len(seen) != 2 {
		t.Errorf("got allocations on %d nodes, want 2", len(seen))
	}
	m := h.LastEval().FailedTGAllocs["web"]
	if m == nil || m.DimensionExhausted["cores"] != 2 {
		t.Fatalf("got failed metric %+v, want cores exhausted on 2 nodes", m)
	}
	if d := cmp.Diff(&structs.DimensionShortfall{Asked: 2, LargestFree: 1, Unit: "cores"}, m.DimensionFree["cores"]); d != "" {
		t.Errorf("DimensionFree[cores] (-want +got):\n%s", d)
	}
	for _, n := range nodes {
		stored, _ := h.State.AllocsByNode(nil, n.ID)
		if ok, dim, _ := structs.AllocsFit(n, stored); !ok {
			t.Errorf("node %s over-committed on %s", n.Name, dim)
		}
	}
}

// TestExhaustionLargestFree checks that a failed placement records what it
// asked and the most any exhausted node had free.
func TestExhaustionLargestFree(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(3, func(i int, n *structs.Node) {
		n.NodeResources.Memory.MemoryMB = []int64{1024, 512, 768}[i]
	})
	job := schedtest.Job()
	job.TaskGroups[0].Count = 1
	job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 2048}
	register(t, h, job)
	m := h.LastEval().FailedTGAllocs["web"]
	if m == nil {
		t.Fatal("got no failed metric, want one")
	}
	want := map[string]*structs.DimensionShortfall{"memory": {Asked: 2048, LargestFree: 1024, Unit: "MB"}}
	if d := cmp.Diff(want, m.DimensionFree); d != "" {
		t.Errorf("DimensionFree (-want +got):\n%s", d)
	}
}
