// Package pebbletest runs Let's Encrypt's ACME test CA, pebble (from the Go
// module proxy), inside a test process on loopback, with a DNS server that
// resolves every name to 127.0.0.1: ACME tests never reach a real CA.
package pebbletest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// CA is a running test CA.
type CA struct {
	// DirectoryURL is the ACME directory (https on 127.0.0.1).
	DirectoryURL string
	// CAFile is a PEM file of the directory's TLS certificate (the
	// ingress's acme.ca_file).
	CAFile string
	// Roots are the roots of the certificates it issues.
	Roots *x509.CertPool
}

// Start runs a CA whose HTTP-01 validations connect to 127.0.0.1:httpPort
// and whose certificates are valid for validity (0: pebble's default). It
// stops when t ends. It sets PEBBLE_VA_NOSLEEP (no random validation
// delay) and PEBBLE_WFE_NONCEREJECT=0 for t, so t must not be parallel.
func Start(t testing.TB, httpPort int, validity time.Duration) *CA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	logs := &lockedBuffer{}
	logger := log.New(logs, "pebble ", log.LstdFlags)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble's log:\n%s", logs.String())
		}
	})

	resolver := startDNS(t)
	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{"default": {Description: "test", ValidityPeriod: uint64(validity / time.Second)}}
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, profiles)
	validator := va.New(logger, httpPort, 0, false, resolver, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewUnstartedServer(front.Handler())
	srv.StartTLS()
	t.Cleanup(srv.Close)

	caFile := filepath.Join(t.TempDir(), "pebble-directory.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(authority.GetRootCert(0).Cert)
	return &CA{DirectoryURL: srv.URL + wfe.DirectoryPath, CAFile: caFile, Roots: roots}
}

// startDNS answers A queries for every name with 127.0.0.1 and every
// other query with no records, over TCP (pebble's resolver client) on
// loopback.
func startDNS(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// lockedBuffer is pebble's log, kept for a failing test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
