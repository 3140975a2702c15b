package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Files are the PEM files of an agent's tls block.
type Files struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Store holds an agent's certificate, key and CA pool. The *tls.Config
// values it hands out read the Store on every handshake, so after Reload new
// connections use the new files while established ones carry on. It is safe
// for concurrent use.
type Store struct {
	files Files
	cur   atomic.Pointer[material]
}

type material struct {
	cert *tls.Certificate
	pool *x509.CertPool
}

// NewStore loads f (all three files are needed).
func NewStore(f Files) (*Store, error) {
	s := &Store{files: f}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the files. On an error the Store keeps what it had.
func (s *Store) Reload() error {
	f := s.files
	if f.CAFile == "" || f.CertFile == "" || f.KeyFile == "" {
		return errors.New("tls: ca_file, cert_file and key_file must all be set (make them with `nomadlike tls ca create` and `nomadlike tls cert create`)")
	}
	pool, err := LoadCAPool(f.CAFile, "")
	if err != nil {
		return fmt.Errorf("tls.ca_file: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file %s and key_file %s: %w", f.CertFile, f.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls.cert_file %s: %w", f.CertFile, err)
		}
	}
	s.cur.Store(&material{cert: &cert, pool: pool})
	return nil
}

// Certificate returns the current certificate (for tests and logs).
func (s *Store) Certificate() *x509.Certificate { return s.cur.Load().cert.Leaf }

// ServerConfig returns the configuration of a TLS listener: it presents the
// current certificate and treats client certificates as auth says
// (tls.RequireAndVerifyClientCert for mutual TLS, tls.VerifyClientCertIfGiven
// to check one only when offered). With names, a client certificate must
// also be valid for one of them (Raft accepts only servers' certificates
// under verify_server_hostname).
func (s *Store) ServerConfig(auth tls.ClientAuthType, names ...string) *tls.Config {
	get := func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := s.cur.Load()
		c := &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{*m.cert},
			ClientCAs:    m.pool,
			ClientAuth:   auth,
		}
		if len(names) > 0 {
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return nil // ClientAuth decided whether one is needed
				}
				return CheckNames(cs.PeerCertificates[0], names...)
			}
		}
		return c, nil
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: get,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cur.Load().cert, nil
		},
	}
}

// ClientConfig returns the configuration for dialling another agent: it
// offers the current certificate and accepts a peer whose certificate chains
// to the current CA and, when names are given, is valid for one of them
// (verify_server_hostname: server.<region>.nomad).
func (s *Store) ClientConfig(names ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is verified by VerifyConnection against the current CA
		// pool, which a fixed RootCAs could not follow across a reload.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.cur.Load().cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return VerifyPeer(cs.PeerCertificates, s.cur.Load().pool, x509.ExtKeyUsageServerAuth, names...)
		},
	}
}

// VerifyPeer checks that certs (leaf first) chain to pool for usage and,
// when names are given, that the leaf is valid for one of them.
func VerifyPeer(certs []*x509.Certificate, pool *x509.CertPool, usage x509.ExtKeyUsage, names ...string) error {
	if len(certs) == 0 {
		return errors.New("the peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return fmt.Errorf("the peer's certificate (%s) is not signed by this agent's CA (tls.ca_file): %w", leaf.Subject.CommonName, err)
	}
	return CheckNames(leaf, names...)
}

// CheckNames reports an error unless names is empty or leaf is valid for
// one of them.
func CheckNames(leaf *x509.Certificate, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) == nil {
			return nil
		}
	}
	return fmt.Errorf("the peer's certificate is valid for %s, not for %s (verify_server_hostname)", strings.Join(leaf.DNSNames, ", "), strings.Join(names, " or "))
}

// LoadCAPool reads the PEM certificates of file and of every file in dir
// (either may be empty) into a pool.
func LoadCAPool(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	var files []string
	if file != "" {
		files = append(files, file)
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("CA directory: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", f)
		}
	}
	return pool, nil
}
