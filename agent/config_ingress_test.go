package agent

import (
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
	if a := ic.ACME; a.DirectoryURL != "https://127.0.0.1:14000/dir" || a.Email != "ops@example.com" || a.CAFile != "/etc/pebble.pem" || a.RenewBefore != 240*time.Hour {
		t.Fatalf("acme config: %+v", a)
	}
}
