package server

import (
	"context"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

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
	safety := newEvalDeleteSafety(snap)
	if len(ids) > 0 {
		for _, id := range ids {
			e, err := snap.EvalByID(nil, id)
			if err != nil {
				return nil, err
			}
			if e == nil {
				return nil, structs.NewNotFound("evaluation %q not found (GET /v1/evaluations lists them)", id)
			}
			ok, err := safety.safe(e)
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
			if ok, err = safety.safe(e); err != nil {
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

// evalDeleteReader is what evalDeleteSafety reads of a state snapshot
// (*state.Snapshot; tests count the reads).
type evalDeleteReader interface {
	JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error)
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error)
}

// evalDeleteSafety reports whether deleting an evaluation leaves no
// allocation without its evaluation: its job is gone, stopped or dead, or
// every allocation it placed is stopped or finished. Allocations have no
// index by evaluation, so it reads each job, and the allocations of each
// live job, once for all the evaluations it is asked about: checking E
// evaluations of a job with A allocations reads E + A rows, not E × A.
type evalDeleteSafety struct {
	snap evalDeleteReader
	// live holds, for each job read, the evaluations that placed
	// allocations still live; nil (none) when the job is gone, stopped or
	// dead, so all its evaluations may go.
	live map[evalDeleteJobKey]map[string]bool
}

// evalDeleteJobKey names a job across namespaces.
type evalDeleteJobKey struct{ namespace, id string }

func newEvalDeleteSafety(snap evalDeleteReader) *evalDeleteSafety {
	return &evalDeleteSafety{snap: snap, live: map[evalDeleteJobKey]map[string]bool{}}
}

// safe reports whether e may be deleted (see evalDeleteSafety).
func (d *evalDeleteSafety) safe(e *structs.Evaluation) (bool, error) {
	k := evalDeleteJobKey{e.Namespace, e.JobID}
	live, ok := d.live[k]
	if !ok {
		var err error
		if live, err = d.readJob(e.Namespace, e.JobID); err != nil {
			return false, err
		}
		d.live[k] = live
	}
	return !live[e.ID], nil
}

// readJob returns the job's evaluations that placed allocations still
// live: nil when the job is gone, stopped or dead.
func (d *evalDeleteSafety) readJob(namespace, jobID string) (map[string]bool, error) {
	job, err := d.snap.JobByID(nil, namespace, jobID)
	if err != nil {
		return nil, err
	}
	if job == nil || job.Stop || job.Status == structs.JobStatusDead {
		return nil, nil
	}
	allocs, err := d.snap.AllocsByJob(nil, namespace, jobID, true)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, a := range allocs {
		if !a.TerminalStatus() {
			live[a.EvalID] = true
		}
	}
	return live, nil
}
