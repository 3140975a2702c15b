package agent

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"
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
