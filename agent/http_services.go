package agent

import (
	"context"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ServiceRegistrar is the part of a server that changes service
// registrations; *server.Server implements it (an optional capability of
// ServerAPI).
type ServiceRegistrar interface {
	UpdateAllocServices(ctx context.Context, nodeID, secretID string, req *structs.ServiceRegistrationAllocRequest) (uint64, error)
	DeleteServiceRegistration(ctx context.Context, namespace, name, id string) (uint64, error)
}

var _ ServiceRegistrar = (*server.Server)(nil)

// serviceTable is the state table whose index service reads report.
const serviceTable = "service_registrations"

// serviceIndex is the table's index, at least 1 so that blocking queries
// with the returned index wait for the first registration.
func serviceIndex(st *state.Snapshot) (uint64, error) {
	idx, err := tableIndex(st, serviceTable)
	return max(idx, 1), err
}

// servicesList is GET /v1/services: per namespace, each service name with
// the union of its registrations' tags, sorted by name.
func (s *HTTPServer) servicesList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	visible := s.nsFilter(r, capRead)
	node, err := s.nodeRequest(r)
	if err != nil {
		return nil, err
	}
	if node {
		visible = func(string) bool { return true }
	} else if !q.allNamespaces() {
		if err := s.allowNS(r, q.Namespace, capRead); err != nil {
			return nil, err
		}
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		regs, err := st.ServiceRegistrations(ws, q.Namespace)
		if err != nil {
			return nil, 0, err
		}
		regs = keepNamespaces(regs, func(r *structs.ServiceRegistration) string { return r.Namespace }, visible)
		idx, err := serviceIndex(st)
		return serviceStubs(regs), idx, err
	})
}

// serviceStubs groups regs (sorted by namespace and name) into list stubs.
func serviceStubs(regs []*structs.ServiceRegistration) []*structs.ServiceRegistrationListStub {
	out := []*structs.ServiceRegistrationListStub{}
	var ns *structs.ServiceRegistrationListStub
	var svc *structs.ServiceRegistrationStub
	for _, r := range regs {
		if ns == nil || ns.Namespace != r.Namespace {
			ns = &structs.ServiceRegistrationListStub{Namespace: r.Namespace, Services: []*structs.ServiceRegistrationStub{}}
			out = append(out, ns)
			svc = nil
		}
		if svc == nil || svc.ServiceName != r.ServiceName {
			svc = &structs.ServiceRegistrationStub{ServiceName: r.ServiceName, Tags: []string{}}
			ns.Services = append(ns.Services, svc)
		}
		for _, t := range r.Tags {
			if !slices.Contains(svc.Tags, t) {
				svc.Tags = append(svc.Tags, t)
			}
		}
	}
	for _, n := range out {
		for _, sv := range n.Services {
			slices.Sort(sv.Tags)
		}
	}
	return out
}

// serviceInfo is GET /v1/service/{name}: the service's registrations in the
// namespace (a blocking query). ?tag= keeps those with the tag.
func (s *HTTPServer) serviceInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	if q.allNamespaces() {
		return nil, structs.NewBadRequest("namespace=* is not allowed for a service's registrations; name one namespace")
	}
	if node, err := s.nodeRequest(r); err != nil {
		return nil, err
	} else if node {
		markChecked(r) // a node reads every service (its DNS and ingress)
	} else {
		if err := s.allowNS(r, q.Namespace, capRead); err != nil {
			return nil, err
		}
	}
	name := mux.Vars(r)["name"]
	tag := r.URL.Query().Get("tag")
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		regs, err := st.ServiceRegistrationsByName(ws, q.Namespace, name)
		if err != nil {
			return nil, 0, err
		}
		out := []*structs.ServiceRegistration{}
		for _, reg := range regs {
			if tag == "" || slices.Contains(reg.Tags, tag) {
				out = append(out, reg)
			}
		}
		idx, err := serviceIndex(st)
		return out, idx, err
	})
	if err != nil {
		return nil, err
	}
	list := out.([]*structs.ServiceRegistration)
	return paginate(w, q, list, func(r *structs.ServiceRegistration) string { return r.ID })
}

// serviceDelete is DELETE /v1/service/{name}/{id}.
func (s *HTTPServer) serviceDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	sr, ok := s.srv.(ServiceRegistrar)
	if !ok {
		return nil, notSupported("service registrations")
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	v := mux.Vars(r)
	index, err := sr.DeleteServiceRegistration(r.Context(), q.Namespace, v["name"], v["id"])
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return &structs.GenericResponse{Index: index}, nil
}

// nodeUpdateServices is PUT /v1/node/{id}/services: a client (with its
// node secret) replaces one allocation's service registrations.
func (s *HTTPServer) nodeUpdateServices(w http.ResponseWriter, r *http.Request) (any, error) {
	sr, ok := s.srv.(ServiceRegistrar)
	if !ok {
		return nil, notSupported("service registrations")
	}
	secret, err := nodeSecret(r)
	if err != nil {
		return nil, err
	}
	var req structs.ServiceRegistrationAllocRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	index, err := sr.UpdateAllocServices(r.Context(), mux.Vars(r)["id"], secret, &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return &structs.GenericResponse{Index: index}, nil
}

// allocChecksClient is the local client's view of service checks;
// *client.Client implements it.
type allocChecksClient interface {
	AllocChecks(allocID string) (map[string]*structs.CheckQueryResult, error)
}

// clientAllocChecks is GET /v1/client/allocation/{id}/checks: the latest
// result of each service check of the allocation, by check ID.
func (s *HTTPServer) clientAllocChecks(w http.ResponseWriter, r *http.Request) (any, error) {
	allocID, local := s.routeAlloc(w, r)
	if !local {
		return nil, errHandled
	}
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client, so it runs no allocations; send the request to the agent of the allocation's node"}
	}
	cc, ok := s.client.(allocChecksClient)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent's client does not run service checks"}
	}
	return cc.AllocChecks(allocID)
}
