package server

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// RevertJob registers again the spec of an earlier version of a job, as
// Nomad's revert does: the old spec becomes a new version through the
// ordinary register path (one Raft entry with its evaluation). It is a 404
// when the job does not exist, a 400 when the version is not kept or is the
// current one, and a 409 when EnforcePriorVersion names another version than
// the current one.
func (s *Server) RevertJob(ctx context.Context, req *structs.JobRevertRequest) (*structs.JobRegisterResponse, error) {
	if req == nil || req.JobID == "" {
		return nil, structs.NewBadRequest("job revert request has no JobID: send {\"JobID\": \"<job>\", \"JobVersion\": <n>}")
	}
	ns := req.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	// A retry of a revert applied before answers as the first did (the
	// checks below would refuse it: the job is at the version now).
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return registerReply(rec, ""), nil
	}
	cur, err := s.state.JobByID(nil, ns, req.JobID)
	if err != nil {
		return nil, fmt.Errorf("revert job %q: look up current version: %w", req.JobID, err)
	}
	if cur == nil {
		return nil, structs.NewNotFound("job %q not found in namespace %q (GET /v1/jobs lists them)", req.JobID, ns)
	}
	if req.EnforcePriorVersion != nil && *req.EnforcePriorVersion != cur.Version {
		return nil, structs.NewConflict("job %q is at version %d, not %d as the revert request expected (EnforcePriorVersion; GET /v1/job/%s/versions lists them)",
			req.JobID, cur.Version, *req.EnforcePriorVersion, req.JobID)
	}
	if req.JobVersion == cur.Version {
		return nil, structs.NewBadRequest("job %q is already at version %d; pick an earlier version (GET /v1/job/%s/versions lists them)",
			req.JobID, req.JobVersion, req.JobID)
	}
	old, err := s.state.JobByIDAndVersion(nil, ns, req.JobID, req.JobVersion)
	if err != nil {
		return nil, fmt.Errorf("revert job %q: look up version %d: %w", req.JobID, req.JobVersion, err)
	}
	if old == nil {
		return nil, structs.NewBadRequest("job %q has no version %d (the server keeps the last %d versions; GET /v1/job/%s/versions lists them)",
			req.JobID, req.JobVersion, state.JobTrackedVersions, req.JobID)
	}
	spec := old.Copy()
	return s.RegisterJob(ctx, &structs.JobRegisterRequest{
		Job: spec, EnforceIndex: true, JobModifyIndex: cur.JobModifyIndex,
	})
}

// StableJob marks a version of a job stable or not, in one Raft entry. It is
// a 404 when the job or the version does not exist.
func (s *Server) StableJob(ctx context.Context, req *structs.JobStabilityRequest) (*structs.JobStabilityResponse, error) {
	if req == nil || req.JobID == "" {
		return nil, structs.NewBadRequest("job stability request has no JobID: send {\"JobID\": \"<job>\", \"JobVersion\": <n>, \"Stable\": true}")
	}
	entry := *req
	if entry.Namespace == "" {
		entry.Namespace = structs.DefaultNamespace
	}
	v, err := s.state.JobByIDAndVersion(nil, entry.Namespace, entry.JobID, entry.JobVersion)
	if err != nil {
		return nil, fmt.Errorf("mark job %q stable: look up version %d: %w", entry.JobID, entry.JobVersion, err)
	}
	if v == nil {
		if cur, err := s.state.JobByID(nil, entry.Namespace, entry.JobID); err == nil && cur == nil {
			return nil, structs.NewNotFound("job %q not found in namespace %q (GET /v1/jobs lists them)", entry.JobID, entry.Namespace)
		}
		return nil, structs.NewNotFound("job %q has no version %d (the server keeps the last %d versions; GET /v1/job/%s/versions lists them)",
			entry.JobID, entry.JobVersion, state.JobTrackedVersions, entry.JobID)
	}
	index, err := s.raftApply(ctx, structs.JobStabilityRequestType, &entry)
	if err != nil {
		return nil, fmt.Errorf("mark version %d of job %q stable=%t: %w", entry.JobVersion, entry.JobID, entry.Stable, err)
	}
	resp := &structs.JobStabilityResponse{Index: index}
	if cur, err := s.state.JobByID(nil, entry.Namespace, entry.JobID); err == nil && cur != nil {
		resp.JobModifyIndex = cur.JobModifyIndex
	}
	return resp, nil
}
