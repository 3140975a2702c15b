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

// preemptedAllocs turns the evictions of a plan result into updates of the
// stored allocations: DesiredStatus "evict", the description and the
// evicting allocation, modified at ts. Allocations gone or already terminal
// are skipped (they no longer hold resources), so a race never fails the
// entry. Deterministic: everything comes from the entry and the state.
func (f *fsm) preemptedAllocs(preempted []*structs.Allocation, ts int64) ([]*structs.Allocation, error) {
	out := make([]*structs.Allocation, 0, len(preempted))
	for _, p := range preempted {
		cur, err := f.state.AllocByID(nil, p.ID)
		if err != nil {
			return nil, fmt.Errorf("look up preempted alloc %s: %w", p.ID, err)
		}
		if cur == nil || cur.TerminalStatus() {
			continue
		}
		c := cur.Copy()
		c.DesiredStatus = structs.AllocDesiredStatusEvict
		c.DesiredDescription = p.DesiredDescription
		if c.DesiredDescription == "" {
			c.DesiredDescription = "Preempted by alloc ID " + p.PreemptedByAllocation
		}
		c.PreemptedByAllocation = p.PreemptedByAllocation
		c.ModifyTime = ts
		out = append(out, c)
	}
	return out, nil
}
