package scheduler_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestSpreadTargets checks that spread targets are respected within one
// allocation, and that a spread without targets spreads evenly.
func TestSpreadTargets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		count   int
		dcs     []string // datacenter of each node (cycled)
		nodes   int
		targets []*structs.SpreadTarget
		want    map[string]int
	}{
		{"70/30", 10, []string{"dc1", "dc2"}, 20, []*structs.SpreadTarget{{Value: "dc1", Percent: 70}, {Value: "dc2", Percent: 30}}, map[string]int{"dc1": 7, "dc2": 3}},
		{"50/25 with implicit rest", 20, []string{"dc1", "dc2", "dc3", "dc4"}, 40, []*structs.SpreadTarget{{Value: "dc1", Percent: 50}, {Value: "dc2", Percent: 25}}, map[string]int{"dc1": 10, "dc2": 5, "dc3+dc4": 5}},
		{"even over 3", 12, []string{"dc1", "dc2", "dc3"}, 30, nil, map[string]int{"dc1": 4, "dc2": 4, "dc3": 4}},
		{"even over 4 uneven count", 10, []string{"a", "b", "c", "d"}, 400, nil, map[string]int{"a": 3, "b": 3, "c": 2, "d": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(tc.nodes, func(i int, n *structs.Node) { n.Datacenter = tc.dcs[i%len(tc.dcs)] })
			job := schedtest.Job()
			job.Datacenters = []string{"*"}
			job.TaskGroups[0].Count = tc.count
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
			job.TaskGroups[0].Spreads = []*structs.Spread{{Attribute: "${node.datacenter}", Weight: 100, SpreadTarget: tc.targets}}
			if err := job.Validate(); err != nil {
				t.Fatalf("job does not validate: %v", err)
			}
			register(t, h, job)
			dcOf := map[string]string{}
			nodes, _ := h.State.Nodes(nil)
			for _, n := range nodes {
				dcOf[n.ID] = n.Datacenter
			}
			got := map[string]int{}
			for _, a := range live(h, job.ID) {
				dc := dcOf[a.NodeID]
				if _, ok := tc.want[dc]; !ok {
					dc = "dc3+dc4"
				}
				got[dc]++
			}
			for k, want := range tc.want {
				if d := got[k] - want; d < -1 || d > 1 {
					t.Errorf("got %d allocations in %s, want %d ± 1 (all: %v)", got[k], k, want, got)
				}
			}
			a := live(h, job.ID)[0]
			if _, ok := a.Metrics.ScoreMetaData[0].Scores.Get("allocation-spread"); !ok && tc.targets != nil {
				t.Errorf("got score metadata %v, want an allocation-spread component", a.Metrics.ScoreMetaData[0].Scores)
			}
		})
	}
}

// TestAffinity checks that positive affinities attract and negative ones
// repel, with Nomad's normalised score recorded.
func TestAffinity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		affinities []*structs.Affinity
		wantRack   string
		wantScore  float64
	}{
		{"attract", []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r2", Operand: "=", Weight: 100}}, "r2", 1},
		{"repel", []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: -50}}, "r2", 0},
		{"weighted pair", []*structs.Affinity{
			{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: 25},
			{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "=", Weight: 75},
		}, "r1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(6, func(i int, n *structs.Node) { n.Meta["rack"] = []string{"r1", "r2"}[i%2] })
			job := schedtest.Job()
			job.TaskGroups[0].Count = 2
			job.TaskGroups[0].Affinities = tc.affinities
			register(t, h, job)
			rackOf := map[string]string{}
			nodes, _ := h.State.Nodes(nil)
			for _, n := range nodes {
				rackOf[n.ID] = n.Meta["rack"]
			}
			for _, a := range live(h, job.ID) {
				if rackOf[a.NodeID] != tc.wantRack {
					t.Errorf("alloc %s in rack %s, want %s", a.Name, rackOf[a.NodeID], tc.wantRack)
				}
				top := a.Metrics.ScoreMetaData[0]
				got, ok := top.Scores.Get("node-affinity")
				if tc.wantScore == 0 {
					if ok {
						t.Errorf("got node-affinity %v on the chosen node, want none", got)
					}
					continue
				}
				if math.Abs(got-tc.wantScore) > 1e-9 {
					t.Errorf("got node-affinity %v, want %v", got, tc.wantScore)
				}
			}
		})
	}
}

// TestSchedulerAlgorithm checks that the operator's algorithm decides
// between packing onto the fuller node and spreading to the emptier one.
func TestSchedulerAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		algorithm string
		// pool is the algorithm of the jobs' node pool "edge" ("": the
		// jobs use the default pool).
		pool     string
		wantFull bool
	}{
		{"", "", true},
		{structs.SchedulerAlgorithmBinpack, "", true},
		{structs.SchedulerAlgorithmSpread, "", false},
		{structs.SchedulerAlgorithmBinpack, structs.SchedulerAlgorithmSpread, false},
		{structs.SchedulerAlgorithmSpread, structs.SchedulerAlgorithmBinpack, true},
	} {
		t.Run(fmt.Sprintf("algorithm=%q pool=%q", tc.algorithm, tc.pool), func(t *testing.T) {
			h := schedtest.NewHarness()
			if tc.algorithm != "" {
				h.State.SetSchedulerConfig(&structs.SchedulerConfig{SchedulerAlgorithm: tc.algorithm})
			}
			var inPool func(int, *structs.Node)
			if tc.pool != "" {
				h.State.UpsertNodePool(&structs.NodePool{Name: "edge", SchedulerConfiguration: &structs.NodePoolSchedulerConfiguration{SchedulerAlgorithm: tc.pool}})
				inPool = func(_ int, n *structs.Node) { n.NodePool = "edge" }
			}
			nodes := h.Nodes(2, inPool)
			other := schedtest.Job()
			other.TaskGroups[0].Count = 1
			other.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 2000, MemoryMB: 4096}
			other.Constraints = []*structs.Constraint{{LTarget: "${node.unique.id}", RTarget: nodes[0].ID, Operand: "="}}
			if tc.pool != "" {
				other.NodePool = "edge"
			}
			register(t, h, other)
			job := schedtest.Job()
			job.TaskGroups[0].Count = 1
			if tc.pool != "" {
				job.NodePool = "edge"
			}
			register(t, h, job)
			got := live(h, job.ID)[0].NodeID == nodes[0].ID
			if got != tc.wantFull {
				t.Errorf("placed on the fuller node: got %v, want %v", got, tc.wantFull)
			}
		})
	}
}

// TestCandidateLimit checks that a placement scores a bounded number of
// nodes: log2(n) for services, 2 for batch, 100 with spreads.
func TestCandidateLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		job      func() *structs.Job
		nodes    int
		wantEval int
	}{
		{"service", schedtest.Job, 1000, 10},
		{"batch", schedtest.BatchJob, 1000, 2},
		{"service with spread", func() *structs.Job {
			j := schedtest.Job()
			j.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}}
			return j
		}, 1000, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(tc.nodes, nil)
			job := tc.job()
			job.TaskGroups[0].Count = 1
			register(t, h, job)
			a := live(h, job.ID)[0]
			if got := a.Metrics.NodesEvaluated; got != tc.wantEval {
				t.Errorf("got %d nodes evaluated, want %d", got, tc.wantEval)
			}
			if got := len(a.Metrics.ScoreMetaData); got != min(5, tc.wantEval) {
				t.Errorf("got %d score entries, want %d", got, min(5, tc.wantEval))
			}
		})
	}
}
