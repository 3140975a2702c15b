package api

import (
	"context"
	"net/http"
	"strings"
)

// AgentServers lists the servers a client agent knows, the one in use
// first (GET /v1/agent/servers).
func (c *Client) AgentServers(ctx context.Context) ([]string, error) {
	var out []string
	if _, err := c.query(ctx, "/v1/agent/servers", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// SetAgentServers replaces a client agent's server list (PUT
// /v1/agent/servers?address=...).
func (c *Client) SetAgentServers(ctx context.Context, addrs []string) error {
	q := &QueryOptions{Params: map[string]string{"address": strings.Join(addrs, ",")}}
	return c.write(ctx, http.MethodPut, "/v1/agent/servers", q, nil, nil)
}
