package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyNodeDrain starts, changes or ends a node drain, with the
// evaluations that follow. Ending a drain that makes the node eligible is
// new capacity, which releases blocked evaluations.
func (f *fsm) applyNodeDrain(buf []byte, index uint64) error {
	var req structs.NodeUpdateDrainRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode node drain update: %w", err)
	}
	if err := f.state.SetNodeDrainStrategy(index, req.NodeID, req.DrainStrategy, req.MarkEligible, req.UpdatedAt, req.Event, req.Evals); err != nil {
		return fmt.Errorf("update drain of node %s: %w", req.NodeID, err)
	}
	f.notifyEvals(req.Evals)
	if req.DrainStrategy == nil && req.MarkEligible {
		f.blocked.unblock(index)
	}
	return nil
}

// applyNodeEligibility sets a node's scheduling eligibility, with the
// evaluations that follow; an eligible node is new capacity.
func (f *fsm) applyNodeEligibility(buf []byte, index uint64) error {
	var req structs.NodeUpdateEligibilityRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode node eligibility update: %w", err)
	}
	if err := f.state.SetNodeEligibility(index, req.NodeID, req.Eligibility, req.UpdatedAt, req.Event, req.Evals); err != nil {
		return fmt.Errorf("set eligibility of node %s: %w", req.NodeID, err)
	}
	f.notifyEvals(req.Evals)
	if req.Eligibility == structs.NodeSchedulingEligible {
		f.blocked.unblock(index)
	}
	return nil
}

// applyAllocDesiredTransitions stores the drainer's migration marks and
// the evaluations that act on them.
func (f *fsm) applyAllocDesiredTransitions(buf []byte, index uint64) error {
	var req structs.AllocUpdateDesiredTransitionRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode alloc desired transitions: %w", err)
	}
	if err := f.state.UpdateAllocsDesiredTransitions(index, req.Allocs, req.Evals, req.Timestamp); err != nil {
		return fmt.Errorf("mark %d allocs for migration: %w", len(req.Allocs), err)
	}
	f.notifyEvals(req.Evals)
	return nil
}

// notifyEvals hands evaluations stored by another write to the leader's
// broker (pending) or blocked tracker (blocked), as upsertEvals does.
func (f *fsm) notifyEvals(evals []*structs.Evaluation) {
	for _, e := range evals {
		switch e.Status {
		case structs.EvalStatusPending:
			f.broker.enqueue(e)
		case structs.EvalStatusBlocked:
			f.blocked.block(e)
		}
	}
}
