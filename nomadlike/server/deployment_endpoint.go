package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// activeDeployment looks up a deployment for a write endpoint: an error
// wrapping structs.ErrNotFound when it does not exist, a 400 naming what to
// do when it is no longer active (action: what the caller tried, as a noun).
func (s *Server) activeDeployment(id, action string) (*structs.Deployment, error) {
	if id == "" {
		return nil, structs.NewBadRequest("no DeploymentID given for %s: name the deployment (GET /v1/deployments lists them)", action)
	}
	d, err := s.state.DeploymentByID(nil, id)
	if err != nil {
		return nil, fmt.Errorf("look up deployment %s: %w", id, err)
	}
	if d == nil {
		return nil, structs.NewNotFound("deployment %q not found (GET /v1/deployments lists them)", id)
	}
	if !d.Active() {
		return nil, structs.NewBadRequest("deployment %s is %s (%s): %s needs an active deployment; run the job again to start a new one",
			structs.ShortID(d.ID), d.Status, d.StatusDescription, action)
	}
	return d, nil
}

// deploymentEval is the evaluation a deployment change creates so the
// scheduler acts on it.
func deploymentEval(d *structs.Deployment, job *structs.Job, now time.Time) *structs.Evaluation {
	e := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: d.Namespace, Priority: d.EvalPriority, Type: structs.JobTypeService,
		TriggeredBy: structs.EvalTriggerDeploymentWatcher, JobID: d.JobID, DeploymentID: d.ID,
		Status: structs.EvalStatusPending, CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
	if job != nil {
		e.Type, e.JobModifyIndex = job.Type, job.JobModifyIndex
		if e.Priority == 0 {
			e.Priority = job.Priority
		}
	}
	if e.Priority == 0 {
		e.Priority = structs.DefaultPriority
	}
	return e
}

// jobDeploymentEval is deploymentEval for the current version of d's job.
func (s *Server) jobDeploymentEval(d *structs.Deployment, now time.Time) (*structs.Evaluation, error) {
	job, err := s.state.JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return nil, fmt.Errorf("look up job %q: %w", d.JobID, err)
	}
	return deploymentEval(d, job, now), nil
}

// rollbackTarget returns the newest stable version of d's job older than
// d's version, or nil.
func rollbackTarget(st *state.Store, d *structs.Deployment) (*structs.Job, error) {
	versions, err := st.JobVersionsByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return nil, fmt.Errorf("look up versions of job %q: %w", d.JobID, err)
	}
	for _, v := range versions { // newest first
		if v.Version < d.JobVersion && v.Stable {
			return v, nil
		}
	}
	return nil, nil
}

// failure builds the status update that fails d with description base and,
// when autoRevert, registers the latest stable earlier version of the job
// again (the returned version is the one reverted to, nil when none).
func (s *Server) failure(d *structs.Deployment, base string, autoRevert bool) (*structs.DeploymentStatusUpdate, *structs.Job, *uint64, error) {
	desc := base
	var job *structs.Job
	var reverted *uint64
	if autoRevert {
		target, err := rollbackTarget(s.state, d)
		if err != nil {
			return nil, nil, nil, err
		}
		if target == nil {
			desc = structs.DeploymentStatusDescriptionNoRollbackTarget(base)
		} else {
			desc = structs.DeploymentStatusDescriptionRollback(base, target.Version)
			job = target.Copy()
			job.Stable = false
			job.Stop = false
			v := target.Version
			reverted = &v
		}
	}
	u := &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusFailed, StatusDescription: desc}
	return u, job, reverted, nil
}

// anyAutoRevert reports whether a group of d (all groups when only is nil,
// otherwise those only accepts) reverts automatically.
func anyAutoRevert(d *structs.Deployment, only func(name string, g *structs.DeploymentState) bool) bool {
	for name, g := range d.TaskGroups {
		if g.AutoRevert && (only == nil || only(name, g)) {
			return true
		}
	}
	return false
}

// failDeployment fails d in one Raft entry with its evaluation (and the
// auto-revert job when autoRevert finds a target).
func (s *Server) failDeployment(ctx context.Context, d *structs.Deployment, base string, autoRevert bool) (*structs.DeploymentUpdateResponse, error) {
	u, job, reverted, err := s.failure(d, base, autoRevert)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if job != nil {
		job.SubmitTime = now.UnixNano()
	}
	eval, err := s.jobDeploymentEval(d, now)
	if err != nil {
		return nil, err
	}
	req := &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: u, Job: job, Eval: eval, UpdatedAt: now.UnixNano()}
	index, err := s.raftApply(ctx, structs.DeploymentStatusUpdateRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("fail deployment %s: %w", d.ID, err)
	}
	return &structs.DeploymentUpdateResponse{EvalID: eval.ID, EvalCreateIndex: index, DeploymentModifyIndex: index,
		RevertedJobVersion: reverted, Index: index}, nil
}

