package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// PlanJob dry-runs a job (PUT /v1/job/{id}/plan) and, with diff set,
// returns its diff against the current version.
func (c *Client) PlanJob(ctx context.Context, job *structs.Job, diff bool, q *QueryOptions) (*structs.JobPlanResponse, error) {
	var out structs.JobPlanResponse
	req := &structs.JobPlanRequest{Job: job, Diff: diff}
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(job.ID)+"/plan", q, req, &out)
}

// JobVersions lists a job's kept versions, newest first, with the diff of
// each against the one before when diffs is set (GET /v1/job/{id}/versions).
func (c *Client) JobVersions(ctx context.Context, id string, diffs bool, q *QueryOptions) (*structs.JobVersionsResponse, *QueryMeta, error) {
	var out structs.JobVersionsResponse
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	if diffs {
		params := map[string]string{}
		for k, v := range qq.Params {
			params[k] = v
		}
		params["diffs"] = strconv.FormatBool(true)
		qq.Params = params
	}
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/versions", &qq, &out)
	return &out, m, err
}

// RevertJob registers again version `version` of a job
// (PUT /v1/job/{id}/revert). With enforcePrior set, only if the job is
// still at that version.
func (c *Client) RevertJob(ctx context.Context, id string, version uint64, enforcePrior *uint64, q *QueryOptions) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	req := &structs.JobRevertRequest{JobID: id, JobVersion: version, EnforcePriorVersion: enforcePrior}
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(id)+"/revert", q, req, &out)
}

// StableJob marks a version of a job stable or not (PUT /v1/job/{id}/stable).
func (c *Client) StableJob(ctx context.Context, id string, version uint64, stable bool, q *QueryOptions) (*structs.JobStabilityResponse, error) {
	var out structs.JobStabilityResponse
	req := &structs.JobStabilityRequest{JobID: id, JobVersion: version, Stable: stable}
	return &out, c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(id)+"/stable", q, req, &out)
}

// ValidateJob asks the server to validate a job (PUT /v1/validate/job).
func (c *Client) ValidateJob(ctx context.Context, job *structs.Job, q *QueryOptions) (*structs.JobValidateResponse, error) {
	var out structs.JobValidateResponse
	req := struct{ Job *structs.Job }{Job: job}
	return &out, c.write(ctx, http.MethodPut, "/v1/validate/job", q, &req, &out)
}
