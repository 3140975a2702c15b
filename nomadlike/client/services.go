package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	regs, m, err := srv.AsNode(s.c.NodeID()).ServiceRegistrations(ctx, name, &api.QueryOptions{Namespace: namespace, WaitIndex: waitIndex, WaitTime: allocWait, AllowStale: true})
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
	list, m, err := srv.AsNode(s.c.NodeID()).ListServices(ctx, &api.QueryOptions{Namespace: namespace, WaitIndex: waitIndex, WaitTime: allocWait, AllowStale: true})
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

// SignIdentities implements allocrunner.ServiceDiscovery: the servers sign
// the allocation's task identities (the node's secret authenticates).
func (s serviceDiscovery) SignIdentities(ctx context.Context, reqs []*structs.WorkloadIdentityRequest) ([]*structs.SignedWorkloadIdentity, error) {
	srv := s.c.sess.server()
	out, err := srv.SignIdentities(ctx, s.c.NodeID(), &structs.SignIdentitiesRequest{Identities: reqs})
	if err != nil {
		if ctx.Err() == nil && !isClientError(err) {
			s.c.sess.serverFailed(srv)
		}
		return nil, fmt.Errorf("sign workload identities on %s: %w", srv.Address(), err)
	}
	return out.SignedIdentities, nil
}

// Variable implements allocrunner.ServiceDiscovery: it reads a variable
// with a task's workload identity, blocking past waitIndex.
func (s serviceDiscovery) Variable(ctx context.Context, token, namespace, path string, waitIndex uint64) (*structs.VariableDecrypted, uint64, error) {
	srv := s.c.sess.server()
	v, m, err := srv.WithToken(token).Variable(ctx, path, &api.QueryOptions{Namespace: namespace, WaitIndex: waitIndex, WaitTime: allocWait})
	var e *api.Error
	if errors.As(err, &e) && e.StatusCode == http.StatusNotFound && e.Index > 0 {
		return nil, e.Index, nil // no such variable (yet)
	}
	if err != nil {
		if ctx.Err() == nil && !isClientError(err) {
			s.c.sess.serverFailed(srv)
		}
		if errors.As(err, &e) && e.StatusCode == http.StatusForbidden {
			err = fmt.Errorf("%w: %w", structs.ErrPermissionDenied, err)
		}
		return nil, 0, fmt.Errorf("read variable %q from %s: %w", path, srv.Address(), err)
	}
	return v, m.LastIndex, nil
}

// Variables implements allocrunner.ServiceDiscovery: it lists variables
// with a task's workload identity, blocking past waitIndex.
func (s serviceDiscovery) Variables(ctx context.Context, token, namespace, prefix string, waitIndex uint64) ([]*structs.VariableMetadata, uint64, error) {
	srv := s.c.sess.server()
	list, m, err := srv.WithToken(token).Variables(ctx, &api.QueryOptions{Namespace: namespace, Prefix: prefix, WaitIndex: waitIndex, WaitTime: allocWait})
	if err != nil {
		if ctx.Err() == nil && !isClientError(err) {
			s.c.sess.serverFailed(srv)
		}
		var e *api.Error
		if errors.As(err, &e) && e.StatusCode == http.StatusForbidden {
			err = fmt.Errorf("%w: %w", structs.ErrPermissionDenied, err)
		}
		return nil, 0, fmt.Errorf("list variables %q from %s: %w", prefix, srv.Address(), err)
	}
	return list, m.LastIndex, nil
}

// isClientError reports a 4xx reply: the server answered, it is not down.
func isClientError(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode >= 400 && e.StatusCode < 500
}
