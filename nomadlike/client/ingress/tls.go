package ingress

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certFiles serves a certificate and key from files, re-read when either
// file's modification time changes (a renewed certificate needs no restart).
type certFiles struct {
	certFile, keyFile string

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
}

// load reads the pair if it changed since the last read.
func (c *certFiles) load() (*tls.Certificate, error) {
	cs, err := os.Stat(c.certFile)
	if err != nil {
		return nil, fmt.Errorf("client.ingress.tls_cert_file: %w", err)
	}
	ks, err := os.Stat(c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("client.ingress.tls_key_file: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert != nil && cs.ModTime().Equal(c.certMod) && ks.ModTime().Equal(c.keyMod) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("client.ingress: load tls_cert_file %s and tls_key_file %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.certMod, c.keyMod = &cert, cs.ModTime(), ks.ModTime()
	return c.cert, nil
}

// tlsConfig is the HTTPS listener's configuration.
func (c *certFiles) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.load()
		},
	}
}
