package ingress

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Variables is the ingress's link to the cluster's variables in the default
// namespace (the client's, with its node's secret).
type Variables interface {
	// List returns the metadata of the variables whose path starts with
	// prefix, blocking until the list may have changed past waitIndex.
	List(ctx context.Context, prefix string, waitIndex uint64) ([]*structs.VariableMetadata, uint64, error)
	// Get returns the variable at path (nil, nil when absent).
	Get(ctx context.Context, path string) (*structs.VariableDecrypted, error)
	// Put writes v; with cas only if v's modify index is *cas (0: absent),
	// else an error wrapping ErrConflict.
	Put(ctx context.Context, v *structs.VariableDecrypted, cas *uint64) error
	// Delete removes the variable at path (no error when absent).
	Delete(ctx context.Context, path string) error
}

// ErrConflict is a check-and-set write that lost to another writer.
var ErrConflict = errors.New("variable changed since it was read (check-and-set conflict)")

// acmeSubtree is the part of the prefix that holds ACME state (the
// account, order leases, challenge answers): not certificates.
const acmeSubtree = "_acme"

// validateTLS checks the certificate variables and ACME settings.
func (c Config) validateTLS() error {
	if p := c.CertVariablesPrefix; p != "" {
		if err := structs.ValidateVariablePath(p); err != nil {
			return fmt.Errorf("client.ingress.tls.variables_prefix: %w", err)
		}
		if !structs.IsIngressVariable(p) {
			return fmt.Errorf("client.ingress.tls.variables_prefix %q must be %q or below it (a client's node secret may read only those variables)", p, structs.IngressVariablePrefix)
		}
	}
	if c.ACME == nil {
		return nil
	}
	if c.CertVariablesPrefix == "" {
		return errors.New("client.ingress.acme needs tls { variables_prefix }: obtained certificates are stored there, shared by every ingress client")
	}
	return c.ACME.validate()
}

// tlsMetrics are the certificate variables' instruments.
type tlsMetrics struct {
	invalid *prometheus.GaugeVec
	expiry  *prometheus.GaugeVec
	orders  *prometheus.CounterVec
	refused prometheus.Gauge
}

func newTLSMetrics(reg prometheus.Registerer) *tlsMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &tlsMetrics{
		invalid: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nomadlike_ingress_tls_certificate_invalid",
			Help: "1 when a certificate variable cannot be used (its previous certificate, if any, is still served), by variable path."}, []string{"variable"}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nomadlike_ingress_tls_certificate_expiry_timestamp_seconds",
			Help: "When the certificate served from a variable expires (Unix time), by variable path."}, []string{"variable"}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nomadlike_ingress_acme_orders_total",
			Help: "ACME certificate orders this client made, by result (ok, error)."}, []string{"result"}),
		refused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nomadlike_ingress_acme_hosts_not_allowed",
			Help: "Routes' host names no ACME certificate is ordered for as they are outside client.ingress.acme.domains."}),
	}
	reg.MustRegister(m.invalid, m.expiry, m.orders, m.refused)
	return m
}

// startCertLoops starts the certificate variables' watch and ACME, unless
// the ingress is shut down (Shutdown stops the loops started before it and
// waits for them: none may start after).
func (g *Ingress) startCertLoops() {
	if g.cfg.CertVariablesPrefix == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	g.loops.Go(func() { g.watchCertVariables(ctx) })
	if g.acme != nil {
		g.loops.Go(func() { g.acme.run(ctx) })
	}
}

