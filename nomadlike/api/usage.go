package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ReportNodeUsage sends a client's allocation usage to the servers (PUT
// /v1/node/{id}/usage). The client must be created with the node's secret.
func (c *Client) ReportNodeUsage(ctx context.Context, nodeID string, r *structs.NodeUsageReport) error {
	var out structs.GenericResponse
	return c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/usage", nil, r, &out)
}

// ScalingPolicyInfo is a scaling policy with the built-in autoscaler's
// last decision about it (nil before its first evaluation).
type ScalingPolicyInfo struct {
	structs.ScalingPolicy
	LastDecision *structs.ScalingDecision
}

// ScalingPolicies lists the scaling policies (GET /v1/scaling/policies).
func (c *Client) ScalingPolicies(ctx context.Context, q *QueryOptions) ([]*structs.ScalingPolicyListStub, error) {
	var out []*structs.ScalingPolicyListStub
	_, err := c.query(ctx, "/v1/scaling/policies", q, &out)
	return out, err
}

// ScalingPolicy reads one policy (GET /v1/scaling/policy/{id}).
func (c *Client) ScalingPolicy(ctx context.Context, id string, q *QueryOptions) (*ScalingPolicyInfo, error) {
	var out ScalingPolicyInfo
	_, err := c.query(ctx, "/v1/scaling/policy/"+pathEscape(id), q, &out)
	return &out, err
}
