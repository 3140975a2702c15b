package agent

import (
	"context"
	"net/http"
	"sort"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DeploymentUpdater is the part of a server that changes deployments;
// *server.Server implements it (an optional capability of ServerAPI).
// Errors are *structs.CodedError for user mistakes or wrap
// structs.ErrNotFound.
type DeploymentUpdater interface {
	PromoteDeployment(ctx context.Context, req *structs.DeploymentPromoteRequest) (*structs.DeploymentUpdateResponse, error)
	PauseDeployment(ctx context.Context, req *structs.DeploymentPauseRequest) (*structs.DeploymentUpdateResponse, error)
	FailDeployment(ctx context.Context, req *structs.DeploymentFailRequest) (*structs.DeploymentUpdateResponse, error)
	SetDeploymentAllocHealth(ctx context.Context, req *structs.DeploymentAllocHealthRequest) (*structs.DeploymentUpdateResponse, error)
}

var _ DeploymentUpdater = (*server.Server)(nil)

// deploymentTable is the state table whose index deployment reads report.
const deploymentTable = "deployment"

// deploymentsList is GET /v1/deployments[?prefix=]: the deployments of the
// namespace (all with namespace=*), sorted by ID.
func (s *HTTPServer) deploymentsList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	visible := s.nsFilter(r, capRead)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		list, err := st.DeploymentsByIDPrefix(ws, q.Namespace, q.Prefix)
		if err != nil {
			return nil, 0, err
		}
		list = keepNamespaces(list, func(d *structs.Deployment) string { return d.Namespace }, visible)
		idx, err := tableIndex(st, deploymentTable)
		return append([]*structs.Deployment{}, list...), idx, err
	})
	if err != nil {
		return nil, err
	}
	list := out.([]*structs.Deployment)
	key := func(d *structs.Deployment) string { return d.ID }
	sortByKey(list, key)
	return paginate(w, q, list, key)
}

// deploymentInfo is GET /v1/deployment/{id}.
func (s *HTTPServer) deploymentInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		d, err := st.DeploymentByID(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, deploymentTable)
		if d == nil || err != nil {
			return nil, idx, err
		}
		return d, idx, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, deploymentNotFound(id)
	}
	return out, nil
}

func deploymentNotFound(id string) error {
	return structs.NewNotFound("deployment %q not found (list deployments with GET /v1/deployments?prefix=%s; the full ID is needed here)", id, id)
}

// deploymentAllocations is GET /v1/deployment/allocations/{id}: the
// allocations the deployment placed.
func (s *HTTPServer) deploymentAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		d, err := st.DeploymentByID(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, deploymentTable, "allocs")
		if d == nil || err != nil {
			return nil, idx, err
		}
		allocs, err := st.AllocsByDeployment(ws, id)
		if err != nil {
			return nil, 0, err
		}
		stubs := []*structs.AllocListStub{}
		for _, a := range allocs {
			stubs = append(stubs, a.Stub())
		}
		sort.Slice(stubs, func(i, j int) bool { return stubs[i].CreateIndex < stubs[j].CreateIndex })
		return stubs, idx, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, deploymentNotFound(id)
	}
	return out, nil
}

// deploymentWrite decodes a deployment write's body into req (an empty
// body is allowed: the path names the deployment), checks that the body's
// DeploymentID, if any, matches the path's, and calls the server.
func deploymentWrite[T any](s *HTTPServer, w http.ResponseWriter, r *http.Request, req *T, depID *string,
	call func(DeploymentUpdater) (*structs.DeploymentUpdateResponse, error)) (any, error) {
	du, ok := s.srv.(DeploymentUpdater)
	if !ok {
		return nil, notSupported("deployment changes")
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, req); err != nil {
			return nil, err
		}
	}
	id := mux.Vars(r)["id"]
	switch *depID {
	case "":
		*depID = id
	case id:
	default:
		return nil, structs.NewBadRequest("DeploymentID %q in the body does not match %q in the path; send the same ID in both (or leave DeploymentID out)", *depID, id)
	}
	resp, err := call(du)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// deploymentFail is PUT /v1/deployment/fail/{id}.
