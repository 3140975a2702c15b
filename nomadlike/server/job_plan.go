package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// PlanJob dry-runs a job: it validates the job as RegisterJob does, then runs
// the real scheduler against a private fork of the current state in which
// the job is replaced by the submitted one, with a Planner that records the
// plan instead of committing it. Nothing is written to Raft or to the state
// store. The reply carries what the scheduler would do (per-group desired
// updates, placement failures, evaluations it would create), the job's diff
// against the current version when req.Diff is set, and the current
// JobModifyIndex for `job run -check-index`.
func (s *Server) PlanJob(ctx context.Context, req *structs.JobPlanRequest) (*structs.JobPlanResponse, error) {
	if req == nil || req.Job == nil {
		return nil, structs.NewBadRequest("job plan request has no Job: send {\"Job\": {...}, \"Diff\": true}")
	}
	if err := structs.CheckNoNullElements(req.Job, "Job"); err != nil {
		return nil, err
	}
	job := req.Job.Copy()
	job.Canonicalize()
	if err := validateJob(job); err != nil {
		return nil, err
	}
	if err := s.checkNamespace(job.Namespace, job.ID); err != nil {
		return nil, err
	}
	if err := s.checkNodePool(job); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	job.SubmitTime = now.UnixNano()
	job.Status, job.StatusDescription, job.Stable = "", "", false

	base, err := s.state.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("plan job %q: snapshot state: %w", job.ID, err)
	}
	index, err := base.LatestIndex()
	if err != nil {
		return nil, fmt.Errorf("plan job %q: read state index: %w", job.ID, err)
	}
	existing, err := base.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return nil, fmt.Errorf("plan job %q: look up current version: %w", job.ID, err)
	}
	assignScalingPolicyIDs(job, existing) // as register will: no spurious ID diff
	view, planIndex, err := overlayJob(base, index, existing, job)
	if err != nil {
		return nil, fmt.Errorf("plan job %q: %w", job.ID, err)
	}

	eval := jobEval(job, structs.EvalTriggerJobRegister, now)
	eval.JobModifyIndex = planIndex
	rec := &planRecorder{index: index}
	sched, err := s.cfg.newScheduler(eval.Type, s.logger, view, rec, s.newRand(), time.Now)
	if err != nil {
		return nil, err
	}
	if err := sched.Process(eval.Copy()); err != nil {
		return nil, fmt.Errorf("plan job %q: scheduler dry run: %w", job.ID, err)
	}

	resp := &structs.JobPlanResponse{CreatedEvals: rec.created, Index: index, Warnings: warningsText(JobWarnings(job))}
	if existing != nil {
		resp.JobModifyIndex = existing.JobModifyIndex
	}
	if rec.plan != nil && rec.plan.Annotations != nil {
		resp.Annotations = rec.plan.Annotations
	} else {
		desired, err := scheduler.DesiredUpdates(view, eval, now)
		if err != nil {
			return nil, fmt.Errorf("plan job %q: %w", job.ID, err)
		}
		resp.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: desired}
	}
	if rec.updated != nil {
		resp.FailedTGAllocs = rec.updated.FailedTGAllocs
	}
	if req.Diff {
		current := existing
		planned, err := view.JobByID(nil, job.Namespace, job.ID)
		if err != nil || planned == nil {
			planned = job
		}
		diff, err := current.Diff(planned, true)
		if err != nil {
			return nil, fmt.Errorf("plan job %q: %w", job.ID, err)
		}
		scheduler.Annotate(diff, current, planned, resp.Annotations)
		resp.Diff = diff
	}
	return resp, nil
}

// overlayJob returns the state the dry run plans against: base itself when
// the submitted job's spec equals the current version (the scheduler then
// sees nothing to update, as Nomad's plan does), otherwise a private fork
// of base in which job is stored as the next version at index+1. base is
// never changed; the fork's writes reach no other reader.
func overlayJob(base *state.Snapshot, index uint64, existing, job *structs.Job) (scheduler.State, uint64, error) {
	fork := base.Fork()
	planned := job.Copy()
	if err := fork.UpsertJob(index+1, planned); err != nil {
		return nil, 0, fmt.Errorf("overlay the submitted job: %w", err)
	}
	if existing != nil && planned.Version == existing.Version {
		return base, existing.JobModifyIndex, nil
	}
	return fork, planned.JobModifyIndex, nil
}

// planRecorder is the scheduler.Planner of a dry run: it records the plan
// and the evaluations instead of committing them, and reports every plan as
// fully committed. It is used from the one goroutine running the scheduler.
type planRecorder struct {
	index   uint64
	plan    *structs.Plan
	updated *structs.Evaluation
	created []*structs.Evaluation
}

var _ scheduler.Planner = (*planRecorder)(nil)

// SubmitPlan implements scheduler.Planner: everything is "committed".
func (p *planRecorder) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	p.plan = plan
	return &structs.PlanResult{
		NodeUpdate:      plan.NodeUpdate,
		NodeAllocation:  plan.NodeAllocation,
		NodePreemptions: plan.NodePreemptions,
		AllocIndex:      p.index,
	}, nil, nil
}

// UpdateEval implements scheduler.Planner: it keeps the final evaluation.
func (p *planRecorder) UpdateEval(eval *structs.Evaluation) error {
	p.updated = eval.Copy()
	return nil
}

// CreateEval implements scheduler.Planner: it keeps created evaluations.
func (p *planRecorder) CreateEval(eval *structs.Evaluation) error {
	p.created = append(p.created, eval.Copy())
	return nil
}
