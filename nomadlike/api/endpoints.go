package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// RegisterJob submits a job (PUT /v1/jobs).
func (c *Client) RegisterJob(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/jobs", nil, req, &out)
}

// ParseJob parses HCL on the server (PUT /v1/jobs/parse).
func (c *Client) ParseJob(ctx context.Context, hcl string) (*structs.Job, error) {
	var out structs.Job
	return &out, c.write(ctx, http.MethodPut, "/v1/jobs/parse", nil, &structs.JobsParseRequest{JobHCL: hcl, Canonicalize: true}, &out)
}

// ListJobs lists jobs (GET /v1/jobs).
func (c *Client) ListJobs(ctx context.Context, q *QueryOptions) ([]*structs.JobListStub, *QueryMeta, error) {
	var out []*structs.JobListStub
	m, err := c.query(ctx, "/v1/jobs", q, &out)
	return out, m, err
}

// Job reads a job (GET /v1/job/{id}).
func (c *Client) Job(ctx context.Context, id string, q *QueryOptions) (*structs.Job, *QueryMeta, error) {
	var out structs.Job
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id), q, &out)
	return &out, m, err
}

// DeregisterJob stops a job, or purges it (DELETE /v1/job/{id}).
func (c *Client) DeregisterJob(ctx context.Context, id string, purge bool) (*structs.JobDeregisterResponse, error) {
	return c.DeregisterJobOpts(ctx, id, structs.JobDeregisterOptions{Purge: purge})
}

// DeregisterJobOpts is DeregisterJob with Nomad's options (eval_priority,
// no_shutdown_delay).
func (c *Client) DeregisterJobOpts(ctx context.Context, id string, opts structs.JobDeregisterOptions) (*structs.JobDeregisterResponse, error) {
	var out structs.JobDeregisterResponse
	q := &QueryOptions{Params: map[string]string{"purge": strconv.FormatBool(opts.Purge)}}
	if opts.EvalPriority != 0 {
		q.Params["eval_priority"] = strconv.Itoa(opts.EvalPriority)
	}
	if opts.NoShutdownDelay {
		q.Params["no_shutdown_delay"] = "true"
	}
	return &out, c.write(ctx, http.MethodDelete, "/v1/job/"+pathEscape(id), q, nil, &out)
}

// JobAllocations lists a job's allocations (GET /v1/job/{id}/allocations).
func (c *Client) JobAllocations(ctx context.Context, id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	var out []*structs.AllocListStub
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/allocations", q, &out)
	return out, m, err
}

// JobEvaluations lists a job's evaluations (GET /v1/job/{id}/evaluations).
func (c *Client) JobEvaluations(ctx context.Context, id string, q *QueryOptions) ([]*structs.Evaluation, *QueryMeta, error) {
	var out []*structs.Evaluation
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/evaluations", q, &out)
	return out, m, err
}

// JobSummary reads a job's summary (GET /v1/job/{id}/summary).
func (c *Client) JobSummary(ctx context.Context, id string, q *QueryOptions) (*structs.JobSummary, *QueryMeta, error) {
	var out structs.JobSummary
	m, err := c.query(ctx, "/v1/job/"+pathEscape(id)+"/summary", q, &out)
	return &out, m, err
}

// ListAllocations lists allocations (GET /v1/allocations).
func (c *Client) ListAllocations(ctx context.Context, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	var out []*structs.AllocListStub
	m, err := c.query(ctx, "/v1/allocations", q, &out)
	return out, m, err
}

// Allocation reads an allocation (GET /v1/allocation/{id}).
func (c *Client) Allocation(ctx context.Context, id string, q *QueryOptions) (*structs.Allocation, *QueryMeta, error) {
	var out structs.Allocation
	m, err := c.query(ctx, "/v1/allocation/"+pathEscape(id), q, &out)
	return &out, m, err
}

// ListEvaluations lists evaluations (GET /v1/evaluations).
func (c *Client) ListEvaluations(ctx context.Context, q *QueryOptions) ([]*structs.Evaluation, *QueryMeta, error) {
	var out []*structs.Evaluation
	m, err := c.query(ctx, "/v1/evaluations", q, &out)
	return out, m, err
}

