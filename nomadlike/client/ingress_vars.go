package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/ingress"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ingressVariables is the ingress's link to its variables (certificates
// and ACME state below structs.IngressVariablePrefix, default namespace):
// the node's secret, naming the node, through the current server.
type ingressVariables struct{ c *Client }

var _ ingress.Variables = ingressVariables{}

func (v ingressVariables) server() *api.Client { return v.c.sess.server() }

// failed marks the server failed unless it answered (a 4xx) or ctx ended
// (srv is the session's, not its AsNode copy).
func (v ingressVariables) failed(ctx context.Context, srv *api.Client, err error) {
	if ctx.Err() == nil && !isClientError(err) {
		v.c.sess.serverFailed(srv)
	}
}

// List implements ingress.Variables.
func (v ingressVariables) List(ctx context.Context, prefix string, waitIndex uint64) ([]*structs.VariableMetadata, uint64, error) {
	srv := v.server()
	list, m, err := srv.AsNode(v.c.NodeID()).Variables(ctx, &api.QueryOptions{Namespace: structs.DefaultNamespace, Prefix: prefix, WaitIndex: waitIndex, WaitTime: allocWait, AllowStale: true})
	if err != nil {
		v.failed(ctx, srv, err)
		return nil, 0, fmt.Errorf("list variables %q from %s: %w", prefix, srv.Address(), err)
	}
	return list, m.LastIndex, nil
}

// Get implements ingress.Variables.
func (v ingressVariables) Get(ctx context.Context, path string) (*structs.VariableDecrypted, error) {
	srv := v.server()
	out, _, err := srv.AsNode(v.c.NodeID()).Variable(ctx, path, &api.QueryOptions{Namespace: structs.DefaultNamespace})
	if api.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		v.failed(ctx, srv, err)
		return nil, fmt.Errorf("read variable %q from %s: %w", path, srv.Address(), err)
	}
	return out, nil
}

// Put implements ingress.Variables.
func (v ingressVariables) Put(ctx context.Context, in *structs.VariableDecrypted, cas *uint64) error {
	srv := v.server()
	_, err := srv.AsNode(v.c.NodeID()).PutVariable(ctx, in, "", cas)
	var c *api.ErrVariableConflict
	if errors.As(err, &c) {
		return fmt.Errorf("write variable %q: %w", in.Path, ingress.ErrConflict)
	}
	if err != nil {
		v.failed(ctx, srv, err)
		return fmt.Errorf("write variable %q on %s: %w", in.Path, srv.Address(), err)
	}
	return nil
}

// Delete implements ingress.Variables.
func (v ingressVariables) Delete(ctx context.Context, path string) error {
	srv := v.server()
	err := srv.AsNode(v.c.NodeID()).DeleteVariable(ctx, structs.DefaultNamespace, path, nil)
	if err != nil && !api.IsNotFound(err) {
		v.failed(ctx, srv, err)
		return fmt.Errorf("delete variable %q on %s: %w", path, srv.Address(), err)
	}
	return nil
}
