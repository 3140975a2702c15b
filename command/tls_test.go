package command

import (
	"os"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

func TestTLSCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, out, errOut := runCLI(t, "", "tls", "cert", "create", "-server"); code != 1 || !strings.Contains(errOut, "tls ca create") {
		t.Errorf("cert create without a CA: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", "tls", "ca", "create"); code != 0 || !strings.Contains(out, "nomad-agent-ca-key.pem") {
		t.Fatalf("ca create: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "", "tls", "cert", "create", "-server", "-region", "east",
		"-additional-dnsname", "nomad.example.com", "-additional-ipaddress", "10.0.0.9")
	if code != 0 || !strings.Contains(out, "east-server-nomad-key.pem") {
		t.Fatalf("cert create -server: exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile("east-server-nomad.pem")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlsutil.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if cert.VerifyHostname("server.east.nomad") != nil || cert.VerifyHostname("nomad.example.com") != nil || cert.VerifyHostname("10.0.0.9") != nil {
		t.Errorf("server certificate names: %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if fi, err := os.Stat("east-server-nomad-key.pem"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	// An existing certificate is never overwritten.
	if code, _, errOut := runCLI(t, "", "tls", "cert", "create", "-server", "-region", "east"); code != 1 || !strings.Contains(errOut, "file exists") {
		t.Errorf("second cert create: exit %d %s", code, errOut)
	}
	for _, args := range [][]string{
		{"tls", "cert", "create"},
		{"tls", "cert", "create", "-client", "-cli"},
		{"tls", "cert", "create", "-cli", "-additional-ipaddress", "not-an-ip"},
	} {
		if code, _, errOut := runCLI(t, "", args...); code != 1 || !strings.Contains(errOut, "Error in command line") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	if code, out, errOut := runCLI(t, "", "tls", "cert", "create", "-cli"); code != 0 || !strings.Contains(out, "global-cli-nomad.pem") {
		t.Fatalf("cert create -cli: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "", "tls", "cert", "info", "global-cli-nomad.pem"); code != 0 || !strings.Contains(out, "cli.global.nomad") {
		t.Errorf("cert info: exit %d\n%s", code, out)
	}
}
