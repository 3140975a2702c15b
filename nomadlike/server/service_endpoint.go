package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateAllocServices is a client registering one allocation's services:
// req.Services replaces what the allocation had registered (none: they
// are all removed). The node is authenticated by its secret; the
// allocation must be placed on it. Identity fields (namespace, job, node,
// allocation) are taken from the allocation, not the request. Registrations
// of an allocation that is already terminal are removed instead.
func (s *Server) UpdateAllocServices(ctx context.Context, nodeID, secretID string, req *structs.ServiceRegistrationAllocRequest) (uint64, error) {
	node, err := s.authNode(nodeID, secretID)
	if err != nil {
		return 0, err
	}
	if req == nil || req.AllocID == "" {
		return 0, structs.NewBadRequest("no AllocID given: send {\"AllocID\": ..., \"Services\": [...]}")
	}
	alloc, err := s.state.AllocByID(nil, req.AllocID)
	if err != nil {
		return 0, fmt.Errorf("look up allocation %s: %w", req.AllocID, err)
	}
	existing, err := s.state.ServiceRegistrationsByAlloc(nil, req.AllocID)
	if err != nil {
		return 0, fmt.Errorf("look up services of allocation %s: %w", req.AllocID, err)
	}
	var want []*structs.ServiceRegistration
	if alloc != nil && alloc.NodeID != nodeID {
		return 0, structs.NewBadRequest("allocation %s is placed on node %s, not on node %s: a node registers only its own allocations' services",
			structs.ShortID(alloc.ID), structs.ShortID(alloc.NodeID), structs.ShortID(nodeID))
	}
	if alloc != nil && !alloc.ClientTerminalStatus() {
		for i, r := range req.Services {
			if r == nil || r.ID == "" || r.ServiceName == "" {
				return 0, structs.NewBadRequest("Services[%d] needs an ID and a ServiceName", i)
			}
			n := r.Copy()
			n.Namespace, n.JobID, n.AllocID, n.NodeID = alloc.Namespace, alloc.JobID, alloc.ID, nodeID
			if n.Datacenter == "" {
				n.Datacenter = node.Datacenter
			}
			n.CreateIndex, n.ModifyIndex = 0, 0
			want = append(want, n)
		}
	}
	var index uint64
	var stale []string
	for _, r := range existing {
		if !slices.ContainsFunc(want, func(w *structs.ServiceRegistration) bool { return w.ID == r.ID }) {
			stale = append(stale, r.ID)
		}
	}
	if len(stale) > 0 {
		ns := existing[0].Namespace
		index, err = s.raftApply(ctx, structs.ServiceRegistrationDeleteRequestType, &structs.ServiceRegistrationDeleteRequest{Namespace: ns, IDs: stale})
		if err != nil {
			return 0, err
		}
	}
	changed := slices.ContainsFunc(want, func(w *structs.ServiceRegistration) bool {
		i := slices.IndexFunc(existing, func(r *structs.ServiceRegistration) bool { return r.ID == w.ID })
		return i < 0 || !existing[i].Equal(w)
	})
	if changed {
		index, err = s.raftApply(ctx, structs.ServiceRegistrationUpsertRequestType, &structs.ServiceRegistrationUpsertRequest{Services: want})
		if err != nil {
			return 0, err
		}
	}
	if index == 0 {
		index, err = s.state.Index("service_registrations")
		if err != nil {
			return 0, err
		}
	}
	return index, nil
}

// DeleteServiceRegistration removes one registration (DELETE
// /v1/service/{name}/{id}); an error wrapping structs.ErrNotFound when the
// service has no registration with that ID.
func (s *Server) DeleteServiceRegistration(ctx context.Context, namespace, name, id string) (uint64, error) {
	r, err := s.state.ServiceRegistrationByID(nil, namespace, id)
	if err != nil {
		return 0, fmt.Errorf("look up service registration %s: %w", id, err)
	}
	if r == nil || r.ServiceName != name {
		return 0, structs.NewNotFound("service %q has no registration with ID %q; GET /v1/service/%s lists them", name, id, name)
	}
	return s.raftApply(ctx, structs.ServiceRegistrationDeleteRequestType,
		&structs.ServiceRegistrationDeleteRequest{Namespace: r.Namespace, IDs: []string{id}})
}
