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
	allocs := make([]*structs.Allocation, 0, len(req.AllocsStopped)+len(req.AllocsPlaced))
	for i, a := range req.AllocsStopped {
		if a == nil {
			return Result{}, structs.NewBadRequest("state: apply plan results of eval %q: stopped allocation %d is nil", req.EvalID, i)
		}
		c := a.Copy()
		c.ModifyTime = req.Timestamp
		allocs = append(allocs, c)
	}
	for i, a := range req.AllocsPlaced {
		if a == nil {
			return Result{}, structs.NewBadRequest("state: apply plan results of eval %q: placed allocation %d is nil", req.EvalID, i)
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
			return Result{}, structs.NewBadRequest("state: apply plan results of eval %q: preempted allocation %d is nil", req.EvalID, i)
		}
	}
	var stored []*structs.Allocation
	var evals []*structs.Evaluation
	res, err := s.write(index, func(txn *memdb.Txn) error {
		if err := upsertDeploymentTxn(txn, index, req.Deployment); err != nil {
			return err
		}
		if err := applyDeploymentUpdatesTxn(txn, index, req.DeploymentUpdates, req.Timestamp); err != nil {
			return err
		}
		evicted, err := preemptedAllocsTxn(txn, req.AllocsPreempted, req.Timestamp)
		if err != nil {
			return err
		}
		if stored, err = upsertAllocsTxn(txn, index, append(allocs, evicted...)); err != nil {
			return err
		}
		evals, err = upsertEvalsTxn(txn, index, req.Evals)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	copyAllocIndexes(append(append([]*structs.Allocation(nil), req.AllocsStopped...), req.AllocsPlaced...), stored)
	copyEvalIndexes(req.Evals, evals)
	return res, nil
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
