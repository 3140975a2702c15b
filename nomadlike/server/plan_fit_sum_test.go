package server

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestNodeFitsSumMatchesAllocs checks that the plan applier's fit check
// from the node's usage sum adds up what the check over the node's
// allocations does, for random states, plans (placements, in-place
// updates, stops, preemptions) and in-flight plans (with preemptions), and falls back to the
// allocations when one of them holds a port.
func TestNodeFitsSumMatchesAllocs(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			f := newTestFSM(t)
			node := mockNode("n")
			node.Status = structs.NodeStatusReady
			other := mockNode("other")
			other.Status = structs.NodeStatusReady
			applyEntry(t, f, 10, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node})
			applyEntry(t, f, 11, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: other})
			job := mockJob("web", 1, 100, 64)
			job.Canonicalize()
			applyEntry(t, f, 12, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
			var stored []*structs.Allocation
			for range 6 + rng.IntN(6) {
				a := cpuAlloc(job, []string{node.ID, node.ID, other.ID}[rng.IntN(3)], int64(100+rng.IntN(900)))
				stored = append(stored, a)
			}
			withPort := rng.IntN(5) == 0
			if withPort {
				stored[0].NodeID = node.ID
				stored[0].AllocatedResources.Shared.Ports = []structs.PortMapping{{Label: "http", Value: 25000}}
			}
			applyEntry(t, f, 13, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: job, AllocsPlaced: stored})
			var ups []*structs.Allocation
			for i, a := range stored {
				if rng.IntN(4) == 0 && !(withPort && i == 0) {
					ups = append(ups, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusFailed})
				}
			}
			if len(ups) > 0 {
				applyEntry(t, f, 14, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: ups})
			}
			snap, err := f.state.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			version := func(a *structs.Allocation) *structs.Allocation {
				c := a.Copy()
				c.NodeID = node.ID
				c.AllocatedResources.Tasks["server"].Cpu.CpuShares = int64(100 + rng.IntN(900))
				if rng.IntN(4) == 0 {
					c.DesiredStatus = structs.AllocDesiredStatusStop
				}
				return c
			}
			pick := func() *structs.Allocation { return stored[rng.IntN(len(stored))] }
			plan := &structs.Plan{Job: job, NodeAllocation: map[string][]*structs.Allocation{}, NodeUpdate: map[string][]*structs.Allocation{},
				NodePreemptions: map[string][]*structs.Allocation{}}
			for range 1 + rng.IntN(3) {
				if rng.IntN(3) == 0 {
					plan.NodeAllocation[node.ID] = append(plan.NodeAllocation[node.ID], version(pick())) // in place
				} else {
					plan.NodeAllocation[node.ID] = append(plan.NodeAllocation[node.ID], cpuAlloc(job, node.ID, int64(100+rng.IntN(900))))
				}
			}
			for range rng.IntN(3) {
				plan.NodeUpdate[node.ID] = append(plan.NodeUpdate[node.ID], pick())
			}
			for range rng.IntN(2) {
				plan.NodePreemptions[node.ID] = append(plan.NodePreemptions[node.ID], pick())
			}
			overlay := planOverlay{}
			for range rng.IntN(4) {
				v := cpuAlloc(job, node.ID, int64(100+rng.IntN(900)))
				if rng.IntN(2) == 0 {
					v = version(pick())
				}
				if overlay[node.ID] == nil {
					overlay[node.ID] = map[string]*structs.Allocation{}
				}
				overlay[node.ID][v.ID] = v
			}
			if rng.IntN(3) == 0 {
				// The in-flight plan preempted it (newPlanOverlay's nil).
				if overlay[node.ID] == nil {
					overlay[node.ID] = map[string]*structs.Allocation{}
				}
				overlay[node.ID][pick().ID] = nil
			}
			remove := planRemoves(plan, node.ID)
			used, ok, err := usedFromSum(snap, node.ID, overlay[node.ID], remove, plan.NodeAllocation[node.ID])
			if err != nil {
				t.Fatal(err)
			}
			if ok == withPort {
				t.Fatalf("sum path used %t with a port held %t", ok, withPort)
			}
			fit, dim, want, err := nodeFitsByAllocs(snap, node, overlay[node.ID], remove, plan.NodeAllocation[node.ID])
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return
			}
			if used != want {
				t.Fatalf("used from the sum %+v, from the allocations %+v", used, want)
			}
			if gotFit, gotDim := node.Comparable().Superset(used); gotFit != fit || gotDim != dim {
				t.Fatalf("fit from the sum %t %q, from the allocations %t %q", gotFit, gotDim, fit, dim)
			}
		})
	}
}
