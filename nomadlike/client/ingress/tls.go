package ingress

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// hostCert is a certificate from a variable (set by an operator or by
// ACME) and the host names it serves.
type hostCert struct {
	cert *tls.Certificate
	leaf *x509.Certificate
	// path is the variable it came from; index its modify index.
	path  string
	index uint64
}

// certIndex finds a variable's certificate by host name.
type certIndex struct {
	// exact by host name; wildcard by the parent domain of "*.parent".
	exact, wildcard map[string]*hostCert
}

// lookup returns the certificate for host: an exact name, else a
// wildcard one level up; nil when none. Of two certificates for a name the
// one valid the longest wins.
func (ix *certIndex) lookup(host string) *hostCert {
	if ix == nil {
		return nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if c := ix.exact[host]; c != nil {
		return c
	}
	if _, parent, ok := strings.Cut(host, "."); ok {
		return ix.wildcard[parent]
	}
	return nil
}

// newCertIndex indexes certs by the DNS names of their leaves.
func newCertIndex(certs []*hostCert) *certIndex {
	ix := &certIndex{exact: map[string]*hostCert{}, wildcard: map[string]*hostCert{}}
	put := func(m map[string]*hostCert, name string, c *hostCert) {
		if cur := m[name]; cur == nil || c.leaf.NotAfter.After(cur.leaf.NotAfter) ||
			(c.leaf.NotAfter.Equal(cur.leaf.NotAfter) && c.path < cur.path) {
			m[name] = c
		}
	}
	for _, c := range certs {
		for _, n := range c.leaf.DNSNames {
			n = strings.ToLower(n)
			if parent, ok := strings.CutPrefix(n, "*."); ok {
				put(ix.wildcard, parent, c)
			} else {
				put(ix.exact, n, c)
			}
		}
	}
	return ix
}

// certStore picks the HTTPS listener's certificate by SNI: one from a
// variable naming the host, else the files' certificate.
type certStore struct {
	files *certFiles // nil without tls_cert_file
	vars  atomic.Pointer[certIndex]
}

// errNoCertificate: no certificate serves the client's server name.
var errNoCertificate = errors.New("no certificate for this server name")

func (s *certStore) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.vars.Load().lookup(hello.ServerName); c != nil {
		return c.cert, nil
	}
	if s.files != nil {
		return s.files.load()
	}
	return nil, fmt.Errorf("%w %q (add a certificate variable naming it, or tls_cert_file)", errNoCertificate, hello.ServerName)
}

// tlsConfig is the HTTPS listener's configuration.
func (s *certStore) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
		GetCertificate: s.getCertificate,
	}
}

// parseCertPair parses a variable's PEM certificate chain and key: the
// leaf must match the key and name at least one DNS host.
func parseCertPair(certPEM, keyPEM string) (*tls.Certificate, error) {
	if certPEM == "" || keyPEM == "" {
		return nil, errors.New(`it needs the items "cert" (PEM certificate chain, leaf first) and "key" (PEM private key)`)
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf(`items "cert" and "key": %w`, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf(`item "cert": %w`, err)
		}
	}
	if len(cert.Leaf.DNSNames) == 0 {
		return nil, errors.New(`item "cert": the certificate names no DNS host (subjectAltName); the ingress picks certificates by those names`)
	}
	return &cert, nil
}
