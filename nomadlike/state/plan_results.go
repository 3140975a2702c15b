package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ApplyPlanResults applies an ApplyPlanResultsRequestType entry: it commits
// a plan result in one transaction, so no reader sees the stops without the
// placements, the evictions or the evaluations that came with them.
//
// The plan's deployment is stored first (see upsertDeploymentTxn) and its
// DeploymentUpdates applied, so placements are counted in it. Stopped
// allocations and placements are stored as UpsertAllocs does; a placement
// without a Job gets req.Job (the job version the plan was made for), and
// req.Timestamp becomes the ModifyTime of every allocation and the
// CreateTime of new placements that have none. Each preempted allocation
// that is still live in the store is evicted (DesiredStatus "evict", its
// PreemptedByAllocation and description set); preempted allocations that
// are gone or terminal meanwhile are skipped. req.Job itself is not stored
// (the job was registered by its own entry). The request's objects are not
// kept; its allocations and evaluations get their stored indexes.
func (s *Store) ApplyPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: apply plan results at index %d: request is nil", index)
	}
	var commit func()
	res, err := s.write(index, func(txn *memdb.Txn) error {
		var err error
		commit, err = planResultsTxn(txn, index, req)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	commit()
	return res, nil
}

// ApplyPlanResultsBatch applies an ApplyPlanResultsBatchRequestType entry:
// each plan result as ApplyPlanResults applies it, in order, all in one
// transaction (the plan applier checked each against the ones before it,
// so they commit together or not at all).
func (s *Store) ApplyPlanResultsBatch(index uint64, req *structs.ApplyPlanResultsBatchRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: apply plan results at index %d: request is nil", index)
	}
	commits := make([]func(), 0, len(req.Plans))
	res, err := s.write(index, func(txn *memdb.Txn) error {
		for i, p := range req.Plans {
			if p == nil {
				return structs.NewBadRequest("state: apply plan results at index %d: plan %d is nil", index, i)
			}
			commit, err := planResultsTxn(txn, index, p)
			if err != nil {
				return err
			}
			commits = append(commits, commit)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	for _, c := range commits {
		c()
	}
	return res, nil
}

// planResultsTxn applies one plan result in txn (see ApplyPlanResults). The
// returned func, called once txn is committed, gives the request's
// allocations and evaluations their stored indexes.
func planResultsTxn(txn *memdb.Txn, index uint64, req *structs.ApplyPlanResultsRequest) (func(), error) {
	allocs := make([]*structs.Allocation, 0, len(req.AllocsStopped)+len(req.AllocsPlaced))
	for i, a := range req.AllocsStopped {
		if a == nil {
			return nil, structs.NewBadRequest("state: apply plan results of eval %q: stopped allocation %d is nil", req.EvalID, i)
		}
		c := a.Copy()
		c.ModifyTime = req.Timestamp
		allocs = append(allocs, c)
	}
	for i, a := range req.AllocsPlaced {
		if a == nil {
			return nil, structs.NewBadRequest("state: apply plan results of eval %q: placed allocation %d is nil", req.EvalID, i)
		}
		c := a.Copy()
		if c.Job == nil {
			c.Job = req.Job
		}
		if c.CreateTime == 0 {
			c.CreateTime = req.Timestamp
		}
		c.ModifyTime = req.Timestamp
		allocs = append(allocs, c)
	}
	for i, p := range req.AllocsPreempted {
		if p == nil {
			return nil, structs.NewBadRequest("state: apply plan results of eval %q: preempted allocation %d is nil", req.EvalID, i)
		}
	}
	stored, evals, err := func() ([]*structs.Allocation, []*structs.Evaluation, error) {
		if err := upsertDeploymentTxn(txn, index, req.Deployment); err != nil {
			return nil, nil, err
		}
		if err := applyDeploymentUpdatesTxn(txn, index, req.DeploymentUpdates, req.Timestamp); err != nil {
			return nil, nil, err
		}
		evicted, err := preemptedAllocsTxn(txn, req.AllocsPreempted, req.Timestamp)
		if err != nil {
			return nil, nil, err
		}
		stored, err := upsertAllocsTxn(txn, index, append(allocs, evicted...))
		if err != nil {
			return nil, nil, err
		}
		evals, err := upsertEvalsTxn(txn, index, req.Evals)
		return stored, evals, err
	}()
	if err != nil {
		return nil, fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	return func() {
		copyAllocIndexes(append(append([]*structs.Allocation(nil), req.AllocsStopped...), req.AllocsPlaced...), stored)
		copyEvalIndexes(req.Evals, evals)
	}, nil
}

// preemptedAllocsTxn returns the evicted copies of the preempted
// allocations that are still live in txn, with ModifyTime ts.
func preemptedAllocsTxn(txn *memdb.Txn, preempted []*structs.Allocation, ts int64) ([]*structs.Allocation, error) {
	out := make([]*structs.Allocation, 0, len(preempted))
	for _, p := range preempted {
		cur, err := allocByIDTxn(txn, nil, p.ID)
		if err != nil {
			return nil, fmt.Errorf("look up preempted allocation %s: %w", p.ID, err)
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

// AllocDesiredUpdate applies an AllocDesiredUpdateRequestType entry (alloc
// stop): it sets the desired status and description of existing
// allocations and stores the request's evaluations. req.Timestamp (unix
// nanoseconds) becomes the allocations' ModifyTime. Unknown allocation IDs
// (garbage collected meanwhile) are skipped, as in UpdateAllocsFromClient,
// so that a race never fails a Raft entry. An entry repeating an applied
// request ID (req.Once) changes nothing.
func (s *Store) AllocDesiredUpdate(index uint64, req *structs.AllocDesiredUpdateRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update desired status at index %d: request is nil", index)
	}
	switch req.DesiredStatus {
	case structs.AllocDesiredStatusRun, structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict:
	default:
		return Result{}, structs.NewBadRequest("unknown desired status %q for allocations (use %q, %q or %q)", req.DesiredStatus,
			structs.AllocDesiredStatusRun, structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict)
	}
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		return updateExistingAllocsTxn(txn, index, req.AllocIDs, req.Evals, func(c *structs.Allocation) {
			c.DesiredStatus = req.DesiredStatus
			c.DesiredDescription = req.Description
			c.ModifyTime = req.Timestamp
			if req.NoShutdownDelay {
				yes := true
				c.DesiredTransition.NoShutdownDelay = &yes
			}
		})
	})
}