// PromoteDeployment promotes the canaries of a deployment (all groups, or
// the named ones) and creates the evaluation that rolls out the rest. It is
// a 404 for an unknown deployment and a 400 when there is nothing to
// promote or the canaries are not all healthy yet.
func (s *Server) PromoteDeployment(ctx context.Context, req *structs.DeploymentPromoteRequest) (*structs.DeploymentUpdateResponse, error) {
	if req == nil {
		return nil, structs.NewBadRequest("deployment promote request is empty: send {\"DeploymentID\": \"<id>\", \"All\": true}")
	}
	d, err := s.activeDeployment(req.DeploymentID, "promotion")
	if err != nil {
		return nil, err
	}
	allocs, err := s.state.AllocsByDeployment(nil, d.ID)
	if err != nil {
		return nil, fmt.Errorf("list allocations of deployment %s: %w", d.ID, err)
	}
	if _, err := state.PromotableGroups(d, allocs, req.All, req.Groups); err != nil {
		return nil, err
	}
	return s.promote(ctx, d, req.All, req.Groups)
}

// promote commits a promotion with its evaluation.
func (s *Server) promote(ctx context.Context, d *structs.Deployment, all bool, groups []string) (*structs.DeploymentUpdateResponse, error) {
	now := time.Now()
	eval, err := s.jobDeploymentEval(d, now)
	if err != nil {
		return nil, err
	}
	entry := &structs.DeploymentPromoteRequest{DeploymentID: d.ID, All: all, Groups: groups, Eval: eval, UpdatedAt: now.UnixNano()}
	index, err := s.raftApply(ctx, structs.DeploymentPromoteRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("promote deployment %s: %w", d.ID, err)
	}
	return &structs.DeploymentUpdateResponse{EvalID: eval.ID, EvalCreateIndex: index, DeploymentModifyIndex: index, Index: index}, nil
}

// PauseDeployment pauses (no more destructive updates) or resumes a
// deployment; resuming creates an evaluation so the rollout continues. It is
// a 404 for an unknown deployment and a 400 for a finished one.
func (s *Server) PauseDeployment(ctx context.Context, req *structs.DeploymentPauseRequest) (*structs.DeploymentUpdateResponse, error) {
	if req == nil {
		return nil, structs.NewBadRequest("deployment pause request is empty: send {\"DeploymentID\": \"<id>\", \"Pause\": true}")
	}
	verb, action := "resume", "resuming a deployment"
	if req.Pause {
		verb, action = "pause", "pausing a deployment"
	}
	d, err := s.activeDeployment(req.DeploymentID, action)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	u := &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusPaused, StatusDescription: structs.DeploymentStatusDescriptionPaused}
	var eval *structs.Evaluation
	if !req.Pause {
		u.Status, u.StatusDescription = structs.DeploymentStatusRunning, runningDescription(d)
		if eval, err = s.jobDeploymentEval(d, now); err != nil {
			return nil, err
		}
	}
	entry := &structs.DeploymentStatusUpdateRequest{DeploymentUpdate: u, Eval: eval, UpdatedAt: now.UnixNano()}
	index, err := s.raftApply(ctx, structs.DeploymentStatusUpdateRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("%s deployment %s: %w", verb, d.ID, err)
	}
	resp := &structs.DeploymentUpdateResponse{DeploymentModifyIndex: index, Index: index}
	if eval != nil {
		resp.EvalID, resp.EvalCreateIndex = eval.ID, index
	}
	return resp, nil
}

// runningDescription is the description of a running deployment: whether
// it waits for a (manual or automatic) promotion.
func runningDescription(d *structs.Deployment) string {
	if !d.RequiresPromotion() {
		return structs.DeploymentStatusDescriptionRunning
	}
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted && !g.AutoPromote {
			return structs.DeploymentStatusDescriptionRunningNeedsPromotion
		}
	}
	return structs.DeploymentStatusDescriptionRunningAutoPromotion
}

