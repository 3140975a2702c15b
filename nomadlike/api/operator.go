package api

import (
	"context"
	"fmt"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// KeyringResponse is the reply of /v1/agent/keyring/*.
type KeyringResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
}

// Members lists the servers' serf pool (GET /v1/agent/members).
func (c *Client) Members(ctx context.Context) (*structs.ServerMembers, error) {
	var out structs.ServerMembers
	if _, err := c.query(ctx, "/v1/agent/members", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Join asks the agent's server to join the serf pool at addrs (PUT
// /v1/agent/join). It returns how many were joined; a failed join is an error.
func (c *Client) Join(ctx context.Context, addrs ...string) (int, error) {
	q := &QueryOptions{Params: map[string]string{"address": strings.Join(addrs, ",")}}
	var out struct {
		NumJoined int    `json:"num_joined"`
		Error     string `json:"error"`
	}
	if err := c.write(ctx, http.MethodPut, "/v1/agent/join", q, nil, &out); err != nil {
		return 0, err
	}
	if out.Error != "" {
		return out.NumJoined, fmt.Errorf("join %v: %s", addrs, out.Error)
	}
	return out.NumJoined, nil
}

// ForceLeave marks a failed member as left (PUT /v1/agent/force-leave).
func (c *Client) ForceLeave(ctx context.Context, node string, prune bool) error {
	q := &QueryOptions{Params: map[string]string{"node": node}}
	if prune {
		q.Params["prune"] = "true"
	}
	return c.write(ctx, http.MethodPut, "/v1/agent/force-leave", q, nil, nil)
}

// Peers returns the Raft peers' addresses (GET /v1/status/peers).
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var out []string
	if _, err := c.query(ctx, "/v1/status/peers", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RaftConfiguration returns the Raft configuration
// (GET /v1/operator/raft/configuration).
func (c *Client) RaftConfiguration(ctx context.Context, q *QueryOptions) (*structs.RaftConfiguration, error) {
	var out structs.RaftConfiguration
	if _, err := c.query(ctx, "/v1/operator/raft/configuration", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveRaftPeer removes a server from Raft by ID
// (DELETE /v1/operator/raft/peer?id=).
func (c *Client) RemoveRaftPeer(ctx context.Context, id string) error {
	q := &QueryOptions{Params: map[string]string{"id": id}}
	return c.write(ctx, http.MethodDelete, "/v1/operator/raft/peer", q, nil, nil)
}

// SnapshotSave streams a snapshot archive of the cluster's state into w
// (GET /v1/operator/snapshot). It returns the snapshot's Raft index.
func (c *Client) SnapshotSave(ctx context.Context, q *QueryOptions, w io.Writer) (uint64, error) {
	resp, err := c.Do(ctx, http.MethodGet, "/v1/operator/snapshot", q, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /v1/operator/snapshot: download: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return 0, fmt.Errorf("GET /v1/operator/snapshot: got %d bytes, want %d: the download was cut short", n, resp.ContentLength)
	}
	index, _ := strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	return index, nil
}

// SnapshotRestore replaces the cluster's state with the archive read from r
// (PUT /v1/operator/snapshot).
func (c *Client) SnapshotRestore(ctx context.Context, r io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url("/v1/operator/snapshot", nil), r)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("X-Nomad-Token", c.token)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg)), Method: http.MethodPut, Path: "/v1/operator/snapshot"}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// Keyring runs a gossip keyring operation: op is "list", "install", "use"
// or "remove"; key is ignored for list.
func (c *Client) Keyring(ctx context.Context, op, key string) (*KeyringResponse, error) {
	var out KeyringResponse
	path := "/v1/agent/keyring/" + op
	if op == "list" {
		if _, err := c.query(ctx, path, nil, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if err := c.write(ctx, http.MethodPut, path, nil, map[string]string{"Key": key}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
