package ingress

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/registration"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ACMEConfig configures certificates ordered from an ACME CA (Let's
// Encrypt or any RFC 8555 server) for the host names of the routes
// (urlprefix-host/path tags), validated with HTTP-01 on the ingress's HTTP
// listener (the CA connects to port 80 of the host name: http_port must be
// 80, or port 80 forwarded to it).
type ACMEConfig struct {
	// DirectoryURL is the CA's directory (https://...).
	DirectoryURL string
	// Email is the account's contact (optional).
	Email string
	// CAFile, when set, holds the PEM roots trusted for DirectoryURL
	// (a private or test CA) instead of the system's.
	CAFile string
	// RenewBefore is how long before expiry a certificate is renewed
	// (0: 30 days; at most a third of the certificate's lifetime).
	RenewBefore time.Duration
	// Domains are the names certificates may be ordered for (required):
	// "example.com" allows that name, "*.example.com" its subdomains at
	// any depth (not example.com itself), "*" any name. A route's host
	// outside them gets no certificate (any job can name a host in a
	// route tag; the operator decides which ones the CA is asked for).
	Domains []string
}

// DefaultACMERenewBefore is RenewBefore unless set.
const DefaultACMERenewBefore = 30 * 24 * time.Hour

// acmeLeaseTTL bounds one client's order of a host name: the others wait
// for its certificate that long before ordering themselves.
const acmeLeaseTTL = 10 * time.Minute

// acmeRetry is the wait after a failed order or a lease held elsewhere.
const acmeRetry = 30 * time.Second

// acmeCheckEvery is the longest wait between checks of the certificates.
const acmeCheckEvery = time.Hour

func (c *ACMEConfig) validate() error {
	u, err := url.Parse(c.DirectoryURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("client.ingress.acme.directory_url must be the CA's https:// directory URL, got %q", c.DirectoryURL)
	}
	if c.RenewBefore < 0 {
		return fmt.Errorf("client.ingress.acme.renew_before must not be negative, got %s", c.RenewBefore)
	}
	if len(c.Domains) == 0 {
		return errors.New(`client.ingress.acme.domains is required: the names certificates may be ordered for, e.g. domains = ["example.com", "*.apps.example.com"] (a job names any host in its route tags; "*" orders for every one)`)
	}
	for _, d := range c.Domains {
		if d != "*" && !acmeHost(strings.TrimPrefix(d, "*.")) {
			return fmt.Errorf(`client.ingress.acme.domains: %q is not a DNS name, "*.<name>" (its subdomains) or "*" (any name)`, d)
		}
	}
	return nil
}

// allowed reports whether a certificate may be ordered for host: it is
// an entry of Domains, or below an entry "*.<name>", or Domains has "*"
// (DNS names compare without regard to case).
func (c *ACMEConfig) allowed(host string) bool {
	host = strings.ToLower(host)
	for _, d := range c.Domains {
		d = strings.ToLower(d)
		if d == "*" || d == host {
			return true
		}
		if parent, ok := strings.CutPrefix(d, "*"); ok && strings.HasSuffix(host, parent) {
			return true
		}
	}
	return false
}

// acmeAnswer is an HTTP-01 answer: the key authorization, served only at
// the host name the challenge is for (its variable's "host" item).
type acmeAnswer struct{ host, keyAuth string }

// acmeManager orders and renews the certificates of the routes' hosts.
// Certificates, the account key, the order leases and the HTTP-01 answers
// are variables below the prefix, so every ingress client serves the same
// certificates and answers a challenge whichever client the CA reaches.
type acmeManager struct {
	g    *Ingress
	cfg  ACMEConfig
	http *http.Client
	kick chan struct{}

	mu    sync.Mutex
	hosts []string
	// refused are the routes' hosts outside cfg.Domains (not ordered).
	refused []string
	// answers are the HTTP-01 answers of this client's orders; watched
	// those of every client's, by token, from the watch of the variables
	// (watchCertVariables): the challenge handler answers from them and
	// never reads a variable per request. watchedCh is closed (and
	// replaced) when watched changes.
	answers   map[string]acmeAnswer
	watched   map[string]acmeAnswer
	watchedCh chan struct{}

	// client is the registered ACME client (lazily, in run's goroutine).
	client *lego.Client
}

func newACMEManager(g *Ingress) (*acmeManager, error) {
	cfg := *g.cfg.ACME
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = DefaultACMERenewBefore
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client.ingress.acme.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("client.ingress.acme.ca_file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc,
		TLSHandshakeTimeout: 30 * time.Second, ResponseHeaderTimeout: 30 * time.Second}}
	return &acmeManager{g: g, cfg: cfg, http: hc, kick: make(chan struct{}, 1), answers: map[string]acmeAnswer{},
		watched: map[string]acmeAnswer{}, watchedCh: make(chan struct{})}, nil
}

