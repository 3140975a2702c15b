package agent

import (
	"fmt"
	"time"

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
//	    tls {
//	      # certificates in variables (items cert and key), picked by SNI
//	      variables_prefix = "nomadlike/ingress/certs"
//	    }
//	    acme {
//	      enabled       = true
//	      directory_url = "https://acme-v02.api.letsencrypt.org/directory"
//	      email         = "ops@example.com"
//	      ca_file       = ""      # roots of a private CA's directory
//	      renew_before  = "720h"  # default 30 days
//	      domains       = ["example.com", "*.apps.example.com"] # required
//	    }
//	  }
//	}
type fileIngress struct {
	Enabled     *bool   `hcl:"enabled,optional"`
	HTTPPort    *int    `hcl:"http_port,optional"`
	Bind        *string `hcl:"bind,optional"`
	Balance     *string `hcl:"balance,optional"`
	HTTPSPort   *int    `hcl:"https_port,optional"`
	TLSCertFile *string `hcl:"tls_cert_file,optional"`
	TLSKeyFile  *string `hcl:"tls_key_file,optional"`
	TLS         *struct {
		VariablesPrefix *string  `hcl:"variables_prefix,optional"`
		Remain          hcl.Body `hcl:",remain"`
	} `hcl:"tls,block"`
	ACME *struct {
		Enabled      *bool          `hcl:"enabled,optional"`
		DirectoryURL *string        `hcl:"directory_url,optional"`
		Email        *string        `hcl:"email,optional"`
		CAFile       *string        `hcl:"ca_file,optional"`
		RenewBefore  hcl.Expression `hcl:"renew_before,optional"`
		Domains      *[]string      `hcl:"domains,optional"`
		Remain       hcl.Body       `hcl:",remain"`
	} `hcl:"acme,block"`
	Remain hcl.Body `hcl:",remain"`
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
	// TLSVariablesPrefix serves certificates from variables below it.
	TLSVariablesPrefix string
	// ACME orders certificates for the routes' hosts (when ACMEEnabled).
	ACMEEnabled                             bool
	ACMEDirectoryURL, ACMEEmail, ACMECAFile string
	ACMERenewBefore                         time.Duration
	// ACMEDomains are the names certificates may be ordered for.
	ACMEDomains []string
}

// applyIngress applies the client block's ingress block over earlier files.
func (cl *fileClient) applyIngress(c *Config) error {
	fi := cl.Ingress
	if fi == nil {
		return nil
	}
	if err := unknownKeys(fi.Remain, "client.ingress", "enabled, http_port, bind, balance, https_port, tls_cert_file, tls_key_file and the blocks tls and acme"); err != nil {
		return err
	}
	setBool(&c.Client.Ingress.Enabled, fi.Enabled)
	setInt(&c.Client.Ingress.HTTPPort, fi.HTTPPort)
	setStr(&c.Client.Ingress.Bind, fi.Bind)
	setStr(&c.Client.Ingress.Balance, fi.Balance)
	setInt(&c.Client.Ingress.HTTPSPort, fi.HTTPSPort)
	setStr(&c.Client.Ingress.TLSCertFile, fi.TLSCertFile)
	setStr(&c.Client.Ingress.TLSKeyFile, fi.TLSKeyFile)
	if t := fi.TLS; t != nil {
		if err := unknownKeys(t.Remain, "client.ingress.tls", "variables_prefix"); err != nil {
			return err
		}
		setStr(&c.Client.Ingress.TLSVariablesPrefix, t.VariablesPrefix)
	}
	if a := fi.ACME; a != nil {
		if err := unknownKeys(a.Remain, "client.ingress.acme", "enabled, directory_url, email, ca_file, renew_before, domains"); err != nil {
			return err
		}
		ic := &c.Client.Ingress
		setBool(&ic.ACMEEnabled, a.Enabled)
		setStr(&ic.ACMEDirectoryURL, a.DirectoryURL)
		setStr(&ic.ACMEEmail, a.Email)
		setStr(&ic.ACMECAFile, a.CAFile)
		if a.Domains != nil {
			ic.ACMEDomains = *a.Domains
		}
		if err := setDuration(&ic.ACMERenewBefore, a.RenewBefore); err != nil {
			return err
		}
	}
	if err := c.Client.Ingress.clientConfig().Validate(); err != nil {
		return fmt.Errorf("%s: %w", loc(fi.Remain.MissingItemRange()), err)
	}
	return nil
}

// unknownKeys refuses the attributes left in a block's remain body.
func unknownKeys(remain hcl.Body, block, keys string) error {
	if remain == nil {
		return nil
	}
	if attrs, _ := remain.JustAttributes(); len(attrs) > 0 {
		for name, a := range attrs {
			return fmt.Errorf("%s: %s: unknown key %q; the keys are %s", loc(a.NameRange), block, name, keys)
		}
	}
	return nil
}

// clientConfig is the ingress package's configuration (nil when off).
func (ic IngressConfig) clientConfig() *ingress.Config {
	port := ic.HTTPPort
	if port == 0 {
		port = DefaultIngressHTTPPort
	}
	out := &ingress.Config{Bind: ic.Bind, HTTPPort: port, Balance: ic.Balance,
		HTTPSPort: ic.HTTPSPort, TLSCertFile: ic.TLSCertFile, TLSKeyFile: ic.TLSKeyFile, CertVariablesPrefix: ic.TLSVariablesPrefix}
	if ic.ACMEEnabled {
		out.ACME = &ingress.ACMEConfig{DirectoryURL: ic.ACMEDirectoryURL, Email: ic.ACMEEmail, CAFile: ic.ACMECAFile, RenewBefore: ic.ACMERenewBefore, Domains: ic.ACMEDomains}
	}
	return out
}

// ingressConfig is the client's ingress configuration (nil: off).
func (a *Agent) ingressConfig() *ingress.Config {
	if !a.cfg.Client.Ingress.Enabled {
		return nil
	}
	return a.cfg.Client.Ingress.clientConfig()
}
