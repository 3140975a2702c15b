package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobReverter is the part of a server that reverts a job to an earlier
// version; *server.Server implements it (an optional capability of ServerAPI).
type JobReverter interface {
	RevertJob(ctx context.Context, req *structs.JobRevertRequest) (*structs.JobRegisterResponse, error)
}

// JobStabilizer is the part of a server that marks job versions stable;
// *server.Server implements it (an optional capability of ServerAPI).
type JobStabilizer interface {
	StableJob(ctx context.Context, req *structs.JobStabilityRequest) (*structs.JobStabilityResponse, error)
}

// jobVersions is GET /v1/job/{id}/versions[?diffs=true]: the kept
// versions, newest first, and with diffs=true the diff of each against the
// version before it.
func (s *HTTPServer) jobVersions(w http.ResponseWriter, r *http.Request) (any, error) {
	diffs, err := boolParam(r, "diffs")
	if err != nil {
		return nil, err
	}
	return s.jobRead(w, r, []string{"job_version"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		vs, err := st.JobVersionsByID(ws, ns, id)
		if len(vs) == 0 || err != nil {
			return nil, err
		}
		out := &structs.JobVersionsResponse{Versions: vs}
		if diffs {
			if out.Diffs, err = structs.VersionDiffs(vs); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// jobRevert is PUT /v1/job/{id}/revert: register again an earlier version.
func (s *HTTPServer) jobRevert(w http.ResponseWriter, r *http.Request) (any, error) {
	rv, ok := s.srv.(JobReverter)
	if !ok {
		return nil, notSupported("job revert")
	}
	var req structs.JobRevertRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := s.jobRequestTarget(r, &req.JobID, &req.Namespace); err != nil {
		return nil, err
	}
	resp, err := rv.RevertJob(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// jobStable is PUT /v1/job/{id}/stable: mark a version stable or not.
func (s *HTTPServer) jobStable(w http.ResponseWriter, r *http.Request) (any, error) {
	st, ok := s.srv.(JobStabilizer)
	if !ok {
		return nil, notSupported("marking job versions stable")
	}
	var req structs.JobStabilityRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := s.jobRequestTarget(r, &req.JobID, &req.Namespace); err != nil {
		return nil, err
	}
	resp, err := st.StableJob(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// jobRequestTarget fills a request's job ID from the path (checking it
// against the body's) and its namespace from ?namespace=.
func (s *HTTPServer) jobRequestTarget(r *http.Request, jobID, namespace *string) error {
	id := mux.Vars(r)["id"]
	switch {
	case *jobID == "":
		*jobID = id
	case *jobID != id:
		return structs.NewBadRequest("JobID %q in the body does not match %q in the URL", *jobID, id)
	}
	ns := r.URL.Query().Get("namespace")
	switch {
	case ns == "*":
		return structs.NewBadRequest("namespace \"*\" selects all namespaces; name the job's namespace")
	case *namespace == "":
		*namespace = ns
	case ns != "" && ns != *namespace:
		return structs.NewBadRequest("namespace %q in the body does not match namespace=%q in the URL", *namespace, ns)
	}
	if *namespace == "" {
		*namespace = structs.DefaultNamespace
	}
	return nil
}
