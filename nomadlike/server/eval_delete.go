package server

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// MaxEvalDeleteIDs is how many evaluation IDs one DELETE /v1/evaluations may
// name (Nomad's limit of UUIDs per write request).
const MaxEvalDeleteIDs = 7281

// evalDeleteBatch is how many evaluations one Raft entry deletes when
// deleting by filter, so one entry never holds the FSM for long.
const evalDeleteBatch = 728

// DeleteEvals deletes evaluations at an operator's request (DELETE
// /v1/evaluations, `eval delete`): the ones named by ids, or, when ids is
// empty, every one match selects. As in Nomad it is allowed only while the
// operator has paused the eval broker (scheduler configuration
// PauseEvalBroker), and only evaluations whose job is gone, stopped or dead,
// or whose allocations are all stopped, are deleted: a named one that is not
// is refused, a matched one skipped. match must not be nil when ids is
// empty; an error from it is the caller's (a 400 for a bad filter).
func (s *Server) DeleteEvals(ctx context.Context, ids []string, match func(*structs.Evaluation) (bool, error)) (*structs.EvalDeleteResponse, error) {
	switch {
	case len(ids) > 0 && match != nil:
		return nil, structs.NewBadRequest("evals cannot be deleted by both ID and filter: send EvalIDs or Filter, not both")
	case len(ids) == 0 && match == nil:
		return nil, structs.NewBadRequest("evals must be deleted by either ID or filter: send {\"EvalIDs\": [...]} or {\"Filter\": \"<expression>\"}")
	case len(ids) > MaxEvalDeleteIDs:
		return nil, structs.NewBadRequest("request includes %d evaluation IDs, must be %d or fewer; delete them in several requests", len(ids), MaxEvalDeleteIDs)
	}
	if !s.broker.isPaused() {
		return nil, structs.NewBadRequest("eval broker is enabled; eval broker must be paused to delete evals (PUT /v1/operator/scheduler/configuration with PauseEvalBroker = true, and false again afterwards)")
	}
	snap, err := s.state.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("delete evaluations: %w", err)
	}
	var doomed []string
	if len(ids) > 0 {
		for _, id := range ids {
			e, err := snap.EvalByID(nil, id)
			if err != nil {
				return nil, err
			}
			if e == nil {
				return nil, structs.NewNotFound("evaluation %q not found (GET /v1/evaluations lists them)", id)
			}
			ok, err := evalDeleteSafe(snap, e)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, structs.NewBadRequest("eval %s is not safe to delete: job %q still has allocations it placed that are not stopped; stop the job first", id, e.JobID)
			}
			doomed = append(doomed, id)
		}
	} else {
		evals, err := snap.Evals(nil, "*")
		if err != nil {
			return nil, err
		}
		for _, e := range evals {
			ok, err := match(e)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if ok, err = evalDeleteSafe(snap, e); err != nil {
				return nil, err
			} else if ok {
				doomed = append(doomed, e.ID)
			}
		}
	}
	resp := &structs.EvalDeleteResponse{}
	for start := 0; start < len(doomed); start += evalDeleteBatch {
		batch := doomed[start:min(start+evalDeleteBatch, len(doomed))]
		index, err := s.raftApply(ctx, structs.EvalDeleteRequestType, &structs.EvalDeleteRequest{Evals: batch})
		if err != nil {
			return resp, fmt.Errorf("delete evaluations (%d of %d deleted): %w", resp.Count, len(doomed), err)
		}
		resp.Count += len(batch)
		resp.Index = index
	}
	return resp, nil
}

// evalDeleteSafe reports whether deleting e leaves no allocation without
// its evaluation: its job is gone, stopped or dead, or every allocation it
// placed is stopped or finished.
func evalDeleteSafe(snap *state.Snapshot, e *structs.Evaluation) (bool, error) {
	job, err := snap.JobByID(nil, e.Namespace, e.JobID)
	if err != nil {
		return false, err
	}
	if job == nil || job.Stop || job.Status == structs.JobStatusDead {
		return true, nil
	}
	allocs, err := snap.AllocsByEval(nil, e.ID)
	if err != nil {
		return false, err
	}
	for _, a := range allocs {
		if !a.TerminalStatus() {
			return false, nil
		}
	}
	return true, nil
}
