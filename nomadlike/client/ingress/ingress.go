// Package ingress is the client's built-in load balancer: it routes HTTP
// requests and TCP connections to the healthy instances of native
// services anywhere in the cluster. Routes come from service tags in
// Fabio's convention (urlprefix-/path, urlprefix-host/path, strip=/path,
// urlprefix-:port proto=tcp); the routing table is rebuilt by Set from the
// client's blocking watch of the service catalog, so a request never
// queries the servers.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Balancing strategies.
const (
	RoundRobin = "round_robin"
	LeastConn  = "least_conn"
)

// Config configures an ingress.
type Config struct {
	// Bind is the address listened on ("127.0.0.1"; "" all).
	Bind string
	// HTTPPort is the HTTP listen port (0: any free port, for tests).
	HTTPPort int
	// HTTPSPort, when set, serves the same routes over TLS terminated
	// with the certificate and key in TLSCertFile and TLSKeyFile (PEM),
	// and the certificates in variables below CertVariablesPrefix.
	HTTPSPort               int
	TLSCertFile, TLSKeyFile string
	// CertVariablesPrefix, when set, is the variable path (default
	// namespace, at or below structs.IngressVariablePrefix) whose
	// variables hold certificates (items "cert" and "key", PEM), picked
	// by the client's SNI among their DNS names (tls_vars.go).
	CertVariablesPrefix string
	// ACME, when set, obtains certificates for the routes' host names and
	// stores them below CertVariablesPrefix (acme.go).
	ACME *ACMEConfig
	// Variables is the link to the cluster's variables (needed with
	// CertVariablesPrefix); NodeID names this client in ACME order leases.
	Variables Variables
	NodeID    string
	// Balance is RoundRobin (default) or LeastConn.
	Balance string
	Logger  *slog.Logger
	// Metrics is the registry the per-route instruments join (nil: private).
	Metrics prometheus.Registerer
}

// Validate reports configuration mistakes naming the field.
func (c Config) Validate() error {
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		return fmt.Errorf("client.ingress.http_port must be 0-65535, got %d", c.HTTPPort)
	}
	if c.Balance != "" && c.Balance != RoundRobin && c.Balance != LeastConn {
		return fmt.Errorf("client.ingress.balance must be %q or %q, got %q", RoundRobin, LeastConn, c.Balance)
	}
	if c.HTTPSPort < 0 || c.HTTPSPort > 65535 {
		return fmt.Errorf("client.ingress.https_port must be 0-65535, got %d", c.HTTPSPort)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("client.ingress: give both tls_cert_file and tls_key_file (PEM files of the certificate and its key), or neither")
	}
	if c.HTTPSPort > 0 && c.TLSCertFile == "" && c.CertVariablesPrefix == "" {
		return fmt.Errorf("client.ingress.https_port needs certificates: tls_cert_file and tls_key_file (PEM files), or tls { variables_prefix = %q }", structs.IngressVariablePrefix+"/certs")
	}
	if c.HTTPSPort == 0 && (c.TLSCertFile != "" || c.CertVariablesPrefix != "" || c.ACME != nil) {
		return fmt.Errorf("client.ingress: tls_cert_file, tls { variables_prefix } and acme need https_port (the port to terminate TLS on)")
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.Bind != "" && net.ParseIP(c.Bind) == nil {
		return fmt.Errorf("client.ingress.bind must be an IP address, got %q", c.Bind)
	}
	return nil
}

// target is one instance (address:port) of one route, its open requests
// (or TCP connections) and how many it was given.
type target struct {
	addr   string
	active atomic.Int64
	served atomic.Uint64
}

// Ingress is a running ingress. It is safe for concurrent use.
type Ingress struct {
	cfg     Config
	logger  *slog.Logger
	metrics *metrics
	// transport is the keep-alive pool every route's proxy shares.
	transport *http.Transport

	table atomic.Pointer[table]

	mu sync.Mutex
	// targets are the instances by route key and address.
	targets map[string]*target
	tcp     map[int]*tcpListener
	httpLn  net.Listener
	httpSrv *http.Server
	// httpsLn and httpsSrv serve TLS (nil without HTTPSPort).
	httpsLn  net.Listener
	httpsSrv *http.Server
	closed   bool

	// certs are the HTTPS listener's certificates (tls.go); tlsm their
	// instruments; acme orders certificates (nil: off).
	certs *certStore
	tlsm  *tlsMetrics
	acme  *acmeManager
	// stop ends the certificate watcher and ACME loops; loops waits for them.
	stop  context.CancelFunc
	loops sync.WaitGroup
}

