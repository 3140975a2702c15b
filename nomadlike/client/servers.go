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
func (s *Session) updateServers(reported []string) {
	if len(reported) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current := s.servers[s.serverIdx%len(s.servers)]
	existing := map[string]*api.Client{}
	for _, srv := range s.servers {
		existing[srv.Address()] = srv
	}
	var list []*api.Client
	seen := map[string]bool{}
	add := func(addr string) {
		u := s.serverURL(addr)
		if u == "" || seen[u] {
			return
		}
		seen[u] = true
		if srv, ok := existing[u]; ok {
			list = append(list, srv)
			return
		}
		srv, err := s.apiClient(u)
		if err != nil {
			s.cfg.Logger.Warn("ignoring a server address the cluster reported", "address", addr, "error", err)
			return
		}
		list = append(list, srv)
	}
	for _, r := range reported {
		add(r)
	}
	for _, a := range s.cfg.Servers {
		add(a)
	}
	if len(list) == 0 {
		return
	}
	changed := len(list) != len(s.servers)
	for i := range list {
		if !changed && list[i] != s.servers[i] {
			changed = true
		}
	}
	if !changed {
		return
	}
	s.servers, s.serverIdx = list, 0
	for i, srv := range list {
		if srv == current {
			s.serverIdx = i
		}
	}
	addrs := make([]string, len(list))
	for i, srv := range list {
		addrs[i] = srv.Address()
	}
	s.cfg.Logger.Info("server list updated from the cluster", "servers", addrs)
}

// apiClient is a client of the server at base URL u, authenticated by the
// node's secret, dialling with the client's TLS configuration.
func (s *Session) apiClient(u string) (*api.Client, error) {
	return api.NewClient(api.Config{Address: u, Token: s.cfg.SecretID, TLSClientConfig: s.cfg.TLS, HTTPClient: s.cfg.HTTPClient})
}

// serverURL turns "host:port" into "http://host:port" ("https://" with
// TLS); URLs stay as they are.
func (s *Session) serverURL(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	if !strings.Contains(addr, "://") {
		scheme := "http://"
		if s.cfg.TLS != nil {
			scheme = "https://"
		}
		addr = scheme + addr
	}
	return strings.TrimSuffix(addr, "/")
}

// Servers returns the servers' URLs the client currently knows, the one
// in use first.
func (s *Session) Servers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.servers))
	for i := range s.servers {
		out = append(out, s.servers[(s.serverIdx+i)%len(s.servers)].Address())
	}
	return out
}

// SetServers replaces the servers the client talks to with addrs (host:port
// or URLs), as Nomad's PUT /v1/agent/servers does; they also become the
// fallback kept behind the servers the cluster reports later. The client
// moves to the first of them at its next call. An empty list is an error.
func (s *Session) SetServers(addrs []string) error {
	var list []*api.Client
	var urls []string
	seen := map[string]bool{}
	for _, a := range addrs {
		u := s.serverURL(a)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		srv, err := s.apiClient(u)
		if err != nil {
			return fmt.Errorf("server address %q: %w", a, err)
		}
		list = append(list, srv)
		urls = append(urls, u)
	}
	if len(list) == 0 {
		return errors.New("at least one server address is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced := len(s.servers) > 0
	s.servers, s.serverIdx = list, 0
	s.cfg.Servers = urls
	if replaced {
		s.cfg.Logger.Info("server list replaced", "servers", urls)
	}
	return nil
}
