package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/client/ingress"
)

// fileIngress is the client's ingress block (beyond Nomad):
//
//	client {
//	  ingress {
//	    enabled   = true
//	    http_port = 9999          # default 9999
//	    bind      = "127.0.0.1"   # default: all addresses
//	    balance   = "round_robin" # or "least_conn"
//	    https_port    = 9443      # TLS termination (off when unset)
//	    tls_cert_file = "/etc/nomadlike/ingress.pem"
//	    tls_key_file  = "/etc/nomadlike/ingress-key.pem"
//	  }
//	}
type fileIngress struct {
	Enabled     *bool    `hcl:"enabled,optional"`
	HTTPPort    *int     `hcl:"http_port,optional"`
	Bind        *string  `hcl:"bind,optional"`
	Balance     *string  `hcl:"balance,optional"`
	HTTPSPort   *int     `hcl:"https_port,optional"`
	TLSCertFile *string  `hcl:"tls_cert_file,optional"`
	TLSKeyFile  *string  `hcl:"tls_key_file,optional"`
	Remain      hcl.Body `hcl:",remain"`
}

// DefaultIngressHTTPPort is the ingress's HTTP port unless http_port says.
const DefaultIngressHTTPPort = 9999

// IngressConfig is the client's ingress configuration.
type IngressConfig struct {
	Enabled  bool
	HTTPPort int
	Bind     string
	Balance  string
	// HTTPSPort (0: off) terminates TLS with TLSCertFile and TLSKeyFile.
	HTTPSPort               int
	TLSCertFile, TLSKeyFile string
}

// applyIngress applies the client block's ingress block over earlier files.
func (cl *fileClient) applyIngress(c *Config) error {
	fi := cl.Ingress
	if fi == nil {
		return nil
	}
	if attrs, _ := fi.Remain.JustAttributes(); len(attrs) > 0 {
		for name, a := range attrs {
			return fmt.Errorf("%s: client.ingress: unknown key %q; the keys are enabled, http_port, bind, balance, https_port, tls_cert_file, tls_key_file", loc(a.NameRange), name)
		}
	}
	setBool(&c.Client.Ingress.Enabled, fi.Enabled)
	setInt(&c.Client.Ingress.HTTPPort, fi.HTTPPort)
	setStr(&c.Client.Ingress.Bind, fi.Bind)
	setStr(&c.Client.Ingress.Balance, fi.Balance)
	setInt(&c.Client.Ingress.HTTPSPort, fi.HTTPSPort)
	setStr(&c.Client.Ingress.TLSCertFile, fi.TLSCertFile)
	setStr(&c.Client.Ingress.TLSKeyFile, fi.TLSKeyFile)
	if err := c.Client.Ingress.clientConfig().Validate(); err != nil {
		return fmt.Errorf("%s: %w", loc(fi.Remain.MissingItemRange()), err)
	}
	return nil
}

// clientConfig is the ingress package's configuration (nil when off).
func (ic IngressConfig) clientConfig() *ingress.Config {
	port := ic.HTTPPort
	if port == 0 {
		port = DefaultIngressHTTPPort
	}
	return &ingress.Config{Bind: ic.Bind, HTTPPort: port, Balance: ic.Balance,
		HTTPSPort: ic.HTTPSPort, TLSCertFile: ic.TLSCertFile, TLSKeyFile: ic.TLSKeyFile}
}

// ingressConfig is the client's ingress configuration (nil: off).
func (a *Agent) ingressConfig() *ingress.Config {
	if !a.cfg.Client.Ingress.Enabled {
		return nil
	}
	return a.cfg.Client.Ingress.clientConfig()
}
