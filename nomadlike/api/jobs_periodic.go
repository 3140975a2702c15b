package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ForcePeriodicJob launches a child of a periodic job now
// (PUT /v1/job/{id}/periodic/force).
func (c *Client) ForcePeriodicJob(ctx context.Context, id string, q *QueryOptions) (*structs.PeriodicForceResponse, error) {
	var out structs.PeriodicForceResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(id)+"/periodic/force", q, nil, &out)
}

// DispatchJob instantiates a parameterized job with a payload and meta
// (PUT /v1/job/{id}/dispatch).
func (c *Client) DispatchJob(ctx context.Context, req *structs.JobDispatchRequest, q *QueryOptions) (*structs.JobDispatchResponse, error) {
	var out structs.JobDispatchResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(req.JobID)+"/dispatch", q, req, &out)
}

// ScaleJob sets the count of one group of a job (PUT /v1/job/{id}/scale).
func (c *Client) ScaleJob(ctx context.Context, id, group string, count int64, message string, q *QueryOptions) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	req := &structs.ScalingRequest{Count: &count, Target: map[string]string{"Job": id, structs.ScalingTargetGroup: group}, Message: message}
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(id)+"/scale", q, req, &out)
}

// JobScaleStatus returns each group's desired and actual counts
// (GET /v1/job/{id}/scale).
func (c *Client) JobScaleStatus(ctx context.Context, id string, q *QueryOptions) (*structs.JobScaleStatusResponse, *QueryMeta, error) {
	var out structs.JobScaleStatusResponse
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/scale", q, &out)
	return &out, m, err
}
