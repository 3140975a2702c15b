package agent

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// tlsFiles writes a CA and certificates of each role to dir, named as
// `nomadlike tls` names them.
func tlsFiles(t *testing.T, dir string) {
	t.Helper()
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.CAOptions{Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("nomad-agent-ca.pem", caPEM)
	write("nomad-agent-ca-key.pem", caKey)
	for _, role := range []tlsutil.Role{tlsutil.RoleServer, tlsutil.RoleClient, tlsutil.RoleCLI} {
		c, k, err := tlsutil.GenerateCert(caPEM, caKey, tlsutil.CertOptions{Role: role, Days: 1})
		if err != nil {
			t.Fatal(err)
		}
		write("global-"+string(role)+"-nomad.pem", c)
		write("global-"+string(role)+"-nomad-key.pem", k)
	}
}

func TestParseConfigTLS(t *testing.T) {
	c := DefaultConfig()
	src := `
tls {
  http                   = true
  rpc                    = true
  ca_file                = "/etc/nomad/nomad-agent-ca.pem"
  cert_file              = "/etc/nomad/global-server-nomad.pem"
  key_file               = "/etc/nomad/global-server-nomad-key.pem"
  verify_server_hostname = true
  verify_https_client    = true
}`
	if err := ParseConfig(c, "tls.hcl", []byte(src)); err != nil {
		t.Fatal(err)
	}
	want := TLSConfig{EnableHTTP: true, EnableRPC: true, CAFile: "/etc/nomad/nomad-agent-ca.pem",
		CertFile: "/etc/nomad/global-server-nomad.pem", KeyFile: "/etc/nomad/global-server-nomad-key.pem",
		VerifyServerHostname: true, VerifyHTTPSClient: true}
	if c.TLS != want {
		t.Errorf("TLS = %+v, want %+v", c.TLS, want)
	}
	// Missing files are named with the key to set.
	errs := (&TLSConfig{EnableHTTP: true, CAFile: "/nonexistent/ca.pem"}).validate()
	msg := ""
	for _, e := range errs {
		msg += e.Error() + "\n"
	}
	for _, want := range []string{"tls.ca_file: stat /nonexistent/ca.pem", "tls.cert_file is not set", "tls.key_file is not set"} {
		if !strings.Contains(msg, want) {
			t.Errorf("validate errors lack %q:\n%s", want, msg)
		}
	}
	if err := ParseConfig(DefaultConfig(), "u.hcl", []byte("tls {\n  rpc_upgrade_mode = true\n}")); err == nil || !strings.Contains(err.Error(), "rpc_upgrade_mode") {
		t.Errorf("rpc_upgrade_mode = true: %v", err)
	}
	if err := ParseConfig(DefaultConfig(), "u.hcl", []byte("tls {\n  htttp = true\n}")); err == nil || !strings.Contains(err.Error(), "u.hcl:2:3") {
		t.Errorf("a misspelt key: %v", err)
	}
}

// TestAgentHTTPSMutualTLS runs a dev agent with tls.http and
// verify_https_client: its own client registers over HTTPS with the
// agent's certificate, an API client needs a certificate of the CA, and
// SIGHUP's Reload moves new connections to new files.
func TestAgentHTTPSMutualTLS(t *testing.T) {
	dir := t.TempDir()
	tlsFiles(t, dir)
	f := func(n string) string { return filepath.Join(dir, n) }
	a := startDevAgentWith(t, func(c *Config) {
		c.RawExec.Enabled = false
		c.TLS = TLSConfig{EnableHTTP: true, EnableRPC: true, CAFile: f("nomad-agent-ca.pem"),
			CertFile: f("global-server-nomad.pem"), KeyFile: f("global-server-nomad-key.pem"),
			VerifyServerHostname: true, VerifyHTTPSClient: true}
	})
	addr := "https://" + a.HTTPAddr()
	cli := func(cfg api.TLSConfig) (*api.Client, error) {
		return api.NewClient(api.Config{Address: addr, TLS: &cfg})
	}
	good := api.TLSConfig{CACert: f("nomad-agent-ca.pem"), ClientCert: f("global-cli-nomad.pem"), ClientKey: f("global-cli-nomad-key.pem")}
	c, err := cli(good)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent's client to register over HTTPS", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.ListNodes(context.Background(), nil)
		if err != nil {
			return false, err.Error()
		}
		return len(nodes) == 1, "no node yet"
	})
	// Without a client certificate the handshake is refused.
	noCert, _ := cli(api.TLSConfig{CACert: f("nomad-agent-ca.pem")})
	if _, _, err := noCert.ListNodes(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("no client certificate: %v, want a refused handshake", err)
	}
	// Plain HTTP gets a 400, not the API.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/nodes")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP: %s", resp.Status)
		}
	}

	// Reload: a new CA and server certificate; the old CLI certificate no
	// longer passes, a new one does.
	newDir := t.TempDir()
	tlsFiles(t, newDir)
	for _, n := range []string{"nomad-agent-ca.pem", "global-server-nomad.pem", "global-server-nomad-key.pem"} {
		b, err := os.ReadFile(filepath.Join(newDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f(n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	old, _ := cli(api.TLSConfig{CACert: filepath.Join(newDir, "nomad-agent-ca.pem"), ClientCert: good.ClientCert, ClientKey: good.ClientKey})
	if _, _, err := old.ListNodes(context.Background(), nil); err == nil {
		t.Error("after reload the old CA's CLI certificate still passes")
	}
	renewed, _ := cli(api.TLSConfig{CACert: filepath.Join(newDir, "nomad-agent-ca.pem"),
		ClientCert: filepath.Join(newDir, "global-cli-nomad.pem"), ClientKey: filepath.Join(newDir, "global-cli-nomad-key.pem")})
	if _, _, err := renewed.ListNodes(context.Background(), nil); err != nil {
		t.Errorf("after reload the new CLI certificate: %v", err)
	}
}

// TestAgentCallsNeedAgentCert: with tls.rpc on but verify_https_client off,
// the HTTPS API answers users without a certificate, but node
// registration (a client-to-server call) needs an agent's certificate:
// none, or the CLI's under verify_server_hostname, is refused with a 403.
func TestAgentCallsNeedAgentCert(t *testing.T) {
	dir := t.TempDir()
	tlsFiles(t, dir)
	f := func(n string) string { return filepath.Join(dir, n) }
	a := startDevAgentWith(t, func(c *Config) {
		c.RawExec.Enabled = false
		c.TLS = TLSConfig{EnableHTTP: true, EnableRPC: true, CAFile: f("nomad-agent-ca.pem"),
			CertFile: f("global-server-nomad.pem"), KeyFile: f("global-server-nomad-key.pem"), VerifyServerHostname: true}
	})
	register := func(cert string) (int, string) {
		cfg := api.TLSConfig{CACert: f("nomad-agent-ca.pem")}
		if cert != "" {
			cfg.ClientCert, cfg.ClientKey = f(cert+".pem"), f(cert+"-key.pem")
		}
		tc, err := cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		body := `{"Node":{"ID":"6a4f3b5e-0000-4000-8000-000000000001","SecretID":"6a4f3b5e-0000-4000-8000-000000000002","Name":"intruder","Datacenter":"dc1","NodePool":"default","Status":"ready","NodeResources":{"Cpu":{"CpuShares":1000},"Memory":{"MemoryMB":1024}}}}`
		req, _ := http.NewRequest(http.MethodPut, "https://"+a.HTTPAddr()+"/v1/node/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("register with %q: %v", cert, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, cert := range []string{"", "global-cli-nomad"} {
		if code, body := register(cert); code != http.StatusForbidden || !strings.Contains(body, "tls { rpc = true }") {
			t.Errorf("register with certificate %q: %d %s, want 403", cert, code, body)
		}
	}
	// The rest of the API needs no certificate without verify_https_client.
	c, err := api.NewClient(api.Config{Address: "https://" + a.HTTPAddr(), TLS: &api.TLSConfig{CACert: f("nomad-agent-ca.pem")}})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := c.ListNodes(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == "intruder" {
			t.Errorf("a node registered without an agent certificate: %+v", n)
		}
	}
	// A client agent's certificate passes.
	if code, body := register("global-client-nomad"); code != http.StatusOK {
		t.Errorf("register with a client certificate: %d %s", code, body)
	}
}
