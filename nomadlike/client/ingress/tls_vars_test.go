package ingress

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// memVars is an in-memory Variables with blocking lists.
type memVars struct {
	mu      sync.Mutex
	vars    map[string]*structs.VariableDecrypted
	index   uint64
	changed chan struct{}
}

func newMemVars() *memVars {
	return &memVars{vars: map[string]*structs.VariableDecrypted{}, changed: make(chan struct{})}
}

func (m *memVars) bump() {
	m.index++
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *memVars) List(ctx context.Context, prefix string, wait uint64) ([]*structs.VariableMetadata, uint64, error) {
	for {
		m.mu.Lock()
		if m.index > wait {
			var out []*structs.VariableMetadata
			for p, v := range m.vars {
				if strings.HasPrefix(p, prefix) {
					md := v.VariableMetadata
					out = append(out, &md)
				}
			}
			idx := m.index
			m.mu.Unlock()
			return out, idx, nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-ch:
		}
	}
}

func (m *memVars) Get(_ context.Context, path string) (*structs.VariableDecrypted, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v := m.vars[path]; v != nil {
		return v.Copy(), nil
	}
	return nil, nil
}

func (m *memVars) Put(_ context.Context, v *structs.VariableDecrypted, cas *uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur uint64
	if c := m.vars[v.Path]; c != nil {
		cur = c.ModifyIndex
	}
	if cas != nil && *cas != cur {
		return ErrConflict
	}
	m.bump()
	in := v.Copy()
	in.Namespace, in.ModifyIndex = structs.DefaultNamespace, m.index
	m.vars[v.Path] = in
	return nil
}

func (m *memVars) Delete(_ context.Context, path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vars[path] != nil {
		delete(m.vars, path)
		m.bump()
	}
	return nil
}

func (m *memVars) set(t *testing.T, path string, items map[string]string) {
	t.Helper()
	if err := m.Put(context.Background(), &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: path}, Items: items}, nil); err != nil {
		t.Fatal(err)
	}
}

// certPair is a self-signed certificate for names, as PEM.
func certPair(t *testing.T, cn string, names ...string) map[string]string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: names,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return map[string]string{"cert": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"key": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))}
}

// servedCN is the common name of the certificate served for serverName
// ("" and the error when the handshake fails).
func servedCN(addr, serverName string) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func waitUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	waitFor(t, 10*time.Second, what, cond)
}

// waitFor polls cond until it holds, failing t with what and cond's last
// detail after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantCN(t *testing.T, g *Ingress, host, cn string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s served for %s", cn, host), func() (bool, string) {
		got, err := servedCN(g.HTTPSAddr(), host)
		return err == nil && got == cn, fmt.Sprintf("got %q, %v", got, err)
	})
}

// TestCertificatesFromVariablesBySNI: certificates come from the variables
// below the prefix, picked by SNI (exact, then wildcard); a changed
// variable is served without a restart; a malformed one is reported (log
// and gauge) while its previous certificate stays; a removed one is gone.
func TestCertificatesFromVariablesBySNI(t *testing.T) {
	vars := newMemVars()
	const prefix = structs.IngressVariablePrefix + "/certs"
	vars.set(t, prefix+"/app", certPair(t, "app-1", "app.example"))
	vars.set(t, prefix+"/wild", certPair(t, "wild", "*.b.example"))
	vars.set(t, "nomadlike/ingress/certsx/other", certPair(t, "outside", "other.example"))
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	g := start(t, Config{HTTPSPort: freeport.TCP(t), CertVariablesPrefix: prefix, Variables: vars, Metrics: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	wantCN(t, g, "app.example", "app-1")
	wantCN(t, g, "x.b.example", "wild")
	if _, err := servedCN(g.HTTPSAddr(), "other.example"); err == nil {
		t.Fatal("a certificate outside the prefix is served")
	}
	if _, err := servedCN(g.HTTPSAddr(), "y.x.b.example"); err == nil {
		t.Fatal("a wildcard certificate is served two levels down")
	}

	vars.set(t, prefix+"/app", certPair(t, "app-2", "app.example"))
	wantCN(t, g, "app.example", "app-2")

	vars.set(t, prefix+"/app", map[string]string{"cert": "not PEM", "key": "nor this"})
	invalid := func() float64 { return testutil.ToFloat64(g.tlsm.invalid.WithLabelValues(prefix + "/app")) }
	waitUntil(t, "the malformed variable reported", func() (bool, string) {
		return invalid() == 1 && strings.Contains(logs.String(), "certificate variable is malformed; still serving its previous certificate"), logs.String()
	})
	wantCN(t, g, "app.example", "app-2")

	vars.set(t, prefix+"/app", certPair(t, "app-3", "app.example"))
	wantCN(t, g, "app.example", "app-3")
	if invalid() != 0 {
		t.Fatal("the fixed variable is still reported invalid")
	}
	if err := vars.Delete(context.Background(), prefix+"/app"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the removed certificate no longer served", func() (bool, string) {
		_, err := servedCN(g.HTTPSAddr(), "app.example")
		return err != nil, "still served"
	})
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
