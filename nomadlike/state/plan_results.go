package state

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertPlanResults commits a plan result in one transaction, so no reader
// sees the stops without the placements or the evaluations that came with
// them. The plan's deployment is stored first (see upsertDeploymentTxn) and
// its DeploymentUpdates applied, so placements are counted in it. Stopped
// allocations and placements are stored as UpsertAllocs does;
// a placement without a Job gets req.Job (the job version the plan was made
// for), and req.Timestamp becomes the ModifyTime of every allocation and the
// CreateTime of new placements that have none. req.Job itself is not stored
// (the job was registered by its own entry). The request's objects are not
// kept or changed except for the indexes UpsertAllocs and UpsertEvals write back.
func (s *Store) UpsertPlanResults(index uint64, req *structs.ApplyPlanResultsRequest) error {
	if req == nil {
		return structs.NewBadRequest("state: apply plan results at index %d: request is nil", index)
	}
	allocs := make([]*structs.Allocation, 0, len(req.AllocsStopped)+len(req.AllocsPlaced))
	for i, a := range req.AllocsStopped {
		if a == nil {
			return structs.NewBadRequest("state: apply plan results of eval %q: stopped allocation %d is nil", req.EvalID, i)
		}
		c := a.Copy()
		c.ModifyTime = req.Timestamp
		allocs = append(allocs, c)
	}
	for i, a := range req.AllocsPlaced {
		if a == nil {
			return structs.NewBadRequest("state: apply plan results of eval %q: placed allocation %d is nil", req.EvalID, i)
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

	txn := s.writeTxn()
	defer txn.Abort()
	if err := upsertDeploymentTxn(txn, index, req.Deployment); err != nil {
		return fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	if err := applyDeploymentUpdatesTxn(txn, index, req.DeploymentUpdates, req.Timestamp); err != nil {
		return fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	stored, err := upsertAllocsTxn(txn, index, allocs)
	if err != nil {
		return fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	storedEvals, err := upsertEvalsTxn(txn, index, req.Evals)
	if err != nil {
		return fmt.Errorf("apply plan results of eval %q: %w", req.EvalID, err)
	}
	txn.Commit()

	copyAllocIndexes(append(append([]*structs.Allocation(nil), req.AllocsStopped...), req.AllocsPlaced...), stored)
	copyEvalIndexes(req.Evals, storedEvals)
	return nil
}

// UpdateAllocsDesiredStatus sets the desired status and description of
// existing allocations (alloc stop) and stores evals, in one transaction.
// req.Timestamp (unix nanoseconds) becomes the allocations' ModifyTime.
// Unknown allocation IDs (garbage collected meanwhile) are skipped, as in
// UpdateAllocsFromClient, so that a race never fails a Raft entry.
func (s *Store) UpdateAllocsDesiredStatus(index uint64, req *structs.AllocDesiredUpdateRequest) error {
	if req == nil {
		return structs.NewBadRequest("state: update desired status at index %d: request is nil", index)
	}
	switch req.DesiredStatus {
	case structs.AllocDesiredStatusRun, structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict:
	default:
		return structs.NewBadRequest("unknown desired status %q for allocations (use %q, %q or %q)", req.DesiredStatus,
			structs.AllocDesiredStatusRun, structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict)
	}
	txn := s.writeTxn()
	defer txn.Abort()
	allocs := make([]*structs.Allocation, 0, len(req.AllocIDs))
	for _, id := range req.AllocIDs {
		existing, err := allocByIDTxn(txn, nil, id)
		if err != nil {
			return err
		}
		if existing == nil {
			continue
		}
		c := existing.Copy()
		c.DesiredStatus = req.DesiredStatus
		c.DesiredDescription = req.Description
		c.ModifyTime = req.Timestamp
		allocs = append(allocs, c)
	}
	if _, err := upsertAllocsTxn(txn, index, allocs); err != nil {
		return err
	}
	storedEvals, err := upsertEvalsTxn(txn, index, req.Evals)
	if err != nil {
		return err
	}
	txn.Commit()
	for i, e := range req.Evals {
		e.Namespace, e.CreateIndex, e.ModifyIndex = storedEvals[i].Namespace, storedEvals[i].CreateIndex, storedEvals[i].ModifyIndex
	}
	return nil
}