// watchCertVariables keeps the certificates of the variables below the
// prefix, from a blocking list of them: a changed variable is read once
// (no server call per connection). A malformed one is reported in the log
// and the invalid gauge, and its previous certificate stays in service.
func (g *Ingress) watchCertVariables(ctx context.Context) {
	prefix := g.cfg.CertVariablesPrefix + "/"
	loaded := map[string]*hostCert{}
	seen := map[string]uint64{}           // path -> modify index last read
	challenges := map[string]acmeAnswer{} // HTTP-01 answer's path -> answer
	var index uint64
	var wait time.Duration
	for ctx.Err() == nil {
		list, next, err := g.cfg.Variables.List(ctx, prefix, index)
		if err == nil {
			err = g.loadCertVariables(ctx, list, loaded, seen, challenges)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = min(max(2*wait, time.Second), 30*time.Second)
			g.logger.Warn("ingress: reading the certificate variables failed; serving the certificates read before", "prefix", prefix, "retry_in", wait, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		wait, index = 0, next
	}
}

// loadCertVariables reads the listed variables that changed and
// publishes the certificate index and, with ACME, the HTTP-01 answers of
// every client's orders (challenges, by path).
func (g *Ingress) loadCertVariables(ctx context.Context, list []*structs.VariableMetadata, loaded map[string]*hostCert, seen map[string]uint64, challenges map[string]acmeAnswer) error {
	skip := g.cfg.CertVariablesPrefix + "/" + acmeSubtree + "/"
	http01 := skip + "http01/"
	present := map[string]bool{}
	changed, answered := false, false
	for _, m := range list {
		if m.Namespace != "" && m.Namespace != structs.DefaultNamespace {
			continue
		}
		challenge := g.acme != nil && strings.HasPrefix(m.Path, http01)
		if !challenge && strings.HasPrefix(m.Path, skip) {
			continue
		}
		present[m.Path] = true
		if seen[m.Path] == m.ModifyIndex {
			continue
		}
		v, err := g.cfg.Variables.Get(ctx, m.Path)
		if err != nil {
			return err
		}
		if v == nil {
			continue // deleted since the list: the next list drops it
		}
		seen[m.Path] = v.ModifyIndex
		if challenge {
			challenges[m.Path] = acmeAnswer{host: v.Items["host"], keyAuth: v.Items["key_auth"]}
			answered = true
			continue
		}
		cert, err := parseCertPair(v.Items["cert"], v.Items["key"])
		if err != nil {
			g.tlsm.invalid.WithLabelValues(m.Path).Set(1)
			if prev := loaded[m.Path]; prev != nil {
				g.logger.Error("ingress: certificate variable is malformed; still serving its previous certificate", "variable", m.Path, "previous_hosts", prev.leaf.DNSNames, "error", err)
			} else {
				g.logger.Error("ingress: certificate variable is malformed; it serves no host until fixed", "variable", m.Path, "error", err)
			}
			continue
		}
		g.tlsm.invalid.WithLabelValues(m.Path).Set(0)
		g.tlsm.expiry.WithLabelValues(m.Path).Set(float64(cert.Leaf.NotAfter.Unix()))
		if time.Now().After(cert.Leaf.NotAfter) {
			g.logger.Warn("ingress: certificate variable holds an expired certificate", "variable", m.Path, "not_after", cert.Leaf.NotAfter)
		}
		loaded[m.Path] = &hostCert{cert: cert, leaf: cert.Leaf, path: m.Path, index: v.ModifyIndex}
		changed = true
		g.logger.Info("ingress: certificate loaded from variable", "variable", m.Path, "hosts", cert.Leaf.DNSNames, "not_after", cert.Leaf.NotAfter)
	}
	for p := range seen {
		if !present[p] {
			delete(seen, p)
			if _, ok := challenges[p]; ok {
				delete(challenges, p)
				answered = true
				continue
			}
			if loaded[p] != nil {
				delete(loaded, p)
				changed = true
				g.logger.Info("ingress: certificate variable removed; its hosts are no longer served with it", "variable", p)
			}
			g.tlsm.invalid.DeleteLabelValues(p)
			g.tlsm.expiry.DeleteLabelValues(p)
		}
	}
	if changed || g.certs.vars.Load() == nil {
		g.publishCerts(loaded)
	}
	if answered {
		byToken := make(map[string]acmeAnswer, len(challenges))
		for p, a := range challenges {
			byToken[strings.TrimPrefix(p, http01)] = a
		}
		g.acme.setWatched(byToken)
	}
	return nil
}

// publishCerts makes certs the served variable certificates.
func (g *Ingress) publishCerts(loaded map[string]*hostCert) {
	certs := make([]*hostCert, 0, len(loaded))
	for _, c := range loaded {
		certs = append(certs, c)
	}
	slices.SortFunc(certs, func(a, b *hostCert) int { return strings.Compare(a.path, b.path) })
	g.certs.vars.Store(newCertIndex(certs))
}