// setHosts takes the host names of t's HTTP routes. Wildcards need DNS-01,
// which is not supported, and a host that is no DNS name (a port, an
// underscore, an empty label) could never be issued: both are left out. As
// DNS names hold no "_", certVariable gives each host its own variable.
// A host outside cfg.Domains is refused: logged once when it appears,
// counted in the refused gauge and shown on its route (Routes).
func (m *acmeManager) setHosts(t *table) {
	var hosts, refused []string
	for _, r := range t.http {
		if !acmeHost(r.Host) || slices.Contains(hosts, r.Host) || slices.Contains(refused, r.Host) {
			continue
		}
		if m.cfg.allowed(r.Host) {
			hosts = append(hosts, r.Host)
		} else {
			refused = append(refused, r.Host)
		}
	}
	slices.Sort(hosts)
	slices.Sort(refused)
	m.mu.Lock()
	same := slices.Equal(hosts, m.hosts)
	before := m.refused
	m.hosts, m.refused = hosts, refused
	m.mu.Unlock()
	m.g.tlsm.refused.Set(float64(len(refused)))
	for _, h := range refused {
		if !slices.Contains(before, h) {
			m.g.logger.Warn("ingress: no ACME certificate ordered for a route's host outside client.ingress.acme.domains; add it there to serve it with one",
				"host", h, "domains", m.cfg.Domains)
		}
	}
	if !same {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// run checks every host's certificate when the hosts change and when the
// earliest renewal or retry is due.
func (m *acmeManager) run(ctx context.Context) {
	timer := time.NewTimer(acmeCheckEvery)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-timer.C:
		}
		m.mu.Lock()
		hosts := slices.Clone(m.hosts)
		m.mu.Unlock()
		next := time.Now().Add(acmeCheckEvery)
		for _, h := range hosts {
			if ctx.Err() != nil {
				return
			}
			if at := m.ensure(ctx, h); at.Before(next) {
				next = at
			}
		}
		timer.Reset(max(time.Until(next), time.Second))
	}
}

// isRefused reports whether host is a route's host outside cfg.Domains.
func (m *acmeManager) isRefused(host string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.refused, host)
}

// acmeHost reports whether h is a DNS name a CA can issue for over
// HTTP-01: dot-separated labels of 1-63 letters, digits and inner hyphens,
// 253 characters at most, at least two labels.
func acmeHost(h string) bool {
	labels := strings.Split(h, ".")
	if len(h) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// certVariable is the variable path of host's ACME certificate
// (variable paths have no dots).
func (m *acmeManager) certVariable(host string) string {
	return m.g.cfg.CertVariablesPrefix + "/" + strings.ReplaceAll(host, ".", "_")
}

func (m *acmeManager) stateVariable(parts ...string) string {
	return m.g.cfg.CertVariablesPrefix + "/" + acmeSubtree + "/" + strings.Join(parts, "/")
}

// renewAt is when a certificate is renewed: RenewBefore before it expires,
// at most a third of its lifetime.
func (m *acmeManager) renewAt(leaf *x509.Certificate) time.Time {
	before := min(m.cfg.RenewBefore, leaf.NotAfter.Sub(leaf.NotBefore)/3)
	return leaf.NotAfter.Add(-before)
}

// ensure orders host's certificate unless a fresh one is served or stored
// or another client holds the order's lease; it returns when to check the
// host again.
func (m *acmeManager) ensure(ctx context.Context, host string) time.Time {
	now := time.Now()
	if c := m.g.certs.vars.Load().lookup(host); c != nil && now.Before(m.renewAt(c.leaf)) {
		return m.renewAt(c.leaf)
	}
	vars := m.g.cfg.Variables
	path := m.certVariable(host)
	if v, err := vars.Get(ctx, path); err == nil && v != nil {
		if c, err := parseCertPair(v.Items["cert"], v.Items["key"]); err == nil && slices.Contains(c.Leaf.DNSNames, host) && now.Before(m.renewAt(c.Leaf)) {
			return m.renewAt(c.Leaf) // stored by another client: the watch brings it
		}
	}
	lease, ok := m.takeLease(ctx, host)
	if !ok {
		return now.Add(acmeRetry)
	}
	defer func() { _ = vars.Delete(context.WithoutCancel(ctx), lease) }()
	leaf, err := m.order(ctx, host, path)
	if err != nil {
		m.g.tlsm.orders.WithLabelValues("error").Inc()
		if ctx.Err() == nil {
			m.g.logger.Error("ingress: ACME certificate order failed; retrying", "host", host, "directory", m.cfg.DirectoryURL, "retry_in", acmeRetry, "error", err)
		}
		return now.Add(acmeRetry)
	}
	m.g.tlsm.orders.WithLabelValues("ok").Inc()
	m.g.logger.Info("ingress: ACME certificate obtained", "host", host, "variable", path, "not_after", leaf.NotAfter, "renew_at", m.renewAt(leaf))
	return m.renewAt(leaf)
}

// takeLease claims the order of host with a check-and-set write of its
// lease variable, unless another client's lease is still running.
func (m *acmeManager) takeLease(ctx context.Context, host string) (string, bool) {
	vars := m.g.cfg.Variables
	path := m.stateVariable("order", strings.ReplaceAll(host, ".", "_"))
	cur, err := vars.Get(ctx, path)
	if err != nil {
		m.g.logger.Warn("ingress: cannot read the ACME order lease", "host", host, "error", err)
		return "", false
	}
	var cas uint64
	if cur != nil {
		until, _ := time.Parse(time.RFC3339Nano, cur.Items["until"])
		if cur.Items["node"] != m.g.cfg.NodeID && time.Now().Before(until) {
			m.g.logger.Debug("ingress: another client is ordering the certificate", "host", host, "node", cur.Items["node"], "until", until)
			return "", false
		}
		cas = cur.ModifyIndex
	}
	v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: path},
		Items: map[string]string{"node": m.g.cfg.NodeID, "until": time.Now().Add(acmeLeaseTTL).UTC().Format(time.RFC3339Nano)}}
	if err := vars.Put(ctx, v, &cas); err != nil {
		if !errors.Is(err, ErrConflict) {
			m.g.logger.Warn("ingress: cannot write the ACME order lease", "host", host, "error", err)
		}
		return "", false
	}
	return path, true
}

