package api

import (
	"crypto/tls"
	"fmt"
	"os"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// TLSConfig is how the client verifies an https:// agent and authenticates
// to it, as the official client's: files named by NOMAD_CACERT, NOMAD_CAPATH,
// NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME and
// NOMAD_SKIP_VERIFY or the CLI's -ca-cert, -ca-path, -client-cert,
// -client-key, -tls-server-name and -tls-skip-verify.
type TLSConfig struct {
	// CACert and CAPath (a directory) hold the CA certificates that sign the
	// agent's; both empty means the system's roots.
	CACert string
	CAPath string
	// ClientCert and ClientKey are this client's certificate and key.
	ClientCert string
	ClientKey  string
	// TLSServerName is the name the agent's certificate must carry
	// (default: the address's host).
	TLSServerName string
	// Insecure skips verifying the agent's certificate.
	Insecure bool
}

// TLSConfigFromEnv reads the NOMAD_* TLS variables.
func TLSConfigFromEnv() (*TLSConfig, error) {
	t := &TLSConfig{
		CACert:        os.Getenv("NOMAD_CACERT"),
		CAPath:        os.Getenv("NOMAD_CAPATH"),
		ClientCert:    os.Getenv("NOMAD_CLIENT_CERT"),
		ClientKey:     os.Getenv("NOMAD_CLIENT_KEY"),
		TLSServerName: os.Getenv("NOMAD_TLS_SERVER_NAME"),
	}
	if v := os.Getenv("NOMAD_SKIP_VERIFY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("NOMAD_SKIP_VERIFY=%q is not a boolean (use true or false)", v)
		}
		t.Insecure = b
	}
	return t, nil
}

// Build returns the crypto/tls configuration t describes.
func (t *TLSConfig) Build() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName, InsecureSkipVerify: t.Insecure}
	if t.CACert != "" || t.CAPath != "" {
		file, dir := t.CACert, t.CAPath
		if file != "" {
			dir = "" // -ca-cert wins over -ca-path, as Nomad's
		}
		pool, err := tlsutil.LoadCAPool(file, dir)
		if err != nil {
			return nil, fmt.Errorf("CA certificate (-ca-cert / NOMAD_CACERT, -ca-path / NOMAD_CAPATH): %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case t.ClientCert != "" && t.ClientKey != "":
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("client certificate (-client-cert / NOMAD_CLIENT_CERT, -client-key / NOMAD_CLIENT_KEY): %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case t.ClientCert != "" || t.ClientKey != "":
		return nil, fmt.Errorf("a client certificate needs both -client-cert (NOMAD_CLIENT_CERT) and -client-key (NOMAD_CLIENT_KEY)")
	}
	return c, nil
}
