package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyPlanResults commits a plan: stopped and placed allocations (placements
// without a job get the plan's job) and the evaluations created with it.
func (f *fsm) applyPlanResults(buf []byte, index uint64) error {
	var req structs.ApplyPlanResultsRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode plan results: %w", err)
	}
	allocs := make([]*structs.Allocation, 0, len(req.AllocsStopped)+len(req.AllocsPlaced))
	for _, a := range req.AllocsStopped {
		a.ModifyTime = req.Timestamp
		allocs = append(allocs, a)
	}
	for _, a := range req.AllocsPlaced {
		if a.Job == nil {
			a.Job = req.Job
		}
		if a.CreateTime == 0 {
			a.CreateTime = req.Timestamp
		}
		a.ModifyTime = req.Timestamp
		allocs = append(allocs, a)
	}
	evicted, err := f.preemptedAllocs(req.AllocsPreempted, req.Timestamp)
	if err != nil {
		return fmt.Errorf("plan for eval %s: %w", req.EvalID, err)
	}
	allocs = append(allocs, evicted...)
	freed := f.becomeTerminal(allocs)
	if err := f.state.UpsertPlanAllocs(index, allocs, req.Deployment, req.DeploymentUpdates, req.Timestamp); err != nil {
		return fmt.Errorf("upsert %d allocs of plan for eval %s: %w", len(allocs), req.EvalID, err)
	}
	if err := f.upsertEvals(index, req.Evals); err != nil {
		return err
	}
	if freed {
		f.blocked.unblock(index)
	}
	return nil
}

// applyAllocClientUpdate records the client's view of allocations and the
// evaluations their failures call for.
func (f *fsm) applyAllocClientUpdate(buf []byte, index uint64) error {
	var req structs.AllocClientUpdateRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode alloc client update: %w", err)
	}
	for _, a := range req.Allocs {
		a.ModifyTime = req.Timestamp
	}
	freed := f.becomeTerminal(req.Allocs)
	if err := f.state.UpdateAllocsFromClient(index, req.Allocs); err != nil {
		return fmt.Errorf("update %d allocs from client: %w", len(req.Allocs), err)
	}
	if err := f.upsertEvals(index, req.Evals); err != nil {
		return err
	}
	if freed {
		f.blocked.unblock(index)
	}
	return nil
}

// applyAllocDesiredUpdate changes the desired status of allocations (alloc stop).
func (f *fsm) applyAllocDesiredUpdate(buf []byte, index uint64) error {
	var req structs.AllocDesiredUpdateRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode alloc desired update: %w", err)
	}
	var updates []*structs.Allocation
	for _, id := range req.AllocIDs {
		cur, err := f.state.AllocByID(nil, id)
		if err != nil {
			return fmt.Errorf("look up alloc %s: %w", id, err)
		}
		if cur == nil {
			continue
		}
		n := cur.Copy()
		n.DesiredStatus = req.DesiredStatus
		n.DesiredDescription = req.Description
		n.ModifyTime = req.Timestamp
		updates = append(updates, n)
	}
	freed := f.becomeTerminal(updates)
	if err := f.state.UpsertAllocs(index, updates); err != nil {
		return fmt.Errorf("update desired status of %d allocs: %w", len(updates), err)
	}
	if err := f.upsertEvals(index, req.Evals); err != nil {
		return err
	}
	if freed {
		f.blocked.unblock(index)
	}
	return nil
}

// becomeTerminal reports whether any of updates turns a live allocation in
// the state into a terminal one (which frees capacity).
func (f *fsm) becomeTerminal(updates []*structs.Allocation) bool {
	for _, u := range updates {
		if !u.TerminalStatus() {
			continue
		}
		cur, err := f.state.AllocByID(nil, u.ID)
		if err != nil || cur == nil || !cur.TerminalStatus() {
			return true
		}
	}
	return false
}