// order obtains host's certificate and stores it at path: only for a
// host this client's domains allow.
func (m *acmeManager) order(ctx context.Context, host, path string) (*x509.Certificate, error) {
	if !m.cfg.allowed(host) {
		return nil, fmt.Errorf("%q is outside client.ingress.acme.domains %v", host, m.cfg.Domains)
	}
	if m.client == nil {
		c, err := m.register(ctx)
		if err != nil {
			return nil, err
		}
		m.client = c
	}
	res, err := m.client.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{host}, Bundle: true, KeyType: certcrypto.EC256})
	if err != nil {
		return nil, err
	}
	c, err := parseCertPair(string(res.Certificate), string(res.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: path},
		Items: map[string]string{"cert": string(res.Certificate), "key": string(res.PrivateKey), "acme_directory": m.cfg.DirectoryURL}}
	if err := m.g.cfg.Variables.Put(ctx, v, nil); err != nil {
		return nil, fmt.Errorf("store the certificate in variable %s: %w", path, err)
	}
	return c.Leaf, nil
}

// acmeUser is the ACME account: its key is shared by every ingress client
// through a variable.
type acmeUser struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (u *acmeUser) GetEmail() string                       { return u.email }
func (u *acmeUser) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *acmeUser) GetPrivateKey() crypto.Signer           { return u.key }

// register loads (or creates) the account key and registers the account
// (registering an existing key returns its account).
func (m *acmeManager) register(ctx context.Context) (*lego.Client, error) {
	key, err := m.accountKey(ctx)
	if err != nil {
		return nil, err
	}
	user := &acmeUser{email: m.cfg.Email, key: key}
	cfg := lego.NewConfig(user)
	cfg.CADirURL = m.cfg.DirectoryURL
	cfg.HTTPClient = m.http
	cfg.UserAgent = "nomadlike-ingress"
	c, err := lego.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("ACME directory %s: %w", m.cfg.DirectoryURL, err)
	}
	if err := c.Challenge.SetHTTP01Provider(m); err != nil {
		return nil, err
	}
	if user.reg, err = c.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true}); err != nil {
		return nil, fmt.Errorf("ACME account registration at %s: %w", m.cfg.DirectoryURL, err)
	}
	return c, nil
}

// accountKey reads the shared account key, creating it (check-and-set:
// one client's key wins) when absent.
func (m *acmeManager) accountKey(ctx context.Context) (crypto.Signer, error) {
	vars := m.g.cfg.Variables
	path := m.stateVariable("account")
	for range 3 {
		v, err := vars.Get(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("read the ACME account key: %w", err)
		}
		if v != nil {
			b, _ := pem.Decode([]byte(v.Items["key"]))
			if b == nil {
				return nil, fmt.Errorf("variable %s: item \"key\" is no PEM key (delete the variable to make a new account)", path)
			}
			k, err := x509.ParseECPrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("variable %s: item \"key\": %w (delete the variable to make a new account)", path, err)
			}
			return k, nil
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		var absent uint64
		err = vars.Put(ctx, &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: path},
			Items: map[string]string{"key": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))}}, &absent)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("store the ACME account key: %w", err)
		}
	}
	return nil, errors.New("the ACME account key variable keeps changing")
}

