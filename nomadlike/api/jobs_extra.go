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

// JobSubmission reads the source a job version was submitted with (GET
// /v1/job/{id}/submission?version=N); version < 0 means the current one.
func (c *Client) JobSubmission(ctx context.Context, id string, version int64, q *QueryOptions) (*structs.JobSubmission, error) {
	var out structs.JobSubmission
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	if version >= 0 {
		qq.Params = map[string]string{"version": strconv.FormatInt(version, 10)}
	}
	_, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/submission", &qq, &out)
	return &out, err
}

// TagJobVersion names version of a job (PUT
// /v1/job/{id}/versions/{name}/tag).
func (c *Client) TagJobVersion(ctx context.Context, id, name, description string, version uint64, q *QueryOptions) error {
	body := struct {
		JobID       string
		Version     uint64
		Description string
	}{id, version, description}
	return c.write(ctx, http.MethodPut, "/v1/job/"+pathEscape(id)+"/versions/"+pathEscape(name)+"/tag", q, body, nil)
}

// UntagJobVersion removes the tag name from a job's version (DELETE
// /v1/job/{id}/versions/{name}/tag).
func (c *Client) UntagJobVersion(ctx context.Context, id, name string, q *QueryOptions) error {
	return c.write(ctx, http.MethodDelete, "/v1/job/"+pathEscape(id)+"/versions/"+pathEscape(name)+"/tag", q, nil, nil)
}
