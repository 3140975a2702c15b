package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// Server list handling. The client starts with the configured servers
// (client.servers, server_join.retry_join). Every registration and
// heartbeat reply carries the HTTP addresses of the cluster's alive
// servers; the client adopts them, so it can fail over to servers it was
// never told about. On a failed call it rotates to the next server
// (serverFailed), and the server it talks to answers writes by forwarding
// them to the leader.

// updateServers replaces the server list with the reported servers
// (host:port or URLs) followed by the configured ones, without
// duplicates, keeping the current server current. An empty report changes
// nothing.
func (c *Client) updateServers(reported []string) {
	if len(reported) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	current := c.servers[c.serverIdx%len(c.servers)]
	existing := map[string]*api.Client{}
	for _, s := range c.servers {
		existing[s.Address()] = s
	}
	var list []*api.Client
	seen := map[string]bool{}
	add := func(addr string) {
		u := c.serverURL(addr)
		if u == "" || seen[u] {
			return
		}
		seen[u] = true
		if s, ok := existing[u]; ok {
			list = append(list, s)
			return
		}
		s, err := c.apiClient(u)
		if err != nil {
			c.cfg.Logger.Warn("ignoring a server address the cluster reported", "address", addr, "error", err)
			return
		}
		list = append(list, s)
	}
	for _, r := range reported {
		add(r)
	}
	for _, s := range c.cfg.Servers {
		add(s)
	}
	if len(list) == 0 {
		return
	}
	changed := len(list) != len(c.servers)
	for i := range list {
		if !changed && list[i] != c.servers[i] {
			changed = true
		}
	}
	if !changed {
		return
	}
	c.servers, c.serverIdx = list, 0
	for i, s := range list {
		if s == current {
			c.serverIdx = i
		}
	}
	addrs := make([]string, len(list))
	for i, s := range list {
		addrs[i] = s.Address()
	}
	c.cfg.Logger.Info("server list updated from the cluster", "servers", addrs)
}

// apiClient is a client of the server at base URL u, authenticated by the
// node's secret, dialling with the client's TLS configuration.
func (c *Client) apiClient(u string) (*api.Client, error) {
	return api.NewClient(api.Config{Address: u, Token: c.id.SecretID, TLSClientConfig: c.cfg.TLS})
}

// serverURL turns "host:port" into "http://host:port" ("https://" with
// TLS); URLs stay as they are.
func (c *Client) serverURL(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	if !strings.Contains(addr, "://") {
		scheme := "http://"
		if c.cfg.TLS != nil {
			scheme = "https://"
		}
		addr = scheme + addr
	}
	return strings.TrimSuffix(addr, "/")
}

// Servers returns the servers' URLs the client currently knows, the one
// in use first.
func (c *Client) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.servers))
	for i := range c.servers {
		out = append(out, c.servers[(c.serverIdx+i)%len(c.servers)].Address())
	}
	return out
}

// SetServers replaces the servers the client talks to with addrs (host:port
// or URLs), as Nomad's PUT /v1/agent/servers does; they also become the
// fallback kept behind the servers the cluster reports later. The client
// moves to the first of them at its next call. An empty list is an error.
func (c *Client) SetServers(addrs []string) error {
	var list []*api.Client
	var urls []string
	seen := map[string]bool{}
	for _, a := range addrs {
		u := c.serverURL(a)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		s, err := c.apiClient(u)
		if err != nil {
			return fmt.Errorf("server address %q: %w", a, err)
		}
		list = append(list, s)
		urls = append(urls, u)
	}
	if len(list) == 0 {
		return errors.New("at least one server address is required")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.servers, c.serverIdx = list, 0
	c.cfg.Servers = urls
	c.cfg.Logger.Info("server list replaced", "servers", urls)
	return nil
}
