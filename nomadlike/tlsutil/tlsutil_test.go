package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustCA(t *testing.T) (cert, key []byte) {
	t.Helper()
	cert, key, err := GenerateCA(CAOptions{Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestGenerateCertRoles(t *testing.T) {
	caPEM, caKey := mustCA(t)
	ca, err := ParseCertificate(caPEM)
	if err != nil || !ca.IsCA || !strings.HasPrefix(ca.Subject.CommonName, "Nomad Agent CA ") {
		t.Fatalf("CA = %+v, %v", ca, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, tc := range []struct {
		role      Role
		wantName  string
		serveAuth bool
	}{
		{RoleServer, "server.east.nomad", true},
		{RoleClient, "client.east.nomad", true},
		{RoleCLI, "cli.east.nomad", false},
	} {
		certPEM, keyPEM, err := GenerateCert(caPEM, caKey, CertOptions{Role: tc.role, Region: "east", Days: 1,
			DNSNames: []string{"nomad.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.7")}})
		if err != nil {
			t.Fatalf("%s: %v", tc.role, err)
		}
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			t.Fatalf("%s: key pair: %v", tc.role, err)
		}
		c, _ := ParseCertificate(certPEM)
		if c.Subject.CommonName != tc.wantName {
			t.Errorf("%s: CN = %q, want %q", tc.role, c.Subject.CommonName, tc.wantName)
		}
		for _, n := range []string{tc.wantName, "localhost", "nomad.example.com"} {
			if !slices.Contains(c.DNSNames, n) {
				t.Errorf("%s: DNS names %v lack %q", tc.role, c.DNSNames, n)
			}
		}
		if tc.serveAuth && c.VerifyHostname("127.0.0.1") != nil || c.VerifyHostname("10.0.0.7") != nil {
			t.Errorf("%s: IP SANs = %v", tc.role, c.IPAddresses)
		}
		_, err = c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.serveAuth {
			t.Errorf("%s: verify as a server: %v, want ok=%v", tc.role, err, tc.serveAuth)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: verify as a client: %v", tc.role, err)
		}
	}
	if _, _, err := GenerateCert(caPEM, caKey, CertOptions{Role: "admin", Days: 1}); err == nil {
		t.Error("an unknown role was accepted")
	}
	if _, _, err := GenerateCert(caKey, caPEM, CertOptions{Role: RoleServer, Days: 1}); err == nil {
		t.Error("swapped CA files were accepted")
	}
}

func TestNameConstraintCA(t *testing.T) {
	caPEM, caKey, err := GenerateCA(CAOptions{Days: 1, NameConstraint: true})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := ParseCertificate(caPEM)
	if !slices.Equal(ca.PermittedDNSDomains, []string{"nomad", "localhost"}) {
		t.Errorf("permitted = %v", ca.PermittedDNSDomains)
	}
	certPEM, _, err := GenerateCert(caPEM, caKey, CertOptions{Role: RoleServer, Days: 1, DNSNames: []string{"evil.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCertificate(certPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("a name outside the constraint verified")
	}
}

// writeSet writes a CA and a certificate of role to dir and returns the files.
func writeSet(t *testing.T, dir string, caPEM, caKey []byte, role Role) Files {
	t.Helper()
	certPEM, keyPEM, err := GenerateCert(caPEM, caKey, CertOptions{Role: role, Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := Files{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, string(role)+".pem"), KeyFile: filepath.Join(dir, string(role)+"-key.pem")}
	for p, b := range map[string][]byte{f.CAFile: caPEM, f.CertFile: certPEM, f.KeyFile: keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// handshake runs one TLS handshake between the two configs over loopback
// TCP (buffered, unlike net.Pipe, so an alert never blocks) and returns the
// client's and the server's errors. The client reads once so that a refusal
// the server sends after the client's Finished (TLS 1.3) reaches it.
func handshake(client, server *tls.Config) (cerr, serr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := tls.Server(conn, server)
		err = s.Handshake()
		if err == nil {
			_, err = s.Write([]byte("x"))
		}
		done <- err
		_ = s.Close()
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err, <-done
	}
	c := tls.Client(conn, client)
	cerr = c.Handshake()
	if cerr == nil {
		_, cerr = c.Read(make([]byte, 1))
	}
	_ = c.Close()
	return cerr, <-done
}

func TestStoreMutualTLSAndReload(t *testing.T) {
	caPEM, caKey := mustCA(t)
	srvFiles := writeSet(t, t.TempDir(), caPEM, caKey, RoleServer)
	cliFiles := writeSet(t, t.TempDir(), caPEM, caKey, RoleClient)
	srv, err := NewStore(srvFiles)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewStore(cliFiles)
	if err != nil {
		t.Fatal(err)
	}
	serverName := Name(RoleServer, "global", DefaultDomain)
	mtls := srv.ServerConfig(tls.RequireAndVerifyClientCert)
	if cerr, serr := handshake(cl.ClientConfig(serverName), mtls); cerr != nil || serr != nil {
		t.Fatalf("same CA: client %v, server %v", cerr, serr)
	}
	// verify_server_hostname: a client certificate cannot pose as a server.
	if cerr, _ := handshake(srv.ClientConfig(serverName), cl.ServerConfig(tls.RequireAndVerifyClientCert)); cerr == nil || !strings.Contains(cerr.Error(), "verify_server_hostname") {
		t.Errorf("a client's certificate passed for server.global.nomad: %v", cerr)
	}
	// A listener for servers only (Raft) refuses a client's certificate.
	serversOnly := srv.ServerConfig(tls.RequireAndVerifyClientCert, serverName)
	if _, serr := handshake(cl.ClientConfig(), serversOnly); serr == nil || !strings.Contains(serr.Error(), "verify_server_hostname") {
		t.Errorf("a servers-only listener accepted a client's certificate: %v", serr)
	}
	if cerr, serr := handshake(srv.ClientConfig(serverName), serversOnly); cerr != nil || serr != nil {
		t.Errorf("a servers-only listener and a server: client %v, server %v", cerr, serr)
	}
	// Another CA: refused both ways.
	otherCA, otherKey := mustCA(t)
	rogue, err := NewStore(writeSet(t, t.TempDir(), otherCA, otherKey, RoleClient))
	if err != nil {
		t.Fatal(err)
	}
	if _, serr := handshake(rogue.ClientConfig(), mtls); serr == nil {
		t.Error("the server accepted a certificate of another CA")
	}
	if cerr, _ := handshake(cl.ClientConfig(), rogue.ServerConfig(tls.NoClientCert)); cerr == nil {
		t.Error("the client accepted a server of another CA")
	}
	// No certificate at all: refused by a mutual TLS listener.
	if _, serr := handshake(&tls.Config{InsecureSkipVerify: true}, mtls); serr == nil {
		t.Error("the server accepted a client without a certificate")
	}

	// Reload: the server moves to the other CA; new handshakes follow it.
	before := srv.Certificate().SerialNumber
	writeSet(t, filepath.Dir(srvFiles.CAFile), otherCA, otherKey, RoleServer)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if srv.Certificate().SerialNumber.Cmp(before) == 0 {
		t.Fatal("Reload kept the old certificate")
	}
	if _, serr := handshake(cl.ClientConfig(), mtls); serr == nil {
		t.Error("after reload the server still accepts the old CA's client")
	}
	if cerr, serr := handshake(rogue.ClientConfig(serverName), mtls); cerr != nil || serr != nil {
		t.Errorf("after reload: client %v, server %v", cerr, serr)
	}
	// A broken file keeps the old material.
	if err := os.WriteFile(srvFiles.CertFile, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(); err == nil {
		t.Error("Reload accepted a broken certificate")
	}
	if cerr, serr := handshake(rogue.ClientConfig(serverName), mtls); cerr != nil || serr != nil {
		t.Errorf("after a failed reload: client %v, server %v", cerr, serr)
	}
}
