package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateAllocsFromClient records the client-side status of a node's
// allocations. An allocation that becomes failed gets an "alloc-failure"
// evaluation of its job, so the scheduler reschedules it. It returns the
// index of the write.
func (s *Server) UpdateAllocsFromClient(ctx context.Context, nodeID, secretID string, allocs []*structs.Allocation) (uint64, error) {
	if _, err := s.authNode(nodeID, secretID); err != nil {
		return 0, err
	}
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return 0, err
		}
		return rec.Index, nil
	}
	if len(allocs) == 0 {
		return s.state.Index("allocs")
	}
	now := time.Now()
	var updates []*structs.Allocation
	var evals []*structs.Evaluation
	evalFor := map[jobKey]bool{}
	for i, a := range allocs {
		if a == nil || a.ID == "" {
			return 0, structs.NewBadRequest("allocation update %d of %d has no ID", i, len(allocs))
		}
		cur, err := s.state.AllocByID(nil, a.ID)
		if err != nil {
			return 0, fmt.Errorf("look up alloc %s: %w", a.ID, err)
		}
		if cur == nil {
			// Garbage collected on the servers; the client forgets it.
			s.logger.Debug("client updated an unknown allocation; ignoring it", "node_id", nodeID, "alloc_id", a.ID)
			continue
		}
		if cur.NodeID != nodeID {
			return 0, &structs.CodedError{
				Code: http.StatusForbidden,
				Msg:  fmt.Sprintf("allocation %s belongs to node %s, not to node %s that reported it", structs.ShortID(a.ID), structs.ShortID(cur.NodeID), structs.ShortID(nodeID)),
				Err:  structs.ErrPermissionDenied,
			}
		}
		u := &structs.Allocation{
			ID: a.ID, NodeID: nodeID, Namespace: cur.Namespace, JobID: cur.JobID, TaskGroup: cur.TaskGroup,
			ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription, TaskStates: a.TaskStates,
			DesiredStatus: cur.DesiredStatus, DeploymentStatus: a.DeploymentStatus, NetworkStatus: a.NetworkStatus,
		}
		updates = append(updates, u)
		key := jobKey{cur.Namespace, cur.JobID}
		if a.ClientStatus == structs.AllocClientStatusFailed && cur.ClientStatus != structs.AllocClientStatusFailed &&
			cur.DesiredStatus == structs.AllocDesiredStatusRun && !evalFor[key] {
			evalFor[key] = true
			job := cur.Job
			if j, err := s.state.JobByID(nil, cur.Namespace, cur.JobID); err == nil && j != nil {
				job = j
			}
			if job == nil {
				continue
			}
			evals = append(evals, &structs.Evaluation{
				ID: structs.GenerateUUID(), Namespace: cur.Namespace, Priority: job.Priority, Type: job.Type,
				TriggeredBy: structs.EvalTriggerRetryFailedAlloc, JobID: cur.JobID, Status: structs.EvalStatusPending,
				CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
			})
		}
	}
	if len(updates) == 0 {
		return s.state.Index("allocs")
	}
	if !s.IsLeader() {
		return 0, s.notLeaderError()
	}
	// Committed with other requests' updates in one Raft entry (alloc_update_batch.go).
	req := &structs.AllocClientUpdateRequest{Allocs: updates, Evals: evals, Timestamp: now.UnixNano(), Once: s.writeOnceOf(ctx)}
	index, err := s.addAllocUpdates(req).wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("update %d allocations of node %s: %w", len(updates), structs.ShortID(nodeID), err)
	}
	if req.Once.RequestID == "" {
		return index, nil
	}
	// As raftApplyOnce: a retry that raced with its first attempt answers
	// with the first apply; an ID another request used is a 422.
	rec, err := s.state.WriteRecord(req.Once.RequestID)
	if err != nil {
		return index, fmt.Errorf("look up request ID %q: %w", req.Once.RequestID, err)
	}
	if rec != nil && rec.Fingerprint != req.Once.Fingerprint {
		return 0, structs.ReusedRequestIDError(rec)
	}
	if rec != nil {
		return rec.Index, nil
	}
	return index, nil
}

// StopAlloc stops one allocation and creates an evaluation of its job, so
// the scheduler replaces it.
func (s *Server) StopAlloc(ctx context.Context, allocID string) (string, uint64, error) {
	return s.StopAllocOpts(ctx, allocID, false)
}

// StopAllocOpts is StopAlloc; noShutdownDelay has the client stop the
// allocation without its shutdown_delay (alloc stop -no-shutdown-delay).
func (s *Server) StopAllocOpts(ctx context.Context, allocID string, noShutdownDelay bool) (string, uint64, error) {
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return "", 0, err
		}
		return rec.EvalID, rec.Index, nil
	}
	alloc, err := s.state.AllocByID(nil, allocID)
	if err != nil {
		return "", 0, fmt.Errorf("stop alloc %s: %w", allocID, err)
	}
	if alloc == nil {
		return "", 0, structs.NewNotFound("allocation %s not found (GET /v1/allocations lists them)", allocID)
	}
	job := alloc.Job
	if j, err := s.state.JobByID(nil, alloc.Namespace, alloc.JobID); err == nil && j != nil {
		job = j
	}
	now := time.Now()
	eval := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: alloc.Namespace, Priority: structs.DefaultPriority, Type: structs.JobTypeService,
		TriggeredBy: structs.EvalTriggerAllocStop, JobID: alloc.JobID, Status: structs.EvalStatusPending,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
	if job != nil {
		eval.Priority, eval.Type = job.Priority, job.Type
	}
	if !alloc.TerminalStatus() && eval.Type != structs.JobTypeSystem && eval.Type != structs.JobTypeSysBatch {
		// As Nomad does: the allocation is marked for migration and the
		// scheduler stops it and places its replacement, linked to it.
		migrate := true
		tr := &structs.DesiredTransition{Migrate: &migrate}
		if noShutdownDelay {
			tr.NoShutdownDelay = &noShutdownDelay
		}
		req := &structs.AllocUpdateDesiredTransitionRequest{
			Allocs: map[string]*structs.DesiredTransition{alloc.ID: tr},
			Evals:  []*structs.Evaluation{eval}, Timestamp: now.UnixNano(), Once: s.writeOnceOf(ctx),
		}
		return s.stopAllocApply(ctx, allocID, structs.AllocUpdateDesiredTransitionRequestType, req, req.Once, eval.ID)
	}
	req := &structs.AllocDesiredUpdateRequest{
		AllocIDs: []string{alloc.ID}, DesiredStatus: structs.AllocDesiredStatusStop,
		Description: "alloc was stopped by a user", Evals: []*structs.Evaluation{eval}, Timestamp: now.UnixNano(),
		NoShutdownDelay: noShutdownDelay, Once: s.writeOnceOf(ctx),
	}
	return s.stopAllocApply(ctx, allocID, structs.AllocDesiredUpdateRequestType, req, req.Once, eval.ID)
}

// stopAllocApply writes an alloc stop entry and answers with its
// evaluation, or the first one's when the entry repeated an applied write.
func (s *Server) stopAllocApply(ctx context.Context, allocID string, t structs.MessageType, req any, once structs.WriteOnce, evalID string) (string, uint64, error) {
	index, repeat, err := s.raftApplyOnce(ctx, t, req, once)
	if err != nil {
		return "", 0, fmt.Errorf("stop alloc %s: %w", allocID, err)
	}
	if repeat != nil {
		return repeat.EvalID, repeat.Index, nil
	}
	return evalID, index, nil
}
