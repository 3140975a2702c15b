package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyEvalUpdate upserts evaluations (scheduler updates, blocked evals,
// reaped failures).
func (f *fsm) applyEvalUpdate(buf []byte, index uint64) error {
	var req structs.EvalUpdateRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode eval update request: %w", err)
	}
	return f.upsertEvals(index, req.Evals)
}

// applyEvalDelete removes evaluations and allocations (garbage collection).
func (f *fsm) applyEvalDelete(buf []byte, index uint64) error {
	var req structs.EvalDeleteRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode eval delete request: %w", err)
	}
	if err := f.state.DeleteEvals(index, req.Evals, req.Allocs); err != nil {
		return fmt.Errorf("delete %d evals and %d allocs: %w", len(req.Evals), len(req.Allocs), err)
	}
	return nil
}

// upsertEvals stores evals and tells the leader's components: pending evals
// go to the broker, blocked ones to the blocked tracker, and a successful
// complete eval releases the job's blocked eval.
func (f *fsm) upsertEvals(index uint64, evals []*structs.Evaluation) error {
	if len(evals) == 0 {
		return nil
	}
	if err := f.state.UpsertEvals(index, evals); err != nil {
		return fmt.Errorf("upsert %d evals: %w", len(evals), err)
	}
	// UpsertEvals filled in the indexes of evals, which were decoded from
	// this entry and are not shared with the store.
	for _, stored := range evals {
		switch {
		case stored.Status == structs.EvalStatusPending:
			f.broker.enqueue(stored)
		case stored.Status == structs.EvalStatusBlocked:
			f.blocked.block(stored)
		case stored.Status == structs.EvalStatusComplete && len(stored.FailedTGAllocs) == 0:
			f.blocked.untrack(stored.Namespace, stored.JobID)
		}
	}
	return nil
}
