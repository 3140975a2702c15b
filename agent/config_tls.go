package agent

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// TLSConfig is the agent's tls block, as Nomad's: http serves the HTTP API
// (and makes this agent dial other agents' APIs) over TLS; rpc carries Raft
// and the client-to-server and server-to-server calls over mutual TLS.
// Serf gossip is not TLS: it is encrypted by server.encrypt.
type TLSConfig struct {
	EnableHTTP bool
	EnableRPC  bool
	CAFile     string
	CertFile   string
	KeyFile    string
	// VerifyServerHostname makes outgoing connections to servers require a
	// certificate valid for server.<region>.nomad.
	VerifyServerHostname bool
	// VerifyHTTPSClient requires a client certificate of the CA on every
	// HTTPS request (mutual TLS for the whole API, the CLI and UI included).
	VerifyHTTPSClient bool
}

// Enabled reports whether any TLS is on.
func (t *TLSConfig) Enabled() bool { return t.EnableHTTP || t.EnableRPC }

// fileTLS is the tls block as written.
type fileTLS struct {
	HTTP                 *bool   `hcl:"http,optional"`
	RPC                  *bool   `hcl:"rpc,optional"`
	CAFile               *string `hcl:"ca_file,optional"`
	CertFile             *string `hcl:"cert_file,optional"`
	KeyFile              *string `hcl:"key_file,optional"`
	VerifyServerHostname *bool   `hcl:"verify_server_hostname,optional"`
	VerifyHTTPSClient    *bool   `hcl:"verify_https_client,optional"`
	RPCUpgradeMode       *bool   `hcl:"rpc_upgrade_mode,optional"`
}

func (f *fileTLS) apply(c *Config) error {
	if f == nil {
		return nil
	}
	setBool(&c.TLS.EnableHTTP, f.HTTP)
	setBool(&c.TLS.EnableRPC, f.RPC)
	setStr(&c.TLS.CAFile, f.CAFile)
	setStr(&c.TLS.CertFile, f.CertFile)
	setStr(&c.TLS.KeyFile, f.KeyFile)
	setBool(&c.TLS.VerifyServerHostname, f.VerifyServerHostname)
	setBool(&c.TLS.VerifyHTTPSClient, f.VerifyHTTPSClient)
	if f.RPCUpgradeMode != nil && *f.RPCUpgradeMode {
		return fmt.Errorf("tls.rpc_upgrade_mode: nomadlike does not accept plaintext and TLS on one port; enable tls on every agent at once and remove the key")
	}
	return nil
}

// validate checks the tls block: with http or rpc on, the three files must
// be set and readable.
func (t *TLSConfig) validate() []error {
	if !t.Enabled() {
		return nil
	}
	var errs []error
	for _, f := range []struct{ key, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("tls.%s is not set: with tls { http = true } or { rpc = true } set ca_file, cert_file and key_file (make them with `nomadlike tls ca create` and `nomadlike tls cert create`)", f.key))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("tls.%s: %v", f.key, err))
		}
	}
	return errs
}

// agentTLS is what the agent builds from its tls block: the certificate
// store (reloaded on SIGHUP) and the configurations made from it.
type agentTLS struct {
	cfg    TLSConfig
	region string
	store  *tlsutil.Store
}

func newAgentTLS(c *Config) (*agentTLS, error) {
	if !c.TLS.Enabled() {
		return nil, nil
	}
	st, err := tlsutil.NewStore(tlsutil.Files{CAFile: c.TLS.CAFile, CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile})
	if err != nil {
		return nil, err
	}
	return &agentTLS{cfg: c.TLS, region: c.Region, store: st}, nil
}

// serverNames are the names a server's certificate must carry under
// verify_server_hostname (none: any certificate of the CA).
func (t *agentTLS) serverNames() []string {
	if !t.cfg.VerifyServerHostname {
		return nil
	}
	return []string{tlsutil.Name(tlsutil.RoleServer, t.region, tlsutil.DefaultDomain)}
}

// httpListen is the HTTPS listener's configuration: mutual TLS when
// verify_https_client, else a client certificate is checked when offered.
func (t *agentTLS) httpListen() *tls.Config {
	if t.cfg.VerifyHTTPSClient {
		return t.store.ServerConfig(tls.RequireAndVerifyClientCert)
	}
	return t.store.ServerConfig(tls.VerifyClientCertIfGiven)
}

