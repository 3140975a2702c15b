package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ListServices lists the services registered in a namespace (GET
// /v1/services; "*" in q.Namespace for all): names with their tags.
func (c *Client) ListServices(ctx context.Context, q *QueryOptions) ([]*structs.ServiceRegistrationListStub, *QueryMeta, error) {
	var out []*structs.ServiceRegistrationListStub
	m, err := c.query(ctx, "/v1/services", q, &out)
	return out, m, err
}

// ServiceRegistrations reads one service's registrations (GET
// /v1/service/{name}); with q.WaitIndex it is a blocking query.
func (c *Client) ServiceRegistrations(ctx context.Context, name string, q *QueryOptions) ([]*structs.ServiceRegistration, *QueryMeta, error) {
	var out []*structs.ServiceRegistration
	m, err := c.query(ctx, "/v1/service/"+pathEscape(name), q, &out)
	return out, m, err
}

// DeleteServiceRegistration removes one registration (DELETE
// /v1/service/{name}/{id}).
func (c *Client) DeleteServiceRegistration(ctx context.Context, name, id string, q *QueryOptions) error {
	var out structs.GenericResponse
	return c.write(ctx, http.MethodDelete, "/v1/service/"+pathEscape(name)+"/"+pathEscape(id), q, nil, &out)
}

// UpdateAllocServices replaces one allocation's service registrations
// (PUT /v1/node/{id}/services); an empty list removes them. The client
// must be created with the node's secret as its token.
func (c *Client) UpdateAllocServices(ctx context.Context, nodeID string, req *structs.ServiceRegistrationAllocRequest) (*structs.GenericResponse, error) {
	var out structs.GenericResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/services", nil, req, &out)
}

// AllocChecks reads the latest results of an allocation's service checks
// by check ID (GET /v1/client/allocation/{id}/checks).
func (c *Client) AllocChecks(ctx context.Context, allocID string, q *QueryOptions) (map[string]*structs.CheckQueryResult, error) {
	var out map[string]*structs.CheckQueryResult
	_, err := c.query(ctx, "/v1/client/allocation/"+pathEscape(allocID)+"/checks", q, &out)
	return out, err
}
