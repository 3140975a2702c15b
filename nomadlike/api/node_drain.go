package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateNodeDrain starts (spec set) or ends (spec nil) a node's drain;
// markEligible makes the node eligible again when ending it.
func (c *Client) UpdateNodeDrain(ctx context.Context, nodeID string, spec *structs.DrainSpec, markEligible bool) (*structs.NodeDrainUpdateResponse, error) {
	var out structs.NodeDrainUpdateResponse
	req := &structs.NodeUpdateDrainRequest{NodeID: nodeID, DrainSpec: spec, MarkEligible: markEligible}
	if err := c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/drain", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateNodeEligibility marks a node eligible or ineligible for placements.
func (c *Client) UpdateNodeEligibility(ctx context.Context, nodeID string, eligible bool) (*structs.NodeEligibilityUpdateResponse, error) {
	e := structs.NodeSchedulingEligible
	if !eligible {
		e = structs.NodeSchedulingIneligible
	}
	var out structs.NodeEligibilityUpdateResponse
	req := &structs.NodeUpdateEligibilityRequest{NodeID: nodeID, Eligibility: e}
	if err := c.write(ctx, http.MethodPut, "/v1/node/"+pathEscape(nodeID)+"/eligibility", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SchedulerConfig returns the cluster's scheduler configuration.
func (c *Client) SchedulerConfig(ctx context.Context, q *QueryOptions) (*structs.SchedulerConfigResponse, error) {
	var out structs.SchedulerConfigResponse
	if _, err := c.query(ctx, "/v1/operator/scheduler/configuration", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSchedulerConfig stores the scheduler configuration; with cas it is
// stored only if the stored one's ModifyIndex is config.ModifyIndex.
func (c *Client) SetSchedulerConfig(ctx context.Context, config *structs.SchedulerConfig, cas bool) (*structs.SchedulerSetConfigResponse, error) {
	path := "/v1/operator/scheduler/configuration"
	if cas {
		path += "?cas=" + strconv.FormatUint(config.ModifyIndex, 10)
	}
	var out structs.SchedulerSetConfigResponse
	if err := c.write(ctx, http.MethodPut, path, nil, config, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
