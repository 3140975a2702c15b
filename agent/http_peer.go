package agent

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// peerDialer is how the HTTP API reaches another agent: the scheme and the
// transport (TLS with the agent's certificate when tls.http is on).
type peerDialer struct {
	scheme    string
	transport *http.Transport
}

func newPeerDialer(tc *tls.Config) *peerDialer {
	d := &peerDialer{scheme: "http://", transport: &http.Transport{
		Proxy: nil,
		// A short connect timeout: a dead leader is noticed within the
		// forwarding hold timeout.
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     tc,
	}}
	if tc != nil {
		d.scheme = "https://"
	}
	return d
}

// url turns host:port into a base URL; URLs are kept.
func (d *peerDialer) url(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return d.scheme + addr
}

// agentCallSuffixes are the last path segments of the client-to-server
// calls under /v1/node/ that only an agent makes (PUT): Nomad's client
// RPCs, which tls.rpc puts behind mutual TLS.
var agentCallSuffixes = map[string]bool{"register": true, "heartbeat": true, "allocations": true, "services": true}

// isAgentCall reports whether r is a client-to-server call.
func isAgentCall(r *http.Request) bool {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/node/")
	if !ok {
		return false
	}
	return agentCallSuffixes[rest[strings.LastIndexByte(rest, '/')+1:]]
}

// requireAgentCert refuses, with tls.rpc on, client-to-server calls that
// do not come with a verified certificate of the cluster's CA (valid, under
// verify_server_hostname, for a server or a client of the region): an HTTPS
// API without verify_https_client stays open to certificate-less users, but
// not to certificate-less agents.
func (s *HTTPServer) requireAgentCert(next http.Handler) http.Handler {
	if !s.cfg.AgentCertRequired {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAgentCall(r) {
			if err := agentCertError(r.TLS, s.cfg.AgentCertNames); err != nil {
				s.logger.Warn("refused a client-to-server call without an agent certificate",
					"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
				s.writeError(w, r, &structs.CodedError{Code: http.StatusForbidden, Err: err,
					Msg: "client-to-server calls need a certificate of the cluster's CA (tls { rpc = true }): configure the client agent's tls block with a client certificate (client.<region>.nomad) signed by that CA"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func agentCertError(cs *tls.ConnectionState, names []string) error {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("no verified client certificate")
	}
	return tlsutil.CheckNames(cs.VerifiedChains[0][0], names...)
}
