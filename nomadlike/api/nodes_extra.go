package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodePools lists node pools (GET /v1/node/pools; q.Prefix and q.Filter apply).
func (c *Client) NodePools(ctx context.Context, q *QueryOptions) ([]*structs.NodePool, error) {
	var out []*structs.NodePool
	_, err := c.query(ctx, "/v1/node/pools", q, &out)
	return out, err
}

// NodePool reads one node pool (GET /v1/node/pool/{name}).
func (c *Client) NodePool(ctx context.Context, name string) (*structs.NodePool, error) {
	var out structs.NodePool
	_, err := c.query(ctx, "/v1/node/pool/"+pathEscape(name), nil, &out)
	return &out, err
}

// UpsertNodePool creates or replaces a node pool (PUT /v1/node/pools).
func (c *Client) UpsertNodePool(ctx context.Context, p *structs.NodePool) error {
	return c.write(ctx, http.MethodPut, "/v1/node/pools", nil, p, nil)
}

// DeleteNodePool removes a node pool (DELETE /v1/node/pool/{name}).
func (c *Client) DeleteNodePool(ctx context.Context, name string) error {
	return c.write(ctx, http.MethodDelete, "/v1/node/pool/"+pathEscape(name), nil, nil, nil)
}

// NodePoolNodes lists the nodes of a pool (GET /v1/node/pool/{name}/nodes).
func (c *Client) NodePoolNodes(ctx context.Context, name string, q *QueryOptions) ([]*structs.NodeListStub, error) {
	var out []*structs.NodeListStub
	_, err := c.query(ctx, "/v1/node/pool/"+pathEscape(name)+"/nodes", q, &out)
	return out, err
}

// NodePoolJobs lists the jobs of a pool (GET /v1/node/pool/{name}/jobs).
func (c *Client) NodePoolJobs(ctx context.Context, name string, q *QueryOptions) ([]*structs.JobListStub, error) {
	var out []*structs.JobListStub
	_, err := c.query(ctx, "/v1/node/pool/"+pathEscape(name)+"/jobs", q, &out)
	return out, err
}

// NodeMeta reads a node's metadata from its client (GET
// /v1/client/metadata; nodeID "" is the node of the agent asked).
func (c *Client) NodeMeta(ctx context.Context, nodeID string) (*structs.NodeMetaResponse, error) {
	var q *QueryOptions
	if nodeID != "" {
		q = &QueryOptions{Params: map[string]string{"node_id": nodeID}}
	}
	var out structs.NodeMetaResponse
	_, err := c.query(ctx, "/v1/client/metadata", q, &out)
	return &out, err
}

// ApplyNodeMeta changes a node's dynamic metadata (POST /v1/client/metadata).
func (c *Client) ApplyNodeMeta(ctx context.Context, req *structs.NodeMetaApplyRequest) (*structs.NodeMetaResponse, error) {
	var out structs.NodeMetaResponse
	return &out, c.write(ctx, http.MethodPost, "/v1/client/metadata", nil, req, &out)
}
