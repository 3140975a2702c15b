package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodeClientAllocs is the client protocol's allocation watch (GET
// /v1/node/{id}/client-allocations, a blocking query): the AllocModifyIndex
// of each of the node's allocations by ID. The client must be created with
// the node's secret as its token.
func (c *Client) NodeClientAllocs(ctx context.Context, nodeID string, q *QueryOptions) (*structs.NodeClientAllocs, *QueryMeta, error) {
	var out structs.NodeClientAllocs
	m, err := c.query(ctx, "/v1/node/"+pathEscape(nodeID)+"/client-allocations", q, &out)
	return &out, m, err
}

// PullNodeAllocs fetches some of the node's allocations without their jobs,
// with the job versions they run that are not in req.HaveJobs
// (PUT /v1/node/{id}/client-allocations).
func (c *Client) PullNodeAllocs(ctx context.Context, nodeID string, req *structs.NodeAllocsPullRequest) (*structs.NodeAllocsPullResponse, error) {
	var out structs.NodeAllocsPullResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/client-allocations", nil, req, &out)
}
