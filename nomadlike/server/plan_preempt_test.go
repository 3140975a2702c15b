package server

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestEvaluatePlanPreemptions checks that evictions free room before the
// fit check, are returned in the result, and are refused with their node.
func TestEvaluatePlanPreemptions(t *testing.T) {
	f := newTestFSM(t)
	node := mockNode("n")
	node.Status = structs.NodeStatusReady
	applyEntry(t, f, 10, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node})
	low := mockJob("low", 1, 100, 64)
	low.Priority = 10
	low.Canonicalize()
	applyEntry(t, f, 11, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: low})
	victim := cpuAlloc(low, node.ID, 3000) // of 4000 MHz
	applyEntry(t, f, 12, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: low, AllocsPlaced: []*structs.Allocation{victim}})
	high := mockJob("high", 1, 100, 64)
	high.Canonicalize()
	place := cpuAlloc(high, node.ID, 2000)

	// The second case commits its result, so it runs last.
	tests := []struct {
		name        string
		preempt     bool
		wantPlaced  map[string][]string
		wantEvicted map[string][]string
		wantRefresh bool
	}{
		{"without eviction the node is refused", false, map[string][]string{}, map[string][]string{}, true},
		{"eviction makes room", true, map[string][]string{node.ID: {place.ID}}, map[string][]string{node.ID: {victim.ID}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := &structs.Plan{EvalID: "e", Job: high}
			plan.AppendAlloc(place)
			if tt.preempt {
				plan.AppendPreemptedAlloc(victim, place.ID)
			}
			snap, err := f.state.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			result, _, err := evaluatePlan(snap, nil, plan)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantPlaced, allocIDs(result.NodeAllocation)); diff != "" {
				t.Errorf("placed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEvicted, allocIDs(result.NodePreemptions)); diff != "" {
				t.Errorf("evicted (-want +got):\n%s", diff)
			}
			if (result.RefreshIndex != 0) != tt.wantRefresh {
				t.Errorf("RefreshIndex = %d, want set: %t", result.RefreshIndex, tt.wantRefresh)
			}
			if !tt.preempt {
				return
			}
			// Committing the result evicts the victim and re-evaluates its job.
			entry := planResultsRequest(plan, result, time.Unix(100, 0))
			if entry.Evals, err = preemptionEvals(snap, result, time.Unix(100, 0)); err != nil {
				t.Fatal(err)
			}
			if len(entry.Evals) != 1 || entry.Evals[0].JobID != "low" || entry.Evals[0].TriggeredBy != structs.EvalTriggerPreemption {
				t.Fatalf("preemption evals = %+v, want one for job low", entry.Evals)
			}
			applyEntry(t, f, 20, structs.ApplyPlanResultsRequestType, entry)
			got, err := f.state.AllocByID(nil, victim.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.DesiredStatus != structs.AllocDesiredStatusEvict || got.PreemptedByAllocation != place.ID || got.DesiredDescription != "Preempted by alloc ID "+place.ID {
				t.Errorf("victim = desired %q by %q (%q)", got.DesiredStatus, got.PreemptedByAllocation, got.DesiredDescription)
			}
		})
	}
}

// TestSchedulerConfigSnapshotRoundTrip checks the scheduler configuration
// survives an FSM snapshot and restore, and a snapshot without one restores
// the defaults (nil).
func TestSchedulerConfigSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		config *structs.SchedulerConfig
	}{
		{"none set", nil},
		{"spread with service preemption", &structs.SchedulerConfig{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread,
			PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestFSM(t)
			applyEntry(t, src, 5, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("n")})
			if tt.config != nil {
				applyEntry(t, src, 6, structs.SchedulerConfigRequestType, &structs.SchedulerSetConfigRequest{Config: *tt.config})
			}
			snap, err := src.state.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := writeSnapshot(snap, &buf); err != nil {
				t.Fatal(err)
			}
			dst := newTestFSM(t)
			if _, err := restoreState(dst.state, &buf); err != nil {
				t.Fatalf("restoreState: %v", err)
			}
			want, _ := src.state.SchedulerConfig()
			got, err := dst.state.SchedulerConfig()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("restored config (-want +got):\n%s", diff)
			}
		})
	}
}
