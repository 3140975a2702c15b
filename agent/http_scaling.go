package agent

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// scalingPoliciesList is GET /v1/scaling/policies: the stubs of the group
// scaling policies of the current job versions in the namespace ("*" for
// all), optionally only the job's (?job=) or of one type (?type=).
func (s *HTTPServer) scalingPoliciesList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	jobID, typ := r.URL.Query().Get("job"), r.URL.Query().Get("type")
	visible := s.nsFilter(r, capListScal)
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		jobs, err := st.Jobs(ws, q.Namespace)
		if err != nil {
			return nil, 0, err
		}
		jobs = keepNamespaces(jobs, func(j *structs.Job) string { return j.Namespace }, visible)
		stubs := []*structs.ScalingPolicyListStub{}
		for _, p := range server.JobScalingPolicies(jobs, jobID) {
			if typ == "" || p.Type == typ {
				stubs = append(stubs, p.Stub())
			}
		}
		idx, err := tableIndex(st, "jobs")
		return stubs, idx, err
	})
}

// scalingPolicyInfo is GET /v1/scaling/policy/{id}: one full policy, found
// among the current job versions of the namespaces the token may read
// policies in. A policy of another namespace is answered as a missing
// one, so its ID reveals nothing (a 403 would say it exists there), as a
// job of another namespace is not found; a token that may read no policy
// in the request's namespace gets a 403 for a missing one, as for
// allocations.
func (s *HTTPServer) scalingPolicyInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	visible := s.nsFilter(r, capReadPol)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		jobs, err := st.Jobs(ws, "*")
		if err != nil {
			return nil, 0, err
		}
		jobs = keepNamespaces(jobs, func(j *structs.Job) string { return j.Namespace }, visible)
		idx, err := tableIndex(st, "jobs")
		for _, p := range server.JobScalingPolicies(jobs, "") {
			if p.ID == id {
				return p, idx, err
			}
		}
		return nil, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		if err := s.allowNS(r, requestNamespace(r), capReadPol); err != nil {
			return nil, err
		}
		return nil, structs.NewNotFound("scaling policy %q not found (list policies with GET /v1/scaling/policies?namespace=*)", id)
	}
	if ds, ok := s.srv.(scalingDecisions); ok {
		if d := ds.LastScalingDecision(id); d != nil {
			return &policyWithDecision{ScalingPolicy: out.(*structs.ScalingPolicy), LastDecision: d}, nil
		}
	}
	return out, nil
}

// scalingDecisions is the autoscaler's side of the server (the leader
// answers: scaling policy routes are forwarded to it).
type scalingDecisions interface {
	LastScalingDecision(policyID string) *structs.ScalingDecision
}

// policyWithDecision is a policy with the autoscaler's last decision
// about it (a field Nomad's policy has not; its clients ignore it).
type policyWithDecision struct {
	*structs.ScalingPolicy
	LastDecision *structs.ScalingDecision
}

// usageReporter is the server's sink of clients' usage reports.
type usageReporter interface {
	ReportUsage(nodeID string, r *structs.NodeUsageReport)
}

// nodeUsage is PUT /v1/node/{id}/usage: a client's running allocations'
// usage, for the autoscaler (authenticated by the node's own secret).
func (s *HTTPServer) nodeUsage(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := s.nodeSelf(r)
	if err != nil {
		return nil, err
	}
	var req structs.NodeUsageReport
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if ur, ok := s.srv.(usageReporter); ok {
		ur.ReportUsage(id, &req)
	}
	return &structs.GenericResponse{}, nil
}
