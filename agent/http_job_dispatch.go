package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobDispatcher is the part of a server that dispatches parameterized
// jobs; *server.Server implements it. It is an optional capability of
// ServerAPI, found by type assertion.
type JobDispatcher interface {
	DispatchJob(ctx context.Context, namespace string, req *structs.JobDispatchRequest) (*structs.JobDispatchResponse, error)
}

// jobDispatch is PUT/POST /v1/job/{id}/dispatch: instantiate a
// parameterized job with a payload and meta.
func (s *HTTPServer) jobDispatch(w http.ResponseWriter, r *http.Request) (any, error) {
	d, ok := s.srv.(JobDispatcher)
	if !ok {
		return nil, notSupported("job dispatch")
	}
	var req structs.JobDispatchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.IdempotencyToken == "" {
		// Nomad's clients send the token as a write option.
		req.IdempotencyToken = r.URL.Query().Get("idempotency_token")
	}
	id := mux.Vars(r)["id"]
	switch {
	case req.JobID == "":
		req.JobID = id
	case req.JobID != id:
		return nil, structs.NewBadRequest("JobID %q in the body does not match %q in the URL", req.JobID, id)
	}
	ns, err := writeNamespace(r, "dispatch a job")
	if err != nil {
		return nil, err
	}
	resp, err := d.DispatchJob(r.Context(), ns, &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
