package api

import (
	"context"
	"net/http"
)

// GarbageCollect asks the servers to collect every terminal job,
// evaluation, allocation, deployment and down node now (PUT /v1/system/gc).
func (c *Client) GarbageCollect(ctx context.Context) error {
	return c.write(ctx, http.MethodPut, "/v1/system/gc", nil, nil, nil)
}

// GarbageCollectAlloc asks the node running a terminal allocation to
// destroy its directory (GET /v1/client/allocation/{id}/gc).
func (c *Client) GarbageCollectAlloc(ctx context.Context, allocID string) error {
	return c.write(ctx, http.MethodGet, "/v1/client/allocation/"+pathEscape(allocID)+"/gc", nil, nil, nil)
}

// GarbageCollectNode asks a node (nodeID, or the agent's own client when
// empty) to destroy the directories of all its terminal allocations
// (GET /v1/client/gc?node_id=).
func (c *Client) GarbageCollectNode(ctx context.Context, nodeID string) error {
	var q *QueryOptions
	if nodeID != "" {
		q = &QueryOptions{Params: map[string]string{"node_id": nodeID}}
	}
	return c.write(ctx, http.MethodGet, "/v1/client/gc", q, nil, nil)
}

// ReconcileSummaries asks the servers to recount every job summary
// (PUT /v1/system/reconcile/summaries).
func (c *Client) ReconcileSummaries(ctx context.Context) error {
	return c.write(ctx, http.MethodPut, "/v1/system/reconcile/summaries", nil, nil, nil)
}