// dialServers is how this agent dials servers (Raft, HTTPS calls).
func (t *agentTLS) dialServers() *tls.Config { return t.store.ClientConfig(t.serverNames()...) }

// dialAgents is how a server dials any agent's HTTPS API (a client node's
// for logs and exec): a certificate of the CA, of a server or a client
// under verify_server_hostname.
func (t *agentTLS) dialAgents() *tls.Config {
	if !t.cfg.VerifyServerHostname {
		return t.store.ClientConfig()
	}
	return t.store.ClientConfig(t.agentNames()...)
}

// agentNames are the names of servers' and clients' certificates.
func (t *agentTLS) agentNames() []string {
	return []string{tlsutil.Name(tlsutil.RoleServer, t.region, tlsutil.DefaultDomain),
		tlsutil.Name(tlsutil.RoleClient, t.region, tlsutil.DefaultDomain)}
}

// Reload re-reads the TLS certificate, key and CA files (SIGHUP): new
// connections use them, established ones carry on. Without TLS it does
// nothing.
func (a *Agent) Reload() error {
	if a.tls == nil {
		return nil
	}
	if err := a.tls.store.Reload(); err != nil {
		return fmt.Errorf("reload TLS files (the agent keeps the previous ones): %w", err)
	}
	a.logger.Info("reloaded TLS certificates", "cert_file", a.cfg.TLS.CertFile, "serial", a.tls.store.Certificate().SerialNumber.String())
	return nil
}

// tlsListener wraps the HTTP listener in TLS when tls.http is on.
func (a *Agent) tlsListener(ln net.Listener) net.Listener {
	if a.tls == nil || !a.cfg.TLS.EnableHTTP {
		return ln
	}
	return tls.NewListener(ln, a.tls.httpListen())
}

// httpScheme is how agents' HTTP APIs are reached: https:// with tls.http.
func (a *Agent) httpScheme() string {
	if a.tls != nil && a.cfg.TLS.EnableHTTP {
		return "https://"
	}
	return "http://"
}

// serverTLS sets the server's Raft TLS (tls.rpc) and how it dials other
// servers' HTTPS API (tls.http).
func (a *Agent) serverTLS(sc *server.Config) {
	if a.tls == nil {
		return
	}
	if a.cfg.TLS.EnableRPC {
		// Only servers speak Raft: under verify_server_hostname a client's
		// certificate is refused there.
		sc.RaftTLSListen = a.tls.store.ServerConfig(tls.RequireAndVerifyClientCert, a.tls.serverNames()...)
		sc.RaftTLSDial = a.tls.dialServers()
	}
	if a.cfg.TLS.EnableHTTP {
		sc.PeerHTTPTLS = a.tls.dialServers()
	} else if a.cfg.TLS.EnableRPC {
		a.logger.Warn("tls.rpc is on but tls.http is off: Raft is encrypted, but clients and forwarded requests use the HTTP API, which stays plaintext; set tls { http = true } too")
	}
}

// peerTLS is how the HTTP API dials any agent (a client node, for its
// logs); nil means plain HTTP.
func (a *Agent) peerTLS() *tls.Config {
	if a.tls == nil || !a.cfg.TLS.EnableHTTP {
		return nil
	}
	return a.tls.dialAgents()
}

// clientTLS is how the client, and the HTTP API forwarding to a leader or
// from a client-only agent, dial servers; nil means plain HTTP.
func (a *Agent) clientTLS() *tls.Config {
	if a.tls == nil || !a.cfg.TLS.EnableHTTP {
		return nil
	}
	return a.tls.dialServers()
}

// agentCertPolicy: with tls.rpc and an HTTPS API, client-to-server calls
// need an agent's certificate (a server's or a client's under
// verify_server_hostname).
func (a *Agent) agentCertPolicy(h *HTTPConfig) {
	if a.tls == nil || !a.cfg.TLS.EnableRPC || !a.cfg.TLS.EnableHTTP {
		return
	}
	h.AgentCertRequired = true
	if a.cfg.TLS.VerifyServerHostname {
		h.AgentCertNames = a.tls.agentNames()
	}
}
