package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobPlanner is the part of a server that dry-runs jobs; *server.Server
// implements it. It is an optional capability of ServerAPI, found by type
// assertion. PlanJob is called concurrently from request goroutines.
type JobPlanner interface {
	PlanJob(ctx context.Context, req *structs.JobPlanRequest) (*structs.JobPlanResponse, error)
}

// notSupported is the 501 of a server lacking an optional capability.
func notSupported(what string) error {
	return &structs.CodedError{Code: http.StatusNotImplemented,
		Msg: "this agent's server does not support " + what + "; upgrade the servers to a nomadlike version that does"}
}

// jobPlan is PUT /v1/job/{id}/plan: a dry run of the scheduler for the job
// in the body, with its diff against the current version when Diff is set.
func (s *HTTPServer) jobPlan(w http.ResponseWriter, r *http.Request) (any, error) {
	p, ok := s.srv.(JobPlanner)
	if !ok {
		return nil, notSupported("job plan")
	}
	var req structs.JobPlanRequest
	if err := decodeJobBody(r, &req); err != nil {
		return nil, err
	}
	if req.Job == nil {
		return nil, structs.NewBadRequest("request body has no Job: send {\"Job\": {...}, \"Diff\": true}")
	}
	if id := mux.Vars(r)["id"]; req.Job.ID != id {
		return nil, structs.NewBadRequest("job ID %q in the body does not match %q in the URL", req.Job.ID, id)
	}
	if err := s.applyNamespace(r, req.Job); err != nil {
		return nil, err
	}
	if err := s.allowNS(r, req.Job.Namespace, capSubmit); err != nil {
		return nil, err
	}
	resp, err := p.PlanJob(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
