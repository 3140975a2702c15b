package scheduler_test

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestBlockedSystemEvalRetried checks a blocked evaluation of a system job
// being retried: it stays blocked only while something is queued.
func TestBlockedSystemEvalRetried(t *testing.T) {
	tests := []struct {
		name        string
		driver      string
		memMB       int64 // of the second node
		wantStatus  string
		wantQueued  int
		wantCreated int
	}{
		{name: "nothing matches: completes", driver: "qemu", memMB: 8192, wantStatus: structs.EvalStatusComplete},
		{name: "no room on a node: stays blocked", driver: "raw_exec", memMB: 32, wantStatus: structs.EvalStatusBlocked, wantQueued: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(2, func(i int, n *structs.Node) {
				if i == 1 {
					n.NodeResources.Memory.MemoryMB = tt.memMB
				}
			})
			job := systemJob(structs.JobTypeSystem)
			job.TaskGroups[0].Tasks[0].Driver = tt.driver
			h.State.UpsertJob(job)
			eval := schedtest.Eval(job)
			eval.Status = structs.EvalStatusBlocked
			eval.TriggeredBy = structs.EvalTriggerQueuedAllocs
			h.State.UpsertEval(eval.Copy())
			if err := h.Process(eval); err != nil {
				t.Fatalf("process: %v", err)
			}
			got := h.LastEval()
			if got.Status != tt.wantStatus || got.QueuedAllocations["web"] != tt.wantQueued || len(h.Created) != tt.wantCreated {
				t.Errorf("got status %q queued %v, %d evals created; want %q, %d queued, %d created",
					got.Status, got.QueuedAllocations, len(h.Created), tt.wantStatus, tt.wantQueued, tt.wantCreated)
			}
		})
	}
}
