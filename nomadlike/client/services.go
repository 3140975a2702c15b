package client

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serviceDiscovery is the alloc runners' link to Nomad service discovery
// on the servers, through the current server with failover.
type serviceDiscovery struct{ c *Client }

var _ allocrunner.ServiceDiscovery = serviceDiscovery{}

// UpdateAllocServices implements allocrunner.ServiceDiscovery.
func (s serviceDiscovery) UpdateAllocServices(ctx context.Context, allocID string, regs []*structs.ServiceRegistration) error {
	srv := s.c.sess.server()
	if _, err := srv.UpdateAllocServices(ctx, s.c.NodeID(), &structs.ServiceRegistrationAllocRequest{AllocID: allocID, Services: regs}); err != nil {
		if ctx.Err() == nil {
			s.c.sess.serverFailed(srv)
		}
		return fmt.Errorf("register services of allocation %s on %s: %w", allocID, srv.Address(), err)
	}
	return nil
}

// ServiceRegistrations implements allocrunner.ServiceDiscovery.
func (s serviceDiscovery) ServiceRegistrations(ctx context.Context, namespace, name string, waitIndex uint64) ([]*structs.ServiceRegistration, uint64, error) {
	srv := s.c.sess.server()
	regs, m, err := srv.ServiceRegistrations(ctx, name, &api.QueryOptions{Namespace: namespace, WaitIndex: waitIndex, WaitTime: allocWait, AllowStale: true})
	if err != nil {
		if ctx.Err() == nil {
			s.c.sess.serverFailed(srv)
		}
		return nil, 0, fmt.Errorf("read service %q from %s: %w", name, srv.Address(), err)
	}
	return regs, m.LastIndex, nil
}

// ListServices implements allocrunner.ServiceDiscovery.
func (s serviceDiscovery) ListServices(ctx context.Context, namespace string, waitIndex uint64) ([]*structs.ServiceRegistrationListStub, uint64, error) {
	srv := s.c.sess.server()
	list, m, err := srv.ListServices(ctx, &api.QueryOptions{Namespace: namespace, WaitIndex: waitIndex, WaitTime: allocWait, AllowStale: true})
	if err != nil {
		if ctx.Err() == nil {
			s.c.sess.serverFailed(srv)
		}
		return nil, 0, fmt.Errorf("list services from %s: %w", srv.Address(), err)
	}
	return list, m.LastIndex, nil
}

// AllocChecks returns the latest results of an allocation's service checks
// by check ID; an error wrapping structs.ErrNotFound when the allocation is
// not on this node.
func (c *Client) AllocChecks(allocID string) (map[string]*structs.CheckQueryResult, error) {
	e, err := c.entry(allocID)
	if err != nil {
		return nil, err
	}
	return e.runner.Checks(), nil
}