// acmePresentWait bounds Present's wait for the watch to bring back the
// answer it wrote.
const acmePresentWait = 10 * time.Second

// Present implements lego's challenge.Provider: the answer to the CA's
// HTTP-01 request for domain, kept here and in a variable (with the host
// it is for) for the other clients. It returns once this client's watch
// of the variables has the answer (or after acmePresentWait): the other
// clients' watches, woken by the same write, have it about as soon,
// before the CA is told to validate. A domain outside this client's
// domains is refused.
func (m *acmeManager) Present(ctx context.Context, domain, token, keyAuth string) error {
	if !m.cfg.allowed(domain) {
		return fmt.Errorf("ACME challenge for %q: outside client.ingress.acme.domains %v", domain, m.cfg.Domains)
	}
	a := acmeAnswer{host: domain, keyAuth: keyAuth}
	m.mu.Lock()
	m.answers[token] = a
	m.mu.Unlock()
	err := m.g.cfg.Variables.Put(ctx, &structs.VariableDecrypted{
		VariableMetadata: structs.VariableMetadata{Namespace: structs.DefaultNamespace, Path: m.stateVariable("http01", token)},
		Items:            map[string]string{"key_auth": keyAuth, "host": domain}}, nil)
	if err != nil {
		return err
	}
	seen, err := m.awaitWatched(ctx, func(w map[string]acmeAnswer) bool { return w[token] == a })
	if err == nil && !seen {
		m.g.logger.Warn("ingress: the watch of the variables has not brought back an ACME challenge answer; other clients may not answer it yet", "token", token, "waited", acmePresentWait)
	}
	return err
}

// awaitWatched waits until cond holds of the watched answers, at most
// acmePresentWait; it reports whether cond held, or ctx's error.
func (m *acmeManager) awaitWatched(ctx context.Context, cond func(map[string]acmeAnswer) bool) (bool, error) {
	deadline := time.NewTimer(acmePresentWait)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		ok, ch := cond(m.watched), m.watchedCh
		m.mu.Unlock()
		if ok {
			return true, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			return false, nil
		}
	}
}

// setWatched takes the HTTP-01 answers of every client's orders, by
// token, from the watch of the variables.
func (m *acmeManager) setWatched(answers map[string]acmeAnswer) {
	m.mu.Lock()
	m.watched = answers
	close(m.watchedCh)
	m.watchedCh = make(chan struct{})
	m.mu.Unlock()
}

// CleanUp implements lego's challenge.Provider: it forgets the answer
// and deletes its variable, and, as Present waits for the watch to bring
// an answer, returns once this client's watch no longer has it (or after
// acmePresentWait), so the token is no longer answered here.
func (m *acmeManager) CleanUp(ctx context.Context, _, token, _ string) error {
	m.mu.Lock()
	delete(m.answers, token)
	m.mu.Unlock()
	if err := m.g.cfg.Variables.Delete(ctx, m.stateVariable("http01", token)); err != nil {
		return err
	}
	_, err := m.awaitWatched(ctx, func(w map[string]acmeAnswer) bool { _, held := w[token]; return !held })
	return err
}

// acmeChallengePath is where the CA fetches HTTP-01 answers.
const acmeChallengePath = "/.well-known/acme-challenge/"

// challengeHandler answers the CA's HTTP-01 requests on the HTTP listener
// (this client's orders, and other clients' from the watch of their
// variables: a request never reads a variable, so any client on the
// internet cannot make the ingress query the servers) and passes every
// other request to next. An answer is served only at the host it is for,
// and only for a host this client's domains allow: whoever may write the
// variables below the prefix cannot make it prove control of any other
// name to a CA.
func (m *acmeManager) challengeHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, acmeChallengePath)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if !validToken(token) {
			http.Error(w, "nomadlike ingress: not an ACME challenge token", http.StatusNotFound)
			return
		}
		m.mu.Lock()
		answer, ok := m.answers[token]
		if !ok {
			answer = m.watched[token]
		}
		m.mu.Unlock()
		host := requestHost(r)
		if answer.keyAuth == "" || !strings.EqualFold(answer.host, host) || !acmeHost(host) || !m.cfg.allowed(host) {
			http.Error(w, "nomadlike ingress: no such ACME challenge", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(answer.keyAuth))
	})
}

// requestHost is r's Host without its port.
func requestHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// validToken reports an ACME token: base64url, which is also a valid
// variable path segment.
func validToken(t string) bool {
	if t == "" || len(t) > 100 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