func (s *HTTPServer) deploymentFail(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.DeploymentFailRequest
	return deploymentWrite(s, w, r, &req, &req.DeploymentID, func(du DeploymentUpdater) (*structs.DeploymentUpdateResponse, error) {
		return du.FailDeployment(r.Context(), &req)
	})
}

// deploymentPause is PUT /v1/deployment/pause/{id} with {"Pause": bool}.
func (s *HTTPServer) deploymentPause(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.DeploymentPauseRequest
	return deploymentWrite(s, w, r, &req, &req.DeploymentID, func(du DeploymentUpdater) (*structs.DeploymentUpdateResponse, error) {
		return du.PauseDeployment(r.Context(), &req)
	})
}

// deploymentPromote is PUT /v1/deployment/promote/{id} with {"All": bool,
// "Groups": [...]}; an empty body promotes every group.
func (s *HTTPServer) deploymentPromote(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.DeploymentPromoteRequest
	return deploymentWrite(s, w, r, &req, &req.DeploymentID, func(du DeploymentUpdater) (*structs.DeploymentUpdateResponse, error) {
		if req.Eval != nil || req.UpdatedAt != 0 {
			return nil, structs.NewBadRequest("Eval and UpdatedAt are set by the server; leave them out of the request")
		}
		if !req.All && len(req.Groups) == 0 {
			req.All = true
		}
		return du.PromoteDeployment(r.Context(), &req)
	})
}

// deploymentAllocHealth is PUT /v1/deployment/allocation-health/{id} with
// {"HealthyAllocationIDs": [...], "UnhealthyAllocationIDs": [...]}.
func (s *HTTPServer) deploymentAllocHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.DeploymentAllocHealthRequest
	return deploymentWrite(s, w, r, &req, &req.DeploymentID, func(du DeploymentUpdater) (*structs.DeploymentUpdateResponse, error) {
		if req.DeploymentUpdate != nil || req.Job != nil || req.Eval != nil || req.UpdatedAt != 0 {
			return nil, structs.NewBadRequest("only DeploymentID, HealthyAllocationIDs and UnhealthyAllocationIDs may be sent; the other fields are set by the server")
		}
		if len(req.HealthyAllocationIDs)+len(req.UnhealthyAllocationIDs) == 0 {
			return nil, structs.NewBadRequest("name at least one allocation in HealthyAllocationIDs or UnhealthyAllocationIDs")
		}
		return du.SetDeploymentAllocHealth(r.Context(), &req)
	})
}

// jobDeployment is GET /v1/job/{id}/deployment: the job's latest
// deployment, null when it has none.
func (s *HTTPServer) jobDeployment(w http.ResponseWriter, r *http.Request) (any, error) {
	out, err := s.jobRead(w, r, []string{deploymentTable, "jobs"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		d, err := st.LatestDeploymentByJobID(ws, ns, id)
		if err != nil || d != nil {
			return d, err
		}
		j, err := st.JobByID(ws, ns, id)
		if j == nil || err != nil {
			return nil, err
		}
		return noDeployment{}, nil
	})
	if _, none := out.(noDeployment); none {
		return nil, nil
	}
	return out, err
}

// noDeployment stands for "the job exists but has no deployment" inside
// jobRead, where nil means "no such job".
type noDeployment struct{}

// jobDeployments is GET /v1/job/{id}/deployments: the job's deployments,
// newest first.
func (s *HTTPServer) jobDeployments(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.jobRead(w, r, []string{deploymentTable, "jobs"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		list, err := st.DeploymentsByJobID(ws, ns, id)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			if j, err := st.JobByID(ws, ns, id); j == nil || err != nil {
				return nil, err
			}
		}
		return append([]*structs.Deployment{}, list...), nil
	})
}