// Evaluation reads an evaluation (GET /v1/evaluation/{id}).
func (c *Client) Evaluation(ctx context.Context, id string, q *QueryOptions) (*structs.Evaluation, *QueryMeta, error) {
	var out structs.Evaluation
	m, err := c.query(ctx, "/v1/evaluation/"+pathEscape(id), q, &out)
	return &out, m, err
}

// EvaluationAllocations lists the allocations an evaluation made (GET /v1/evaluation/{id}/allocations).
func (c *Client) EvaluationAllocations(ctx context.Context, id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	var out []*structs.AllocListStub
	m, err := c.query(ctx, "/v1/evaluation/"+pathEscape(id)+"/allocations", q, &out)
	return out, m, err
}

// ListNodes lists nodes (GET /v1/nodes).
func (c *Client) ListNodes(ctx context.Context, q *QueryOptions) ([]*structs.NodeListStub, *QueryMeta, error) {
	var out []*structs.NodeListStub
	m, err := c.query(ctx, "/v1/nodes", q, &out)
	return out, m, err
}

// Node reads a node (GET /v1/node/{id}).
func (c *Client) Node(ctx context.Context, id string, q *QueryOptions) (*structs.Node, *QueryMeta, error) {
	var out structs.Node
	m, err := c.query(ctx, "/v1/node/"+pathEscape(id), q, &out)
	return &out, m, err
}

// NodeAllocations lists a node's allocations in full, with their jobs
// (GET /v1/node/{id}/allocations). Clients use it as a blocking query.
func (c *Client) NodeAllocations(ctx context.Context, nodeID string, q *QueryOptions) ([]*structs.Allocation, *QueryMeta, error) {
	var out []*structs.Allocation
	m, err := c.query(ctx, "/v1/node/"+pathEscape(nodeID)+"/allocations", q, &out)
	return out, m, err
}

// RegisterNode registers or re-registers a client node (PUT /v1/node/register).
func (c *Client) RegisterNode(ctx context.Context, node *structs.Node) (*structs.NodeUpdateResponse, error) {
	var out structs.NodeUpdateResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/node/register", nil, &structs.NodeRegisterRequest{Node: node}, &out)
}

// Heartbeat tells the servers the node is alive (PUT /v1/node/{id}/heartbeat).
// The client must be created with the node's secret as its token.
func (c *Client) Heartbeat(ctx context.Context, nodeID string) (*structs.NodeUpdateResponse, error) {
	var out structs.NodeUpdateResponse
	return &out, c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/heartbeat", nil, nil, &out)
}

// Leader returns the leader's RPC address (GET /v1/status/leader).
func (c *Client) Leader(ctx context.Context) (string, error) {
	var out string
	_, err := c.query(ctx, "/v1/status/leader", nil, &out)
	return out, err
}

// AgentSelf returns the agent's configuration and stats (GET /v1/agent/self).
func (c *Client) AgentSelf(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	_, err := c.query(ctx, "/v1/agent/self", nil, &out)
	return out, err
}

// DeleteEvaluations deletes evaluations by ID or, with ids empty, those a
// filter expression selects (DELETE /v1/evaluations); the servers allow it
// only while the eval broker is paused.
func (c *Client) DeleteEvaluations(ctx context.Context, ids []string, filter string, q *QueryOptions) (*structs.EvalDeleteResponse, error) {
	var out structs.EvalDeleteResponse
	body := struct {
		EvalIDs []string `json:",omitempty"`
		Filter  string   `json:",omitempty"`
	}{ids, filter}
	return &out, c.write(ctx, http.MethodDelete, "/v1/evaluations", q, body, &out)
}

// CountEvaluations counts the evaluations a list with q would return
// (GET /v1/evaluations/count, honouring q.Filter and q.Prefix).
func (c *Client) CountEvaluations(ctx context.Context, q *QueryOptions) (int, error) {
	var out struct{ Count int }
	_, err := c.query(ctx, "/v1/evaluations/count", q, &out)
	return out.Count, err
}
