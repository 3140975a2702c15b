package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ScaleJob sets the count of one group of a job: a new job version and its
// evaluation, in one Raft entry (PUT /v1/job/{id}/scale).
func (s *Server) ScaleJob(ctx context.Context, namespace, jobID string, req *structs.ScalingRequest) (*structs.JobRegisterResponse, error) {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	if req == nil {
		return nil, structs.NewBadRequest("scale request is empty: send {\"Count\": <n>, \"Target\": {\"Group\": \"<group>\"}}")
	}
	job, err := s.currentJob(namespace, jobID, "scale job")
	if err != nil {
		return nil, err
	}
	tg, err := checkScale(job, req)
	if err != nil {
		return nil, err
	}
	if req.EnforceIndex {
		if err := checkEnforceIndex(job.ID, job, req.JobModifyIndex); err != nil {
			return nil, err
		}
	}
	scaled := job.Copy()
	for _, g := range scaled.TaskGroups {
		if g.Name == tg {
			g.Count = int(*req.Count)
		}
	}
	if err := validateJob(scaled); err != nil {
		return nil, err
	}
	now := time.Now()
	scaled.SubmitTime = now.UnixNano()
	scaled.Status, scaled.StatusDescription, scaled.Stable = "", "", false
	eval := jobEval(scaled, structs.EvalTriggerScaling, now)
	entry := &structs.JobRegisterRequest{Job: scaled, Eval: eval, SubmitTime: scaled.SubmitTime, PolicyOverride: req.PolicyOverride}
	index, err := s.raftApply(ctx, structs.JobRegisterRequestType, entry)
	if err != nil {
		return nil, fmt.Errorf("scale job %q: %w", jobID, err)
	}
	resp := &structs.JobRegisterResponse{EvalID: eval.ID, EvalCreateIndex: index, JobModifyIndex: index, Index: index}
	if stored, err := s.state.JobByID(nil, namespace, jobID); err == nil && stored != nil {
		resp.JobModifyIndex = stored.JobModifyIndex
	}
	return resp, nil
}

// checkScale returns the group req scales, or a 400 saying what is wrong.
func checkScale(job *structs.Job, req *structs.ScalingRequest) (string, error) {
	groups := make([]string, len(job.TaskGroups))
	for i, g := range job.TaskGroups {
		groups[i] = fmt.Sprintf("%q", g.Name)
	}
	group := req.Target[structs.ScalingTargetGroup]
	switch {
	case job.IsTemplate():
		return "", structs.NewBadRequest("job %q is periodic or parameterized and is never placed itself; scale the group in the job file and run it again (its children are separate jobs)", job.ID)
	case job.SystemType():
		return "", structs.NewBadRequest("job %q is a %s job, which runs one allocation on every eligible node; it cannot be scaled", job.ID, job.Type)
	case job.Stop:
		return "", structs.NewBadRequest("job %q is stopped; run it again before scaling it", job.ID)
	case req.Count == nil:
		return "", structs.NewBadRequest("scale request has no Count: send {\"Count\": <n>, \"Target\": {\"Group\": \"<group>\"}}")
	case *req.Count < 0:
		return "", structs.NewBadRequest("Count must not be negative, got %d", *req.Count)
	case group == "":
		return "", structs.NewBadRequest("scale request names no group: set Target.Group to one of the job's groups: %s", strings.Join(groups, ", "))
	}
	for _, g := range job.TaskGroups {
		if g.Name == group {
			// The group's scaling block bounds the count, as Nomad's job scale.
			if err := g.CheckScalingBounds(*req.Count); err != nil {
				return "", err
			}
			return group, nil
		}
	}
	return "", structs.NewBadRequest("job %q has no group %q; its groups are %s", job.ID, group, strings.Join(groups, ", "))
}

// JobScaleStatus reports each group's desired and actual allocation counts
// (GET /v1/job/{id}/scale). allocs are the job's allocations.
func JobScaleStatus(job *structs.Job, allocs []*structs.Allocation) *structs.JobScaleStatusResponse {
	out := &structs.JobScaleStatusResponse{
		JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex,
		JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop,
		TaskGroups: make(map[string]structs.TaskGroupScaleStatus, len(job.TaskGroups)),
	}
	for _, g := range job.TaskGroups {
		out.TaskGroups[g.Name] = structs.TaskGroupScaleStatus{Desired: g.Count}
	}
	for _, a := range allocs {
		st, ok := out.TaskGroups[a.TaskGroup]
		if !ok || a.TerminalStatus() {
			continue
		}
		st.Placed++
		if a.ClientStatus == structs.AllocClientStatusRunning {
			st.Running++
		}
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			if *a.DeploymentStatus.Healthy {
				st.Healthy++
			} else {
				st.Unhealthy++
			}
		}
		out.TaskGroups[a.TaskGroup] = st
	}
	return out
}
