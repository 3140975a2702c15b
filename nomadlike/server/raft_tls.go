package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// tlsStreamLayer is Raft's stream layer over mutual TLS: incoming
// connections are served with the listen configuration (which requires a
// certificate of the cluster's CA), outgoing ones dial with the dial
// configuration (which checks server.<region>.nomad under
// verify_server_hostname). Both configurations read the agent's certificate
// store at each handshake, so a reload applies to new connections.
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	dial      *tls.Config
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

// newTLSStreamLayer listens on bind; advertise (nil: the bound address) is
// what other servers are told to dial.
func newTLSStreamLayer(bind string, advertise net.Addr, listen, dial *tls.Config) (*tlsStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	if ta, ok := advertise.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, fmt.Errorf("raft address %s is not advertisable: set advertise { rpc = ... }", advertise)
	}
	return &tlsStreamLayer{Listener: tls.NewListener(ln, listen), advertise: advertise, dial: dial}, nil
}

// Addr is the advertised address.
func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial opens a TLS connection to another server, handshake included.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(address), l.dial)
}

// peerURL is the base URL of another server's HTTP API at addr (host:port).
func (s *Server) peerURL(addr string) string {
	if s.cfg.PeerHTTPTLS != nil {
		return "https://" + addr
	}
	return "http://" + addr
}

// newPeerHTTP is the HTTP client for server-to-server checks.
func newPeerHTTP(tc *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, TLSClientConfig: tc}}
}
