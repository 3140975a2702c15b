package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateNodeDrain starts (DrainSpec set), changes or ends (DrainSpec nil) a
// node's drain. Starting marks the node ineligible; the leader's drainer
// then migrates its allocations. Ending leaves it ineligible unless
// MarkEligible. Every system and sysbatch job gets a node-update evaluation
// in the same Raft entry.
func (s *Server) UpdateNodeDrain(ctx context.Context, req *structs.NodeUpdateDrainRequest) (*structs.NodeDrainUpdateResponse, error) {
	if req == nil || req.NodeID == "" {
		return nil, structs.NewBadRequest("node drain request has no NodeID")
	}
	node, err := s.state.NodeByID(nil, req.NodeID)
	if err != nil {
		return nil, fmt.Errorf("drain node %s: %w", req.NodeID, err)
	}
	if node == nil {
		return nil, structs.NewNotFound("node %q not found (GET /v1/nodes lists them)", req.NodeID)
	}
	now := time.Now()
	entry := &structs.NodeUpdateDrainRequest{NodeID: req.NodeID, MarkEligible: req.MarkEligible, Meta: req.Meta, UpdatedAt: now.Unix(), AccessorID: req.AccessorID}
	event := &structs.NodeEvent{Subsystem: "Drain", Timestamp: now, Details: req.Meta}
	if req.DrainSpec != nil {
		entry.DrainStrategy = structs.NewDrainStrategy(*req.DrainSpec, now)
		if node.DrainStrategy != nil {
			// Changing a drain keeps when it started.
			entry.DrainStrategy.StartedAt = node.DrainStrategy.StartedAt
		}
		event.Message = structs.NodeEventDrainStarted
	} else {
		if !node.Drain && !req.MarkEligible {
			return nil, structs.NewBadRequest("node %s is not draining; nothing to disable (PUT /v1/node/%s/eligibility makes it eligible)", structs.ShortID(node.ID), structs.ShortID(node.ID))
		}
		event.Message = structs.NodeEventDrainStopped
	}
	entry.Event = event
	if entry.Evals, err = s.systemJobEvals(node, now); err != nil {
		return nil, fmt.Errorf("drain node %s: %w", req.NodeID, err)
	}
	index, err := s.raftApply(ctx, structs.NodeUpdateDrainRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("drain node %s: %w", req.NodeID, err)
	}
	return &structs.NodeDrainUpdateResponse{NodeModifyIndex: index, EvalIDs: evalIDs(entry.Evals), EvalCreateIndex: index, Index: index}, nil
}

// UpdateNodeEligibility marks a node eligible or ineligible for new
// placements; its allocations keep running. A draining node cannot be made
// eligible (400). Every system and sysbatch job gets a node-update evaluation.
func (s *Server) UpdateNodeEligibility(ctx context.Context, req *structs.NodeUpdateEligibilityRequest) (*structs.NodeEligibilityUpdateResponse, error) {
	if req == nil || req.NodeID == "" {
		return nil, structs.NewBadRequest("node eligibility request has no NodeID")
	}
	switch req.Eligibility {
	case structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible:
	default:
		return nil, structs.NewBadRequest("unknown scheduling eligibility %q (use %q or %q)", req.Eligibility, structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible)
	}
	node, err := s.state.NodeByID(nil, req.NodeID)
	if err != nil {
		return nil, fmt.Errorf("set eligibility of node %s: %w", req.NodeID, err)
	}
	if node == nil {
		return nil, structs.NewNotFound("node %q not found (GET /v1/nodes lists them)", req.NodeID)
	}
	if node.Drain && req.Eligibility == structs.NodeSchedulingEligible {
		return nil, structs.NewBadRequest("node %s is draining and cannot be made eligible; end the drain first (PUT /v1/node/%s/drain without a DrainSpec)", structs.ShortID(node.ID), structs.ShortID(node.ID))
	}
	now := time.Now()
	msg := structs.NodeEventEligible
	if req.Eligibility == structs.NodeSchedulingIneligible {
		msg = structs.NodeEventIneligible
	}
	entry := &structs.NodeUpdateEligibilityRequest{NodeID: req.NodeID, Eligibility: req.Eligibility, UpdatedAt: now.Unix(),
		Event: &structs.NodeEvent{Message: msg, Subsystem: "Cluster", Timestamp: now}}
	if entry.Evals, err = s.systemJobEvals(node, now); err != nil {
		return nil, fmt.Errorf("set eligibility of node %s: %w", req.NodeID, err)
	}
	index, err := s.raftApply(ctx, structs.NodeUpdateEligibilityRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("set eligibility of node %s: %w", req.NodeID, err)
	}
	return &structs.NodeEligibilityUpdateResponse{NodeModifyIndex: index, EvalIDs: evalIDs(entry.Evals), EvalCreateIndex: index, Index: index}, nil
}

// systemJobEvals returns a node-update evaluation of every system and
// sysbatch job for node.
func (s *Server) systemJobEvals(node *structs.Node, now time.Time) ([]*structs.Evaluation, error) {
	return s.appendSystemJobEvals(nil, map[jobKey]bool{}, node, now)
}

func evalIDs(evals []*structs.Evaluation) []string {
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	return ids
}