// FailDeployment fails an active deployment by hand; with auto_revert the
// job's latest stable earlier version is registered again in the same Raft
// entry. It is a 404 for an unknown deployment and a 400 for a finished one.
func (s *Server) FailDeployment(ctx context.Context, req *structs.DeploymentFailRequest) (*structs.DeploymentUpdateResponse, error) {
	if req == nil {
		return nil, structs.NewBadRequest("deployment fail request is empty: send {\"DeploymentID\": \"<id>\"}")
	}
	d, err := s.activeDeployment(req.DeploymentID, "failing a deployment")
	if err != nil {
		return nil, err
	}
	return s.failDeployment(ctx, d, structs.DeploymentStatusDescriptionFailedByUser, anyAutoRevert(d, nil))
}

// SetDeploymentAllocHealth marks allocations of an active deployment
// healthy or unhealthy by hand (for health_check = "manual"). Marking one
// unhealthy fails the deployment (auto-reverting when a group asks for it),
// as Nomad does. It is a 404 for an unknown deployment and a 400 when no
// allocation is named or one is not part of the deployment.
func (s *Server) SetDeploymentAllocHealth(ctx context.Context, req *structs.DeploymentAllocHealthRequest) (*structs.DeploymentUpdateResponse, error) {
	if req == nil {
		return nil, structs.NewBadRequest("allocation health request is empty: send {\"DeploymentID\": \"<id>\", \"HealthyAllocationIDs\": [...]}")
	}
	d, err := s.activeDeployment(req.DeploymentID, "setting allocation health")
	if err != nil {
		return nil, err
	}
	if len(req.HealthyAllocationIDs)+len(req.UnhealthyAllocationIDs) == 0 {
		return nil, structs.NewBadRequest("no allocations given: set HealthyAllocationIDs or UnhealthyAllocationIDs")
	}
	unhealthyGroups := map[string]bool{}
	for i, ids := range [][]string{req.HealthyAllocationIDs, req.UnhealthyAllocationIDs} {
		for _, id := range ids {
			a, err := s.state.AllocByID(nil, id)
			if err != nil {
				return nil, fmt.Errorf("look up allocation %s: %w", id, err)
			}
			if a == nil || a.DeploymentID != d.ID {
				return nil, structs.NewBadRequest("allocation %q is not part of deployment %s (GET /v1/deployment/allocations/%s lists its allocations)",
					id, structs.ShortID(d.ID), structs.ShortID(d.ID))
			}
			if i == 1 {
				unhealthyGroups[a.TaskGroup] = true
			}
		}
	}
	now := time.Now()
	eval, err := s.jobDeploymentEval(d, now)
	if err != nil {
		return nil, err
	}
	entry := &structs.DeploymentAllocHealthRequest{
		DeploymentID: d.ID, HealthyAllocationIDs: req.HealthyAllocationIDs, UnhealthyAllocationIDs: req.UnhealthyAllocationIDs,
		Eval: eval, UpdatedAt: now.UnixNano(),
	}
	var reverted *uint64
	if len(unhealthyGroups) > 0 {
		autoRevert := anyAutoRevert(d, func(name string, _ *structs.DeploymentState) bool { return unhealthyGroups[name] })
		u, rj, rv, err := s.failure(d, structs.DeploymentStatusDescriptionFailedAllocations, autoRevert)
		if err != nil {
			return nil, err
		}
		if rj != nil {
			rj.SubmitTime = now.UnixNano()
		}
		entry.DeploymentUpdate, entry.Job, reverted = u, rj, rv
	}
	index, err := s.raftApply(ctx, structs.DeploymentAllocHealthRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("set allocation health in deployment %s: %w", d.ID, err)
	}
	return &structs.DeploymentUpdateResponse{EvalID: entry.Eval.ID, EvalCreateIndex: index, DeploymentModifyIndex: index,
		RevertedJobVersion: reverted, Index: index}, nil
}

// cancelJobDeployment cancels the job's active deployment, if any, because
// the job was stopped.
func (s *Server) cancelJobDeployment(ctx context.Context, namespace, jobID string) error {
	d, err := s.state.LatestDeploymentByJobID(nil, namespace, jobID)
	if err != nil {
		return fmt.Errorf("look up deployment: %w", err)
	}
	if d == nil || !d.Active() {
		return nil
	}
	req := &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusCancelled,
			StatusDescription: structs.DeploymentStatusDescriptionStoppedJob},
		UpdatedAt: time.Now().UnixNano(),
	}
	if _, err := s.raftApply(ctx, structs.DeploymentStatusUpdateRequestType, req); err != nil {
		return fmt.Errorf("cancel deployment %s: %w", d.ID, err)
	}
	return nil
}
