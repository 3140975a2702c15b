package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodePurgeResponse is the reply of PUT /v1/node/{id}/purge (Nomad's).
type NodePurgeResponse struct {
	EvalIDs         []string
	EvalCreateIndex uint64
	NodeModifyIndex uint64
	Index           uint64
}

// PurgeNode removes a node from the state (`node purge`), with, in the same
// Raft entry, an evaluation of every job that had live allocations on it
// (they are lost and replaced) and of every system job.
func (s *Server) PurgeNode(ctx context.Context, nodeID string) (*NodePurgeResponse, error) {
	node, err := s.state.NodeByID(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("purge node %s: %w", nodeID, err)
	}
	if node == nil {
		return nil, structs.NewNotFound("node %q not found (IDs are full UUIDs; GET /v1/nodes lists them)", nodeID)
	}
	allocs, err := s.state.AllocsByNode(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("purge node %s: %w", nodeID, err)
	}
	now := time.Now()
	seen := map[jobKey]bool{}
	var evals []*structs.Evaluation
	for _, a := range allocs {
		key := jobKey{a.Namespace, a.JobID}
		if a.TerminalStatus() || seen[key] {
			continue
		}
		seen[key] = true
		job, err := s.state.JobByID(nil, a.Namespace, a.JobID)
		if err != nil {
			return nil, fmt.Errorf("purge node %s: %w", nodeID, err)
		}
		if job == nil {
			job = a.Job
		}
		if job != nil {
			evals = append(evals, nodeUpdateEval(job, node, now))
		}
	}
	if evals, err = s.appendSystemJobEvals(evals, seen, node, now); err != nil {
		return nil, err
	}
	req := &structs.NodeDeregisterRequest{NodeIDs: []string{nodeID}, Timestamp: now.UnixNano(), Evals: evals}
	index, err := s.raftApply(ctx, structs.NodeDeregisterRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("purge node %s: %w", nodeID, err)
	}
	resp := &NodePurgeResponse{EvalIDs: []string{}, NodeModifyIndex: index, Index: index}
	for _, e := range evals {
		resp.EvalIDs = append(resp.EvalIDs, e.ID)
	}
	if len(evals) > 0 {
		resp.EvalCreateIndex = index
	}
	return resp, nil
}
