package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func cpuAlloc(job *structs.Job, nodeID string, cpu int64) *structs.Allocation {
	return &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Name: job.ID + ".web[0]", NodeID: nodeID,
		JobID: job.ID, Job: job, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus: structs.AllocClientStatusPending,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"server": {Cpu: structs.AllocatedCpuResources{CpuShares: cpu}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}},
		}},
	}
}

func allocIDs(m map[string][]*structs.Allocation) map[string][]string {
	out := map[string][]string{}
	for n, as := range m {
		for _, a := range as {
			out[n] = append(out[n], a.ID)
		}
	}
	return out
}

func TestEvaluatePlan(t *testing.T) {
	f := newTestFSM(t)
	full, free, down := mockNode("full"), mockNode("free"), mockNode("down")
	for i, n := range []*structs.Node{full, free, down} {
		n.Status = structs.NodeStatusReady
		applyEntry(t, f, uint64(10+i), structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n})
	}
	applyEntry(t, f, 13, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: down.ID, Status: structs.NodeStatusDown})
	job := mockJob("web", 1, 100, 64)
	job.Canonicalize()
	applyEntry(t, f, 14, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
	existing := cpuAlloc(job, full.ID, 3000) // of 4000 MHz
	applyEntry(t, f, 15, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: job, AllocsPlaced: []*structs.Allocation{existing}})

	overcommit := cpuAlloc(job, full.ID, 2000)
	fits := cpuAlloc(job, free.ID, 2000)
	onDown := cpuAlloc(job, down.ID, 100)
	stopExisting := existing.Copy()
	stopExisting.DesiredStatus = structs.AllocDesiredStatusStop
	replacing := cpuAlloc(job, full.ID, 3500)

	cases := []struct {
		name        string
		plan        *structs.Plan
		wantPlaced  map[string][]string
		wantStopped map[string][]string
		wantRefresh bool
	}{
		{
			name: "over-committing node refused, rest committed",
			plan: &structs.Plan{Job: job, NodeAllocation: map[string][]*structs.Allocation{
				full.ID: {overcommit}, free.ID: {fits}}},
			wantPlaced:  map[string][]string{free.ID: {fits.ID}},
			wantStopped: map[string][]string{},
			wantRefresh: true,
		},
		{
			name: "all at once: nothing committed",
			plan: &structs.Plan{Job: job, AllAtOnce: true, NodeAllocation: map[string][]*structs.Allocation{
				full.ID: {overcommit}, free.ID: {fits}}},
			wantPlaced:  map[string][]string{},
			wantStopped: map[string][]string{},
			wantRefresh: true,
		},
		{
			name:        "down node refuses placements",
			plan:        &structs.Plan{Job: job, NodeAllocation: map[string][]*structs.Allocation{down.ID: {onDown}}},
			wantPlaced:  map[string][]string{},
			wantStopped: map[string][]string{},
			wantRefresh: true,
		},
		{
			name: "stopping frees room for the replacement",
			plan: &structs.Plan{Job: job,
				NodeUpdate:     map[string][]*structs.Allocation{full.ID: {stopExisting}},
				NodeAllocation: map[string][]*structs.Allocation{full.ID: {replacing}}},
			wantPlaced:  map[string][]string{full.ID: {replacing.ID}},
			wantStopped: map[string][]string{full.ID: {existing.ID}},
		},
		{
			name:        "stops on a down node are allowed",
			plan:        &structs.Plan{Job: job, NodeUpdate: map[string][]*structs.Allocation{down.ID: {stopExisting}}},
			wantPlaced:  map[string][]string{},
			wantStopped: map[string][]string{down.ID: {existing.ID}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap, err := f.state.Snapshot()
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			result, refused, err := evaluatePlan(snap, nil, c.plan)
			if err != nil {
				t.Fatalf("evaluatePlan: %v", err)
			}
			if diff := cmp.Diff(c.wantPlaced, allocIDs(result.NodeAllocation)); diff != "" {
				t.Errorf("placed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantStopped, allocIDs(result.NodeUpdate)); diff != "" {
				t.Errorf("stopped (-want +got):\n%s", diff)
			}
			if got := result.RefreshIndex != 0; got != c.wantRefresh {
				t.Errorf("RefreshIndex set: got %t (%d), want %t; refused %v", got, result.RefreshIndex, c.wantRefresh, refused)
			}
		})
	}
}
