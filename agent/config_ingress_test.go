package agent

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseIngressTLSAndACME(t *testing.T) {
	src := `client {
  ingress {
    enabled    = true
    https_port = 9443
    tls {
      variables_prefix = "nomadlike/ingress/certs"
    }
    acme {
      enabled       = true
      directory_url = "https://127.0.0.1:14000/dir"
      email         = "ops@example.com"
      ca_file       = "/etc/pebble.pem"
      renew_before  = "240h"
      domains       = ["example.com", "*.apps.example.com"]
    }
  }
}
`
	got := DefaultConfig()
	if err := ParseConfig(got, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	ic := got.Client.Ingress.clientConfig()
	if ic.CertVariablesPrefix != "nomadlike/ingress/certs" || ic.HTTPSPort != 9443 || ic.ACME == nil {
		t.Fatalf("ingress config: %+v", ic)
	}
	if a := ic.ACME; a.DirectoryURL != "https://127.0.0.1:14000/dir" || a.Email != "ops@example.com" || a.CAFile != "/etc/pebble.pem" || a.RenewBefore != 240*time.Hour ||
		!slices.Equal(a.Domains, []string{"example.com", "*.apps.example.com"}) {
		t.Fatalf("acme config: %+v", a)
	}
}

// TestParseIngressACMENeedsDomains: acme without domains is refused, naming
// the setting (a job names any host in its route tags).
func TestParseIngressACMENeedsDomains(t *testing.T) {
	src := `client {
  ingress {
    enabled    = true
    https_port = 9443
    tls {
      variables_prefix = "nomadlike/ingress/certs"
    }
    acme {
      enabled       = true
      directory_url = "https://127.0.0.1:14000/dir"
    }
  }
}
`
	err := ParseConfig(DefaultConfig(), "agent.hcl", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "client.ingress.acme.domains is required") {
		t.Fatalf("got %v, want the domains setting named", err)
	}
}
