package api

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ListDeployments lists deployments (GET /v1/deployments), filtered by
// ID prefix with q.Prefix.
func (c *Client) ListDeployments(ctx context.Context, q *QueryOptions) ([]*structs.Deployment, *QueryMeta, error) {
	var out []*structs.Deployment
	m, err := c.query(ctx, "/v1/deployments", q, &out)
	return out, m, err
}

// Deployment reads one deployment by its full ID (GET /v1/deployment/{id}).
func (c *Client) Deployment(ctx context.Context, id string, q *QueryOptions) (*structs.Deployment, *QueryMeta, error) {
	var out structs.Deployment
	m, err := c.query(ctx, "/v1/deployment/"+pathEscape(id), q, &out)
	if err != nil {
		return nil, m, err
	}
	return &out, m, nil
}

// DeploymentAllocations lists the allocations a deployment placed
// (GET /v1/deployment/allocations/{id}).
func (c *Client) DeploymentAllocations(ctx context.Context, id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	var out []*structs.AllocListStub
	m, err := c.query(ctx, "/v1/deployment/allocations/"+pathEscape(id), q, &out)
	return out, m, err
}

// JobDeployments lists a job's deployments, newest first
// (GET /v1/job/{id}/deployments).
func (c *Client) JobDeployments(ctx context.Context, jobID string, q *QueryOptions) ([]*structs.Deployment, *QueryMeta, error) {
	var out []*structs.Deployment
	m, err := c.query(ctx, "/v1/job/"+pathEscape(jobID)+"/deployments", q, &out)
	return out, m, err
}

// LatestDeployment reads a job's most recent deployment, nil when it has
// none (GET /v1/job/{id}/deployment).
func (c *Client) LatestDeployment(ctx context.Context, jobID string, q *QueryOptions) (*structs.Deployment, *QueryMeta, error) {
	var out *structs.Deployment
	m, err := c.query(ctx, "/v1/job/"+pathEscape(jobID)+"/deployment", q, &out)
	return out, m, err
}

// FailDeployment fails a running deployment (PUT /v1/deployment/fail/{id});
// with auto_revert the job rolls back to its last stable version.
func (c *Client) FailDeployment(ctx context.Context, id string, q *QueryOptions) (*structs.DeploymentUpdateResponse, error) {
	var out structs.DeploymentUpdateResponse
	req := &structs.DeploymentFailRequest{DeploymentID: id}
	return &out, c.write(ctx, http.MethodPut, "/v1/deployment/fail/"+pathEscape(id), q, req, &out)
}

// PauseDeployment pauses (pause true) or resumes a deployment
// (PUT /v1/deployment/pause/{id}).
func (c *Client) PauseDeployment(ctx context.Context, id string, pause bool, q *QueryOptions) (*structs.DeploymentUpdateResponse, error) {
	var out structs.DeploymentUpdateResponse
	req := &structs.DeploymentPauseRequest{DeploymentID: id, Pause: pause}
	return &out, c.write(ctx, http.MethodPut, "/v1/deployment/pause/"+pathEscape(id), q, req, &out)
}

// PromoteDeployment promotes the canaries of the named groups, or of every
// group when groups is empty (PUT /v1/deployment/promote/{id}).
func (c *Client) PromoteDeployment(ctx context.Context, id string, groups []string, q *QueryOptions) (*structs.DeploymentUpdateResponse, error) {
	var out structs.DeploymentUpdateResponse
	req := &structs.DeploymentPromoteRequest{DeploymentID: id, All: len(groups) == 0, Groups: groups}
	return &out, c.write(ctx, http.MethodPut, "/v1/deployment/promote/"+pathEscape(id), q, req, &out)
}

// SetDeploymentAllocHealth marks allocations of a deployment healthy or
// unhealthy by hand (PUT /v1/deployment/allocation-health/{id}), as a
// group with health_check = "manual" needs.
func (c *Client) SetDeploymentAllocHealth(ctx context.Context, id string, healthy, unhealthy []string, q *QueryOptions) (*structs.DeploymentUpdateResponse, error) {
	var out structs.DeploymentUpdateResponse
	req := &structs.DeploymentAllocHealthRequest{DeploymentID: id, HealthyAllocationIDs: healthy, UnhealthyAllocationIDs: unhealthy}
	return &out, c.write(ctx, http.MethodPut, "/v1/deployment/allocation-health/"+pathEscape(id), q, req, &out)
}
