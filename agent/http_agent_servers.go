package agent

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serverLister is the part of the local client that GET and PUT
// /v1/agent/servers use. *client.Client implements it.
type serverLister interface {
	// Servers returns the servers' URLs, the one in use first.
	Servers() []string
	// SetServers replaces the server list.
	SetServers(addrs []string) error
}

// clientServers returns the local client's server list handler, or a 501
// when this agent runs no client.
func (s *HTTPServer) clientServers() (serverLister, error) {
	if sl, ok := s.client.(serverLister); ok && s.client != nil {
		return sl, nil
	}
	return nil, &structs.CodedError{Code: http.StatusNotImplemented,
		Msg: "this agent runs no client, so it keeps no server list; ask a client agent (GET /v1/agent/members lists the servers)"}
}

// agentServers is GET /v1/agent/servers: the client's known servers as
// host:port, the one in use first (Nomad's shape: a JSON list of strings;
// nomadlike clients speak HTTP, so these are HTTP addresses).
func (s *HTTPServer) agentServers(_ http.ResponseWriter, _ *http.Request) (any, error) {
	sl, err := s.clientServers()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, u := range sl.Servers() {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	}
	return out, nil
}

// agentSetServers is PUT /v1/agent/servers?address=host:port&address=...:
// it replaces the client's server list. A missing port means the HTTP port
// 4646.
func (s *HTTPServer) agentSetServers(_ http.ResponseWriter, r *http.Request) (any, error) {
	sl, err := s.clientServers()
	if err != nil {
		return nil, err
	}
	addrs := splitList(r.URL.Query()["address"])
	if len(addrs) == 0 {
		return nil, structs.NewBadRequest("give every server the client should use: ?address=host:port (HTTP port, default %d), repeated; the list replaces the current one", DefaultHTTPPort)
	}
	norm := make([]string, 0, len(addrs))
	for _, a := range addrs {
		n, err := normalizeServerAddr(a)
		if err != nil {
			return nil, err
		}
		norm = append(norm, n)
	}
	if err := sl.SetServers(norm); err != nil {
		return nil, structs.NewBadRequest("set the client's servers: %v", err)
	}
	return nil, nil
}

// normalizeServerAddr checks a host[:port] or http(s) URL and adds the
// default HTTP port when none is given.
func normalizeServerAddr(a string) (string, error) {
	scheme := ""
	if i := strings.Index(a, "://"); i >= 0 {
		scheme, a = a[:i+3], a[i+3:]
		if scheme != "http://" && scheme != "https://" {
			return "", structs.NewBadRequest("server address %q: the scheme must be http or https", scheme+a)
		}
	}
	a = strings.TrimSuffix(a, "/")
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = a, strconv.Itoa(DefaultHTTPPort)
		if strings.Contains(strings.Trim(a, "[]"), ":") && !strings.HasPrefix(a, "[") {
			return "", structs.NewBadRequest("server address %q: write host:port (an IPv6 address in brackets, [::1]:4646)", a)
		}
		host = strings.Trim(host, "[]")
	}
	if host == "" || strings.ContainsAny(host, "/?# ") {
		return "", structs.NewBadRequest("server address %q: want host:port, e.g. 10.0.0.1:%d", a, DefaultHTTPPort)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", structs.NewBadRequest("server address %q: the port must be a number from 1 to 65535", a)
	}
	return scheme + net.JoinHostPort(host, port), nil
}
