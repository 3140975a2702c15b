package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/internal/freeport"
	"github.com/nomadlike/nomadlike/internal/pebbletest"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// ingressHostJob: one busybox httpd behind the ingress for one host name
// (urlprefix-<host>/), answering its allocation ID at /id.txt.
const ingressHostJob = `
job "%s" {
  datacenters = ["*"]
  group "web" {
    network {
      port "http" {}
    }
    service {
      name = "%s"
      port = "http"
      tags = ["urlprefix-%s/"]
    }
    task "httpd" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $NOMAD_ALLOC_ID > $NOMAD_TASK_DIR/id.txt; exec %s httpd -f -p 127.0.0.1:$NOMAD_PORT_http -h $NOMAD_TASK_DIR"]
      }
      env {
        E2E_RUN = "%s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// runHostJob runs ingressHostJob for host (with the CLI's global flags
// flags, e.g. -token).
func runHostJob(t *testing.T, a *agent, name, host string, flags ...string) {
	t.Helper()
	dir := t.TempDir()
	f := writeFile(t, dir, name+".nomad.hcl", fmt.Sprintf(ingressHostJob, name, name, host, busyboxPath(t), runToken))
	if out, code := a.cli(dir, append(flags, "job", "run", "-detach", f)...); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
}

// httpsGet GETs https://host/id.txt through the ingress at addr, verifying
// the certificate for host against roots; it returns the body and the
// served certificate.
func httpsGet(addr, host string, roots *x509.CertPool) (string, *x509.Certificate, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + "/id.txt")
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), resp.TLS.PeerCertificates[0], nil
}

// ingressTLSClient is the client block's ingress with certificates from
// variables below nomadlike/ingress/certs, and extra HCL inside it.
func ingressTLSClient(httpPort, httpsPort int, extra string) string {
	return fmt.Sprintf(`
  ingress {
    enabled    = true
    http_port  = %d
    https_port = %d
    bind       = "127.0.0.1"
    tls {
      variables_prefix = "nomadlike/ingress/certs"
    }
%s  }
`, httpPort, httpsPort, extra)
}

// testCA signs the e2e tests' host certificates.
type testCA struct {
	cert, key []byte
	roots     *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	cert, key, err := tlsutil.GenerateCA(tlsutil.CAOptions{CommonName: "e2e ingress CA", Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(cert)
	return &testCA{cert: cert, key: key, roots: roots}
}

// putCert signs a certificate for host and puts it in the variable path
// with the CLI (flags: its global flags, e.g. -token).
func (c *testCA) putCert(t *testing.T, a *agent, path, host string, flags ...string) {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := tlsutil.GenerateCert(c.cert, c.key, tlsutil.CertOptions{Role: tlsutil.RoleServer, Region: "global", Days: 1, DNSNames: []string{host}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "cert.pem", string(cert))
	writeFile(t, dir, "key.pem", string(key))
	if out, code := a.cli(dir, append(flags, "var", "put", "-force", path, "cert=@cert.pem", "key=@key.pem")...); code != 0 {
		t.Fatalf("var put: exit %d\n%s", code, out)
	}
}

// TestIngressTLSFromVariable: a certificate put in a variable below the
// ingress's prefix is served for its host name (SNI) and verifies against
// its CA; a certificate put later replaces it without a restart.
func TestIngressTLSFromVariable(t *testing.T) {
	killLeftovers(t)
	httpsPort := freeport.TCP(t)
	a := startAgent(t, agentOpts{clientExtra: ingressTLSClient(freeport.TCP(t), httpsPort, "")})
	const host = "shop.e2e.test"
	ca := newTestCA(t)
	ca.putCert(t, a, "nomadlike/ingress/certs/shop", host)
	runHostJob(t, a, "e2e-ingress-tls", host)
	addr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	var first *x509.Certificate
	waitFor(t, 60*time.Second, "HTTPS through the ingress with the certificate from the variable", func() (bool, string) {
		id, cert, err := httpsGet(addr, host, ca.roots)
		if err != nil {
			return false, err.Error()
		}
		first = cert
		return id != "", "empty answer"
	})
	ca.putCert(t, a, "nomadlike/ingress/certs/shop", host)
	waitFor(t, 15*time.Second, "the certificate put later served", func() (bool, string) {
		_, cert, err := httpsGet(addr, host, ca.roots)
		if err != nil {
			return false, err.Error()
		}
		return cert.SerialNumber.Cmp(first.SerialNumber) != 0, "still the first certificate"
	})
}

// TestIngressACME: with acme enabled, the ingress orders the certificate
// of a route's host from Let's Encrypt's test CA (pebble, in this test
// process, on loopback; HTTP-01 on the ingress's HTTP port), stores it in
// a variable and serves it, verified against the CA's root.
func TestIngressACME(t *testing.T) {
	killLeftovers(t)
	httpPort, httpsPort := freeport.TCP(t), freeport.TCP(t)
	ca := pebbletest.Start(t, httpPort, 0)
	a := startAgent(t, agentOpts{clientExtra: ingressTLSClient(httpPort, httpsPort, fmt.Sprintf(`    acme {
      enabled       = true
      directory_url = %q
      ca_file       = %q
      email         = "ops@e2e.test"
      domains       = ["*.e2e.test"]
    }
`, ca.DirectoryURL, ca.CAFile))})
	const host = "acme.e2e.test"
	runHostJob(t, a, "e2e-ingress-acme", host)
	addr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	waitFor(t, 90*time.Second, "HTTPS through the ingress with a certificate from the test CA", func() (bool, string) {
		id, _, err := httpsGet(addr, host, ca.Roots)
		if err != nil {
			return false, err.Error()
		}
		return id != "", "empty answer"
	})
	if out, code := a.cli(t.TempDir(), "var", "get", "nomadlike/ingress/certs/acme_e2e_test"); code != 0 || !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Fatalf("the obtained certificate is not in its variable: exit %d\n%s", code, out)
	}
}

// TestIngressTLSFromVariableWithACLs: with ACLs enabled the client reads
// the service catalog and the certificate variables (written with a
// management token) with its node's secret, and serves the route over
// HTTPS with the certificate, by SNI.
func TestIngressTLSFromVariableWithACLs(t *testing.T) {
	killLeftovers(t)
	httpsPort := freeport.TCP(t)
	a := startAgent(t, agentOpts{extra: "acl {\n  enabled = true\n}\n", noWait: true, clientExtra: ingressTLSClient(freeport.TCP(t), httpsPort, "")})
	a.waitLeaderHTTP()
	out, code := a.cli(t.TempDir(), "acl", "bootstrap", "-json")
	if code != 0 {
		t.Fatalf("acl bootstrap failed: %s", out)
	}
	var boot struct{ SecretID string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &boot); err != nil || boot.SecretID == "" {
		t.Fatalf("acl bootstrap output: %v\n%s", err, out)
	}
	const host = "secure.e2e.test"
	ca := newTestCA(t)
	ca.putCert(t, a, "nomadlike/ingress/certs/secure", host, "-token", boot.SecretID)
	runHostJob(t, a, "e2e-ingress-tls-acl", host, "-token", boot.SecretID)
	addr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	waitFor(t, 60*time.Second, "HTTPS through the ingress with ACLs enabled", func() (bool, string) {
		id, _, err := httpsGet(addr, host, ca.roots)
		if err != nil {
			return false, err.Error()
		}
		return id != "", "empty answer"
	})
}
