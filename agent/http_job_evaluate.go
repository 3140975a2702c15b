package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobEvaluator is the part of a server that force-evaluates jobs;
// *server.Server implements it (an optional capability of ServerAPI).
type JobEvaluator interface {
	EvaluateJob(ctx context.Context, namespace, jobID string, forceReschedule bool) (*structs.JobRegisterResponse, error)
}

// jobEvaluateRequest is the body of PUT /v1/job/{id}/evaluate (optional).
type jobEvaluateRequest struct {
	JobID       string
	EvalOptions struct{ ForceReschedule bool }
}

// jobEvaluate is PUT /v1/job/{id}/evaluate (`job eval [-force-reschedule]`).
// ACL: namespace submit-job.
func (s *HTTPServer) jobEvaluate(w http.ResponseWriter, r *http.Request) (any, error) {
	ev, ok := s.srv.(JobEvaluator)
	if !ok {
		return nil, notSupported("job evaluate")
	}
	var req jobEvaluateRequest
	if r.ContentLength != 0 && r.Body != nil {
		if err := decodeBody(r, &req); err != nil && r.ContentLength > 0 {
			return nil, err
		}
	}
	id := mux.Vars(r)["id"]
	if req.JobID != "" && req.JobID != id {
		return nil, structs.NewBadRequest("job ID %q in the body does not match %q in the URL", req.JobID, id)
	}
	ns, err := writeNamespace(r, "evaluate it")
	if err != nil {
		return nil, err
	}
	resp, err := ev.EvaluateJob(r.Context(), ns, id, req.EvalOptions.ForceReschedule)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
