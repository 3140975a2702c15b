package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BootstrapACL creates the first management token (PUT /v1/acl/bootstrap).
func (c *Client) BootstrapACL(ctx context.Context) (*structs.ACLToken, error) {
	var out structs.ACLToken
	return &out, c.write(ctx, http.MethodPut, "/v1/acl/bootstrap", nil, nil, &out)
}

// ACLPolicies lists the policies the token may see (GET /v1/acl/policies).
func (c *Client) ACLPolicies(ctx context.Context, q *QueryOptions) ([]*structs.ACLPolicyListStub, error) {
	var out []*structs.ACLPolicyListStub
	_, err := c.query(ctx, "/v1/acl/policies", q, &out)
	return out, err
}

// ACLPolicy reads one policy (GET /v1/acl/policy/{name}).
func (c *Client) ACLPolicy(ctx context.Context, name string) (*structs.ACLPolicy, error) {
	var out structs.ACLPolicy
	_, err := c.query(ctx, "/v1/acl/policy/"+pathEscape(name), nil, &out)
	return &out, err
}

// UpsertACLPolicy creates or updates a policy (PUT /v1/acl/policy/{name}).
func (c *Client) UpsertACLPolicy(ctx context.Context, p *structs.ACLPolicy) error {
	return c.write(ctx, http.MethodPut, "/v1/acl/policy/"+pathEscape(p.Name), nil, p, nil)
}

// DeleteACLPolicy removes a policy (DELETE /v1/acl/policy/{name}).
func (c *Client) DeleteACLPolicy(ctx context.Context, name string) error {
	return c.write(ctx, http.MethodDelete, "/v1/acl/policy/"+pathEscape(name), nil, nil, nil)
}

// ACLTokens lists tokens (GET /v1/acl/tokens, management only).
func (c *Client) ACLTokens(ctx context.Context, q *QueryOptions) ([]*structs.ACLTokenListStub, error) {
	var out []*structs.ACLTokenListStub
	_, err := c.query(ctx, "/v1/acl/tokens", q, &out)
	return out, err
}

// ACLToken reads a token by accessor ID, or the request's own with "self".
func (c *Client) ACLToken(ctx context.Context, accessorID string) (*structs.ACLToken, error) {
	var out structs.ACLToken
	_, err := c.query(ctx, "/v1/acl/token/"+pathEscape(accessorID), nil, &out)
	return &out, err
}

// CreateACLToken creates a token and returns it with its secret (PUT /v1/acl/token).
func (c *Client) CreateACLToken(ctx context.Context, t *structs.ACLToken) (*structs.ACLToken, error) {
	var out structs.ACLToken
	return &out, c.write(ctx, http.MethodPut, "/v1/acl/token", nil, t, &out)
}

// UpdateACLToken updates a token (PUT /v1/acl/token/{accessor}).
func (c *Client) UpdateACLToken(ctx context.Context, t *structs.ACLToken) (*structs.ACLToken, error) {
	var out structs.ACLToken
	return &out, c.write(ctx, http.MethodPut, "/v1/acl/token/"+pathEscape(t.AccessorID), nil, t, &out)
}

// DeleteACLToken removes a token (DELETE /v1/acl/token/{accessor}).
func (c *Client) DeleteACLToken(ctx context.Context, accessorID string) error {
	return c.write(ctx, http.MethodDelete, "/v1/acl/token/"+pathEscape(accessorID), nil, nil, nil)
}

// ACLRoles lists roles (GET /v1/acl/roles).
func (c *Client) ACLRoles(ctx context.Context, q *QueryOptions) ([]*structs.ACLRoleListStub, error) {
	var out []*structs.ACLRoleListStub
	_, err := c.query(ctx, "/v1/acl/roles", q, &out)
	return out, err
}

// ACLRole reads a role by ID (GET /v1/acl/role/{id}) or, with byName, by name.
func (c *Client) ACLRole(ctx context.Context, idOrName string, byName bool) (*structs.ACLRole, error) {
	path := "/v1/acl/role/" + pathEscape(idOrName)
	if byName {
		path = "/v1/acl/role/name/" + pathEscape(idOrName)
	}
	var out structs.ACLRole
	_, err := c.query(ctx, path, nil, &out)
	return &out, err
}

// UpsertACLRole creates (no ID) or updates a role.
func (c *Client) UpsertACLRole(ctx context.Context, r *structs.ACLRole) (*structs.ACLRole, error) {
	path := "/v1/acl/role"
	if r.ID != "" {
		path += "/" + pathEscape(r.ID)
	}
	var out structs.ACLRole
	return &out, c.write(ctx, http.MethodPut, path, nil, r, &out)
}

// DeleteACLRole removes a role (DELETE /v1/acl/role/{id}).
func (c *Client) DeleteACLRole(ctx context.Context, id string) error {
	return c.write(ctx, http.MethodDelete, "/v1/acl/role/"+pathEscape(id), nil, nil, nil)
}

// Namespaces lists the namespaces the token may see (GET /v1/namespaces).
func (c *Client) Namespaces(ctx context.Context, q *QueryOptions) ([]*structs.Namespace, error) {
	var out []*structs.Namespace
	_, err := c.query(ctx, "/v1/namespaces", q, &out)
	return out, err
}

// Namespace reads one namespace (GET /v1/namespace/{name}).
func (c *Client) Namespace(ctx context.Context, name string) (*structs.Namespace, error) {
	var out structs.Namespace
	_, err := c.query(ctx, "/v1/namespace/"+pathEscape(name), nil, &out)
	return &out, err
}

// UpsertNamespace creates or updates a namespace (PUT /v1/namespace).
func (c *Client) UpsertNamespace(ctx context.Context, n *structs.Namespace) error {
	return c.write(ctx, http.MethodPut, "/v1/namespace", nil, n, nil)
}

// DeleteNamespace removes a namespace (DELETE /v1/namespace/{name}).
func (c *Client) DeleteNamespace(ctx context.Context, name string) error {
	return c.write(ctx, http.MethodDelete, "/v1/namespace/"+pathEscape(name), nil, nil, nil)
}
