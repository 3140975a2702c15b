package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// EvaluateJob creates an evaluation of a job's current version (`job eval`,
// PUT /v1/job/{id}/evaluate); with forceReschedule its failed allocations
// are marked to be replaced now, in the same Raft entry. A periodic or
// parameterized job is a 400, as in Nomad: it is never evaluated itself.
func (s *Server) EvaluateJob(ctx context.Context, namespace, jobID string, forceReschedule bool) (*structs.JobRegisterResponse, error) {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return registerReply(rec, ""), nil
	}
	job, err := s.currentJob(namespace, jobID, "evaluate job")
	if err != nil {
		return nil, err
	}
	if job.IsTemplate() {
		return nil, structs.NewBadRequest("can't evaluate job %q: it is periodic or parameterized; launch it with PUT /v1/job/%s/periodic/force or PUT /v1/job/%s/dispatch", jobID, jobID, jobID)
	}
	now := time.Now()
	eval := jobEval(job, structs.EvalTriggerJobRegister, now)
	eval.JobModifyIndex = job.JobModifyIndex
	req := &structs.AllocUpdateDesiredTransitionRequest{Allocs: map[string]*structs.DesiredTransition{},
		Evals: []*structs.Evaluation{eval}, Timestamp: now.UnixNano(), Once: s.writeOnceOf(ctx)}
	if forceReschedule {
		allocs, err := s.state.AllocsByJob(nil, namespace, jobID, true)
		if err != nil {
			return nil, fmt.Errorf("evaluate job %q: %w", jobID, err)
		}
		force := true
		for _, a := range allocs {
			if a.ClientStatus == structs.AllocClientStatusFailed && a.DesiredStatus == structs.AllocDesiredStatusRun && a.NextAllocation == "" {
				req.Allocs[a.ID] = &structs.DesiredTransition{ForceReschedule: &force}
			}
		}
	}
	index, repeat, err := s.raftApplyOnce(ctx, structs.AllocUpdateDesiredTransitionRequestType, req, req.Once)
	if err != nil {
		return nil, fmt.Errorf("evaluate job %q: %w", jobID, err)
	}
	if repeat != nil {
		return registerReply(repeat, ""), nil
	}
	return &structs.JobRegisterResponse{EvalID: eval.ID, EvalCreateIndex: index, JobModifyIndex: job.JobModifyIndex, Index: index}, nil
}
