package scheduler_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// portAlloc is an allocation placed before the job under test: its job's
// ID, priority, memory, the node (index) it runs on and its static ports.
type portAlloc struct {
	id    string
	prio  int
	mb    int
	node  int
	ports []int
}

// staticPorts is a group network asking for ports as static ports.
func staticPorts(ports ...int) []*structs.NetworkResource {
	n := &structs.NetworkResource{Mode: "host"}
	for _, p := range ports {
		n.ReservedPorts = append(n.ReservedPorts, structs.Port{Label: fmt.Sprintf("p%d", p), Value: p})
	}
	return []*structs.NetworkResource{n}
}

// TestPortPreemption places a job needing static ports that lower-priority
// allocations hold, and checks which allocations it preempts.
func TestPortPreemption(t *testing.T) {
	service := &structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}}
	for _, tc := range []struct {
		name     string
		config   *structs.SchedulerConfig
		typ      string
		nodes    int
		reserved string // the nodes' reserved host ports
		before   []portAlloc
		prio     int
		askMB    int
		ports    []int
		want     []string // job IDs of the preempted allocations, sorted; nil: no placement
		wantNode int      // node of the placement
		wantDim  string   // exhausted dimension of a failed placement
	}{
		{
			name: "holder of the port is preempted", config: service, nodes: 1, prio: 80, askMB: 100, ports: []int{8080},
			before: []portAlloc{{id: "holder", prio: 20, mb: 100, ports: []int{8080}}, {id: "other", prio: 20, mb: 100, ports: []int{9090}}},
			want:   []string{"holder"},
		},
		{
			name: "preemption disabled for services", nodes: 1, prio: 80, askMB: 100, ports: []int{8080},
			before:  []portAlloc{{id: "holder", prio: 20, mb: 100, ports: []int{8080}}},
			wantDim: "network: reserved port collision p8080=8080",
		},
		{
			name: "holder within 10 priority levels is kept", config: service, nodes: 1, prio: 80, askMB: 100, ports: []int{8080},
			before:  []portAlloc{{id: "holder", prio: 75, mb: 100, ports: []int{8080}}},
			wantDim: "network: reserved port collision p8080=8080",
		},
		{
			name: "every holder of the asked ports goes", config: service, nodes: 1, prio: 80, askMB: 100, ports: []int{8080, 8081},
			before: []portAlloc{{id: "a", prio: 20, mb: 100, ports: []int{8080}}, {id: "b", prio: 30, mb: 100, ports: []int{8081}}},
			want:   []string{"a", "b"},
		},
		{
			name: "one holder too important keeps the port", config: service, nodes: 1, prio: 80, askMB: 100, ports: []int{8080, 8081},
			before:  []portAlloc{{id: "a", prio: 20, mb: 100, ports: []int{8080}}, {id: "b", prio: 90, mb: 100, ports: []int{8081}}},
			wantDim: "network: reserved port collision p8080=8080",
		},
		{
			name: "port holder and memory together", config: service, nodes: 1, prio: 80, askMB: 2500, ports: []int{8080},
			before: []portAlloc{
				{id: "holder", prio: 30, mb: 1000, ports: []int{8080}},
				{id: "m1", prio: 20, mb: 3000}, {id: "m2", prio: 20, mb: 3000}, {id: "m3", prio: 20, mb: 1000},
			},
			want: []string{"holder", "m1"},
		},
		{
			name: "fewest victims across nodes", config: service, nodes: 2, prio: 80, askMB: 100, ports: []int{8080, 8081},
			before: []portAlloc{
				{id: "a1", prio: 20, mb: 100, node: 0, ports: []int{8080}}, {id: "a2", prio: 20, mb: 100, node: 0, ports: []int{8081}},
				{id: "b", prio: 20, mb: 100, node: 1, ports: []int{8080, 8081}},
			},
			want: []string{"b"}, wantNode: 1,
		},
		{
			name: "lowest priority across nodes", config: service, nodes: 2, prio: 80, askMB: 100, ports: []int{8080},
			before: []portAlloc{
				{id: "a", prio: 50, mb: 100, node: 0, ports: []int{8080}},
				{id: "b", prio: 20, mb: 100, node: 1, ports: []int{8080}},
			},
			want: []string{"b"}, wantNode: 1,
		},
		{
			name: "the node's reserved port is never freed", config: service, nodes: 1, prio: 80, askMB: 100, ports: []int{8080},
			reserved: "8080", wantDim: "network: reserved port collision p8080=8080",
		},
		{
			name: "system job preempts by default", typ: structs.JobTypeSystem, nodes: 1, prio: 80, askMB: 100, ports: []int{8080},
			before: []portAlloc{{id: "holder", prio: 20, mb: 100, ports: []int{8080}}},
			want:   []string{"holder"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.CheckFit = true
			h.State.SetSchedulerConfig(tc.config)
			nodes := h.Nodes(tc.nodes, func(i int, n *structs.Node) {
				if tc.reserved != "" {
					n.ReservedResources = &structs.NodeReservedResources{}
					n.ReservedResources.Networks.ReservedHostPorts = tc.reserved
				}
			})
			for _, b := range tc.before {
				j := schedtest.Job()
				j.ID, j.Priority = b.id, b.prio
				tg := j.TaskGroups[0]
				tg.Count = 1
				tg.Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: b.mb}
				if len(b.ports) > 0 {
					tg.Networks = staticPorts(b.ports...)
				}
				j.Constraints = []*structs.Constraint{{LTarget: "${node.unique.id}", RTarget: nodes[b.node].ID, Operand: "="}}
				register(t, h, j)
				if len(live(h, j.ID)) != 1 {
					t.Fatalf("setup: allocation of %s not placed", b.id)
				}
			}
			job := schedtest.Job()
			if tc.typ != "" {
				job.Type = tc.typ
			}
			if job.Type == structs.JobTypeSystem {
				job.TaskGroups[0].ReschedulePolicy = nil
			}
			job.Priority = tc.prio
			tg := job.TaskGroups[0]
			tg.Count = 1
			tg.Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: tc.askMB}
			tg.Networks = staticPorts(tc.ports...)
			register(t, h, job)
			plan := h.LastPlan()
			placed := live(h, job.ID)
			if tc.want == nil {
				if len(placed) != 0 || plan != nil && len(plan.NodePreemptions) != 0 {
					t.Fatalf("got %d placements and preemptions %v, want none", len(placed), plan.NodePreemptions)
				}
				m := h.LastEval().FailedTGAllocs["web"]
				if m == nil || m.DimensionExhausted[tc.wantDim] == 0 {
					t.Errorf("got failed metric %+v, want %q exhausted", m, tc.wantDim)
				}
				return
			}
			if len(placed) != 1 {
				t.Fatalf("got %d placements, want 1 (failed: %+v)", len(placed), h.LastEval().FailedTGAllocs["web"])
			}
			if placed[0].NodeID != nodes[tc.wantNode].ID {
				t.Errorf("placed on %s, want node %d", placed[0].NodeName, tc.wantNode)
			}
			var got []string
			for _, v := range plan.NodePreemptions[placed[0].NodeID] {
				got = append(got, v.JobID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got victims %v, want %v", got, tc.want)
			}
			var ports []int
			for _, pm := range placed[0].AllocatedResources.Shared.Ports {
				ports = append(ports, pm.Value)
			}
			if !slices.Equal(ports, tc.ports) {
				t.Errorf("got ports %v, want %v", ports, tc.ports)
			}
			stored, _ := h.State.AllocsByNode(nil, placed[0].NodeID)
			if ok, dim, _ := structs.AllocsFit(nodes[tc.wantNode], stored); !ok {
				t.Errorf("node over-committed on %s after preemption", dim)
			}
		})
	}
}
