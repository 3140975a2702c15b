package server

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ScaleJob sets the count of one group of a job and records the scaling
// event (message, meta and error from req, the previous count, the eval's
// ID): a new job version, its evaluation and the event in one Raft entry
// (PUT /v1/job/{id}/scale). As in Nomad, a request without a Count (an
// error report, say) records the event and changes nothing else. This is
// the one path that scales a job: the HTTP API and the autoscaler call it.
func (s *Server) ScaleJob(ctx context.Context, namespace, jobID string, req *structs.ScalingRequest) (*structs.JobRegisterResponse, error) {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	if req == nil {
		return nil, structs.NewBadRequest("scale request is empty: send {\"Count\": <n>, \"Target\": {\"Group\": \"<group>\"}}")
	}
	// A retry of a scale applied before answers as the first did.
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return s.scaleReply(rec, namespace, jobID), nil
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
	now := time.Now()
	entry := &structs.JobScaleRequest{Namespace: job.Namespace, JobID: job.ID, Group: tg.Name, Event: &structs.ScalingEvent{
		Time: uint64(now.UnixNano()), Count: copyInt64(req.Count), PreviousCount: int64(tg.Count),
		Message: req.Message, Error: req.Error, Meta: req.Meta,
	}, Once: s.writeOnceOf(ctx)}
	if req.Count != nil {
		scaled := job.Copy()
		for _, g := range scaled.TaskGroups {
			if g.Name == tg.Name {
				g.Count = int(*req.Count)
			}
		}
		if err := validateJob(scaled); err != nil {
			return nil, err
		}
		scaled.SubmitTime = now.UnixNano()
		scaled.Status, scaled.StatusDescription, scaled.Stable = "", "", false
		entry.Job, entry.Eval = scaled, jobEval(scaled, structs.EvalTriggerScaling, now)
	}
	index, repeat, err := s.raftApplyOnce(ctx, structs.JobScaleRequestType, entry, entry.Once)
	if err != nil {
		return nil, fmt.Errorf("scale job %q: %w", jobID, err)
	}
	if repeat != nil {
		return s.scaleReply(repeat, namespace, jobID), nil
	}
	resp := &structs.JobRegisterResponse{JobModifyIndex: job.JobModifyIndex, Index: index}
	if entry.Eval != nil {
		resp.EvalID, resp.EvalCreateIndex = entry.Eval.ID, index
	}
	if stored, err := s.state.JobByID(nil, namespace, jobID); err == nil && stored != nil {
		resp.JobModifyIndex = stored.JobModifyIndex
	}
	return resp, nil
}

// scaleReply answers a scale applied before: its evaluation, and the job's
// JobModifyIndex (the current one when the scale only recorded an event).
func (s *Server) scaleReply(rec *structs.WriteRecord, namespace, jobID string) *structs.JobRegisterResponse {
	resp := registerReply(rec, "")
	if rec.JobID == "" {
		if j, err := s.state.JobByID(nil, namespace, jobID); err == nil && j != nil {
			resp.JobModifyIndex = j.JobModifyIndex
		}
	}
	return resp
}

func copyInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	return new(*p)
}

// checkScale returns the group req scales, or a 400 saying what is wrong.
// A request with a Count changes the group's count; one without records an
// event only (Nomad: "Error" requests carry no count).
func checkScale(job *structs.Job, req *structs.ScalingRequest) (*structs.TaskGroup, error) {
	groups := make([]string, len(job.TaskGroups))
	for i, g := range job.TaskGroups {
		groups[i] = fmt.Sprintf("%q", g.Name)
	}
	group := req.Target[structs.ScalingTargetGroup]
	if group == "" {
		return nil, structs.NewBadRequest("scale request names no group: set Target.Group to one of the job's groups: %s", strings.Join(groups, ", "))
	}
	var tg *structs.TaskGroup
	for _, g := range job.TaskGroups {
		if g.Name == group {
			tg = g
		}
	}
	if tg == nil {
		return nil, structs.NewBadRequest("job %q has no group %q; its groups are %s", job.ID, group, strings.Join(groups, ", "))
	}
	if req.Count == nil {
		return tg, nil
	}
	switch {
	case req.Error:
		return nil, structs.NewBadRequest("scaling action should not contain count if error is true: an error report records an event and leaves the count; send Count or Error, not both")
	case *req.Count < 0:
		return nil, structs.NewBadRequest("Count must not be negative, got %d", *req.Count)
	case *req.Count > math.MaxInt32:
		return nil, structs.NewBadRequest("Count %d is too large for a group count", *req.Count)
	case job.IsTemplate():
		return nil, structs.NewBadRequest("job %q is periodic or parameterized and is never placed itself; scale the group in the job file and run it again (its children are separate jobs)", job.ID)
	case job.SystemType():
		return nil, structs.NewBadRequest("job %q is a %s job, which runs one allocation on every eligible node; it cannot be scaled", job.ID, job.Type)
	case job.Stop:
		return nil, structs.NewBadRequest("job %q is stopped; run it again before scaling it", job.ID)
	}
	// The group's scaling block bounds the count, as Nomad's job scale.
	if err := tg.CheckScalingBounds(*req.Count); err != nil {
		return nil, err
	}
	return tg, nil
}

// JobScaleStatus reports each group's desired and actual allocation counts
// and its recent scaling events, newest first (GET /v1/job/{id}/scale).
// allocs are the job's allocations, events its scaling events (nil: none).
func JobScaleStatus(job *structs.Job, allocs []*structs.Allocation, events *structs.JobScalingEvents) *structs.JobScaleStatusResponse {
	out := &structs.JobScaleStatusResponse{
		JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex,
		JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop,
		TaskGroups: make(map[string]structs.TaskGroupScaleStatus, len(job.TaskGroups)),
	}
	for _, g := range job.TaskGroups {
		st := structs.TaskGroupScaleStatus{Desired: g.Count}
		if events != nil {
			st.Events = events.ScalingEvents[g.Name]
		}
		out.TaskGroups[g.Name] = st
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
