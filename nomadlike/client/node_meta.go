package client

import (
	"context"
	"maps"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// defaultNodeMeta is the metadata Nomad's client sets on every node unless
// its configuration does (the connect sidecar and gateway images, the
// Envoy log level and concurrency), with Nomad's default values: jobs and
// tools written for Nomad interpolate ${meta.connect.*}.
var defaultNodeMeta = map[string]string{
	"connect.sidecar_image":     "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}",
	"connect.gateway_image":     "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}",
	"connect.log_level":         "info",
	"connect.proxy_concurrency": "1",
}

// staticMeta is the node metadata of the agent configuration with the
// defaults it does not set.
func (c *Client) staticMeta() map[string]string {
	out := maps.Clone(defaultNodeMeta)
	maps.Copy(out, c.cfg.Meta)
	return out
}

// NodeMeta returns the node's static, dynamic and merged metadata.
func (c *Client) NodeMeta() *structs.NodeMetaResponse {
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	return c.nodeMetaLocked()
}

func (c *Client) nodeMetaLocked() *structs.NodeMetaResponse {
	static := c.staticMeta()
	return &structs.NodeMetaResponse{
		Meta: structs.MergeNodeMeta(static, c.dynMeta), Dynamic: maps.Clone(c.dynMeta), Static: static,
	}
}

// ApplyNodeMeta changes the node's dynamic metadata (a nil value removes
// the key, a static one too), keeps it in the client's state so it outlives
// a restart, and registers the node again so the servers (and constraints
// on ${meta.*}) see it.
func (c *Client) ApplyNodeMeta(_ context.Context, req *structs.NodeMetaApplyRequest) (*structs.NodeMetaResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	next := maps.Clone(c.dynMeta)
	if next == nil {
		next = map[string]*string{}
	}
	for k, v := range req.Meta {
		if v != nil {
			s := *v
			v = &s
		}
		next[k] = v
	}
	if err := c.db.PutDynamicMeta(next); err != nil {
		return nil, err
	}
	c.dynMeta = next
	if n := c.sess.Node(); n != nil {
		n.Meta = structs.MergeNodeMeta(c.staticMeta(), next)
		c.sess.SetNode(n) // registers it again
	}
	c.cfg.Logger.Info("dynamic node metadata applied", "keys", len(req.Meta))
	return c.nodeMetaLocked(), nil
}