// New returns an ingress with an empty routing table; Start listens.
func New(cfg Config) (*Ingress, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Balance == "" {
		cfg.Balance = RoundRobin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g := &Ingress{cfg: cfg, logger: cfg.Logger.With("component", "ingress"), metrics: newMetrics(cfg.Metrics),
		targets: map[string]*target{}, tcp: map[int]*tcpListener{}}
	g.table.Store(&table{tcp: map[int]*route{}})
	g.transport = newTransport()
	g.certs = &certStore{}
	if cfg.TLSCertFile != "" {
		g.certs.files = &certFiles{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile}
	}
	if cfg.CertVariablesPrefix != "" {
		g.tlsm = newTLSMetrics(cfg.Metrics)
	}
	if cfg.ACME != nil {
		a, err := newACMEManager(g)
		if err != nil {
			return nil, err
		}
		g.acme = a
	}
	return g, nil
}

// errShutDown is Start after (or during) Shutdown.
var errShutDown = errors.New("client.ingress: the ingress is shut down")

// Start listens for HTTP on Bind:HTTPPort.
func (g *Ingress) Start() error {
	addr := net.JoinHostPort(g.cfg.Bind, strconv.Itoa(g.cfg.HTTPPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("client.ingress: listen on %s: %w (set client.ingress.http_port to a free port)", addr, err)
	}
	var h http.Handler = g
	if g.acme != nil {
		h = g.acme.challengeHandler(g)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = ln.Close()
		return errShutDown
	}
	g.httpLn, g.httpSrv = ln, srv
	g.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logger.Error("ingress HTTP server stopped", "addr", addr, "error", err)
		}
	}()
	g.logger.Info("ingress listening", "http_addr", ln.Addr().String(), "balance", g.cfg.Balance)
	if g.cfg.HTTPSPort > 0 {
		return g.startTLS()
	}
	return nil
}

// startTLS listens on Bind:HTTPSPort, terminating TLS, and starts the
// certificate variables' watch and ACME.
func (g *Ingress) startTLS() error {
	if g.certs.files != nil {
		if _, err := g.certs.files.load(); err != nil {
			return err
		}
	}
	addr := net.JoinHostPort(g.cfg.Bind, strconv.Itoa(g.cfg.HTTPSPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("client.ingress: listen on %s: %w (set client.ingress.https_port to a free port)", addr, err)
	}
	// Failed handshakes (no certificate for a name, scanners) are logged
	// at debug level, not on stderr.
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second, TLSConfig: g.certs.tlsConfig(),
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = ln.Close()
		return errShutDown
	}
	g.httpsLn, g.httpsSrv = ln, srv
	g.mu.Unlock()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logger.Error("ingress HTTPS server stopped", "addr", addr, "error", err)
		}
	}()
	g.logger.Info("ingress listening", "https_addr", ln.Addr().String())
	g.startCertLoops()
	return nil
}

// HTTPSAddr is the HTTPS listen address ("" without HTTPSPort).
func (g *Ingress) HTTPSAddr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.httpsLn == nil {
		return ""
	}
	return g.httpsLn.Addr().String()
}

// HTTPAddr is the HTTP listen address ("" before Start).
func (g *Ingress) HTTPAddr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.httpLn == nil {
		return ""
	}
	return g.httpLn.Addr().String()
}

// Set rebuilds the routing table from the catalog's registrations and
// opens or closes the TCP routes' listeners. Instances that are unhealthy
// or gone get no new requests or connections from now on.
func (g *Ingress) Set(regs []*structs.ServiceRegistration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	used := map[string]*target{}
	t := build(regs, func(route, addr string) *target {
		k := route + " " + addr
		tg := used[k]
		if tg == nil {
			tg = g.targets[k]
		}
		if tg == nil {
			tg = &target{addr: addr}
		}
		used[k] = tg
		return tg
	})
	for _, r := range t.all() {
		r.m = g.metrics.route(r.key)
		if r.TCPPort == 0 {
			r.proxy = g.routeProxy(r)
		}
	}
	t.carryDraining(g.table.Load())
	for _, r := range t.all() {
		for _, m := range r.draining {
			if k := r.key + " " + m.t.addr; used[k] == nil {
				used[k] = m.t // a new registration at its address continues its counts
			}
		}
	}
	g.targets = used
	g.table.Store(t)
	if g.acme != nil {
		g.acme.setHosts(t)
	}
	for port, l := range g.tcp {
		if t.tcp[port] == nil {
			l.close()
			delete(g.tcp, port)
		}
	}
	for port := range t.tcp {
		if g.tcp[port] != nil {
			continue
		}
		l, err := g.listenTCP(port)
		if err != nil {
			g.logger.Error("ingress: cannot listen for a TCP route; its service is not reachable through this client", "route", ":"+strconv.Itoa(port), "error", err)
			continue
		}
		g.tcp[port] = l
	}
}

// Shutdown closes the listeners; requests in flight end with their
// connections (bounded by ctx).
func (g *Ingress) Shutdown(ctx context.Context) {
	g.mu.Lock()
	g.closed = true
	srv, tsrv := g.httpSrv, g.httpsSrv
	if g.stop != nil {
		g.stop()
	}
	for port, l := range g.tcp {
		l.close()
		delete(g.tcp, port)
	}
	g.mu.Unlock()
	if srv != nil {
		_ = srv.Shutdown(ctx)
	}
	if tsrv != nil {
		_ = tsrv.Shutdown(ctx)
	}
	g.loops.Wait()
}

// pick returns the next instance of r excluding tried ones (nil: none).
func (g *Ingress) pick(r *route, tried []*target) *target {
	n := len(r.targets)
	if n == 0 {
		return nil
	}
	if g.cfg.Balance == LeastConn {
		var best *target
		start := int(atomic.AddUint64(&r.next, 1) % uint64(n)) // rotate among ties
		for i := range n {
			t := r.targets[(start+i)%n]
			if !slices.Contains(tried, t) && (best == nil || t.active.Load() < best.active.Load()) {
				best = t
			}
		}
		return best
	}
	for range n {
		t := r.targets[int(atomic.AddUint64(&r.next, 1)-1)%n]
		if !slices.Contains(tried, t) {
			return t
		}
	}
	return nil
}
