package server

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// preemptionEvals returns one pending evaluation (TriggeredBy "preemption")
// for each job whose allocations result evicts, so the scheduler replaces
// them elsewhere or blocks them until capacity returns. Jobs that no longer
// exist get none.
func preemptionEvals(snap *state.Snapshot, result *structs.PlanResult, now time.Time) ([]*structs.Evaluation, error) {
	seen := map[jobKey]bool{}
	var evals []*structs.Evaluation
	for _, nodeID := range sortedKeys(result.NodePreemptions) {
		for _, a := range result.NodePreemptions[nodeID] {
			key := jobKey{a.Namespace, a.JobID}
			if seen[key] {
				continue
			}
			seen[key] = true
			job, err := snap.JobByID(nil, a.Namespace, a.JobID)
			if err != nil {
				return nil, fmt.Errorf("look up job %q of preempted alloc %s: %w", a.JobID, a.ID, err)
			}
			if job == nil {
				continue
			}
			evals = append(evals, &structs.Evaluation{
				ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
				TriggeredBy: structs.EvalTriggerPreemption, JobID: job.ID, Status: structs.EvalStatusPending,
				CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
			})
		}
	}
	return evals, nil
}
