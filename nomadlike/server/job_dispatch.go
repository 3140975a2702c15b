package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DispatchJob instantiates a parameterized job with a payload and meta as a
// new child job with its evaluation (PUT /v1/job/{id}/dispatch). With an
// idempotency token it returns the live child dispatched earlier with the
// same token instead of creating another.
func (s *Server) DispatchJob(ctx context.Context, namespace string, req *structs.JobDispatchRequest) (*structs.JobDispatchResponse, error) {
	if req == nil || req.JobID == "" {
		return nil, structs.NewBadRequest("dispatch request has no JobID: send {\"JobID\": \"<job>\", \"Payload\": <base64>, \"Meta\": {...}}")
	}
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	// A retry of a dispatch applied before answers with the same child.
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return dispatchReply(rec), nil
	}
	parent, err := s.currentJob(namespace, req.JobID, "dispatch job")
	if err != nil {
		return nil, err
	}
	if err := checkDispatchable(parent, req); err != nil {
		return nil, err
	}
	if req.IdempotencyToken != "" {
		if prev, err := s.dispatchedWithToken(parent, req.IdempotencyToken); err != nil || prev != nil {
			if err != nil {
				return nil, fmt.Errorf("dispatch job %q: look up earlier dispatches: %w", req.JobID, err)
			}
			return &structs.JobDispatchResponse{DispatchedJobID: prev.ID, JobCreateIndex: prev.CreateIndex, Index: prev.ModifyIndex}, nil
		}
	}
	now := time.Now()
	child := deriveDispatchChild(parent, req, dispatchChildID(parent.ID, req.IdPrefixTemplate, now, structs.GenerateUUID()), now)
	assignScalingPolicyIDs(child, nil)
	eval := jobEval(child, structs.EvalTriggerJobRegister, now)
	entry := &structs.JobRegisterRequest{Job: child, Eval: eval, SubmitTime: child.SubmitTime, Once: s.writeOnceOf(ctx)}
	index, repeat, err := s.raftApplyOnce(ctx, structs.JobRegisterRequestType, entry, entry.Once)
	if err != nil {
		return nil, fmt.Errorf("dispatch job %q: %w", req.JobID, err)
	}
	if repeat != nil {
		return dispatchReply(repeat), nil
	}
	return &structs.JobDispatchResponse{DispatchedJobID: child.ID, EvalID: eval.ID, EvalCreateIndex: index, JobCreateIndex: index, Index: index}, nil
}

// checkDispatchable returns a 400 when parent cannot be dispatched with req.
func checkDispatchable(parent *structs.Job, req *structs.JobDispatchRequest) error {
	switch {
	case parent.Dispatched:
		return structs.NewBadRequest("job %q is itself a dispatched job; dispatch its parent %q instead", parent.ID, parent.ParentID)
	case !parent.IsParameterized():
		return structs.NewBadRequest("job %q is not parameterized: only a job with a parameterized block can be dispatched; add `parameterized {}` to the job and run it again", parent.ID)
	case parent.Stop:
		return structs.NewBadRequest("job %q is stopped: run it again before dispatching it", parent.ID)
	case req.Priority != 0 && (req.Priority < 1 || req.Priority > 100):
		return structs.NewBadRequest("Priority must be between 1 and 100 (0 keeps the job's priority %d), got %d", parent.Priority, req.Priority)
	case strings.ContainsAny(req.IdPrefixTemplate, "/ \t\n"):
		return structs.NewBadRequest("IdPrefixTemplate %q must not contain slashes or whitespace: it becomes part of the dispatched job's ID", req.IdPrefixTemplate)
	}
	if err := parent.ParameterizedJob.CheckDispatch(req.Payload, req.Meta); err != nil {
		var ve *structs.ValidationError
		if errors.As(err, &ve) {
			return &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("cannot dispatch job %q", parent.ID), Err: err}
		}
		return structs.NewBadRequest("cannot dispatch job %q: %v", parent.ID, err)
	}
	return nil
}

// dispatchedWithToken returns the child of parent dispatched with token
// that is not stopped, or nil.
func (s *Server) dispatchedWithToken(parent *structs.Job, token string) (*structs.Job, error) {
	children, err := s.state.ChildJobs(nil, parent.Namespace, parent.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if c.Dispatched && c.DispatchIdempotencyToken == token && !c.Stop {
			return c, nil
		}
	}
	return nil, nil
}

// dispatchChildID is "<parent>/dispatch-<unix seconds>-<8 hex of uuid>",
// or with a prefix template (Nomad 1.6+)
// "<parent>/dispatch-<template>-<unix seconds>-<8 hex of uuid>".
func dispatchChildID(parentID, prefixTemplate string, now time.Time, uuid string) string {
	suffix := uuid
	if len(suffix) > 8 {
		suffix = suffix[:8]
	}
	if prefixTemplate != "" {
		return fmt.Sprintf("%s%s%s-%d-%s", parentID, structs.DispatchLaunchSuffix, prefixTemplate, now.Unix(), suffix)
	}
	return fmt.Sprintf("%s%s%d-%s", parentID, structs.DispatchLaunchSuffix, now.Unix(), suffix)
}

// deriveDispatchChild returns the child of parent for req: the same job,
// marked dispatched, with the payload and the meta merged over the parent's.
func deriveDispatchChild(parent *structs.Job, req *structs.JobDispatchRequest, id string, now time.Time) *structs.Job {
	child := deriveChildJob(parent, id, now)
	child.Dispatched = true
	child.DispatchIdempotencyToken = req.IdempotencyToken
	child.Payload = append([]byte(nil), req.Payload...)
	if req.Priority != 0 {
		child.Priority = req.Priority
	}
	if len(req.Meta) > 0 {
		meta := maps.Clone(parent.Meta)
		if meta == nil {
			meta = map[string]string{}
		}
		maps.Copy(meta, req.Meta)
		child.Meta = meta
	}
	return child
}
