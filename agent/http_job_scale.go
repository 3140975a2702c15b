package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobScaler is the part of a server that scales job groups;
// *server.Server implements it. It is an optional capability of ServerAPI,
// found by type assertion.
type JobScaler interface {
	ScaleJob(ctx context.Context, namespace, jobID string, req *structs.ScalingRequest) (*structs.JobRegisterResponse, error)
}

// jobScaleStatus is GET /v1/job/{id}/scale: each group's desired and
// actual counts.
func (s *HTTPServer) jobScaleStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.jobRead(w, r, []string{"jobs", "allocs", "scaling_event"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		job, err := st.JobByID(ws, ns, id)
		if err != nil || job == nil {
			return nil, err
		}
		allocs, err := st.AllocsByJob(ws, ns, id, false)
		if err != nil {
			return nil, err
		}
		events, err := st.ScalingEventsByJob(ws, ns, id)
		if err != nil {
			return nil, err
		}
		return server.JobScaleStatus(job, allocs, events), nil
	})
}

// jobScale is PUT/POST /v1/job/{id}/scale: set one group's count and
// record the scaling event (or, without a Count, record the event only).
func (s *HTTPServer) jobScale(w http.ResponseWriter, r *http.Request) (any, error) {
	sc, ok := s.srv.(JobScaler)
	if !ok {
		return nil, notSupported("job scale")
	}
	var req structs.ScalingRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	if j := req.Target["Job"]; j != "" && j != id {
		return nil, structs.NewBadRequest("Target.Job %q does not match %q in the URL", j, id)
	}
	ns, err := writeNamespace(r, "scale a job")
	if err != nil {
		return nil, err
	}
	resp, err := sc.ScaleJob(r.Context(), ns, id, &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
