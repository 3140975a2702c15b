package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/jobspec"
	"github.com/nomadlike/nomadlike/nomadlike/client"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/client/network"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// leaderWait bounds how long Start waits for the first leader election.
const leaderWait = 30 * time.Second

// Agent runs a server, a client, or both, behind one HTTP API.
type Agent struct {
	cfg     *Config
	logger  *slog.Logger // the agent's own, component=agent
	root    *slog.Logger // handed to the server, client and HTTP API
	logs    *logHub      // root's subscribers (GET /v1/agent/monitor)
	tempDir bool         // cfg.DataDir was created by Finalize and is removed on Shutdown
	tls     *agentTLS    // nil without a tls block (config_tls.go)

	server *server.Server
	client *client.Client
	// drivers are closed after the client stops (their tasks keep running).
	drivers []drivers.Driver
	http    *HTTPServer

	httpSrv    *http.Server
	httpAddr   string // advertised host:port
	httpBind   string // bound host:port
	stopHTTP   context.CancelFunc
	serveDone  chan struct{}
	shutdownMu sync.Mutex
	shutDown   bool
	// localClientKey lets this agent's own client register its node with
	// the local server when ACLs are enabled (it never leaves the process).
	localClientKey string
	// metrics is the one registry of the agent's server, client and HTTP
	// API (GET /v1/metrics; metrics.go).
	metrics *prometheus.Registry
}

// New checks cfg and returns an agent ready to Start. It starts nothing.
func New(cfg *Config, logger *slog.Logger) (*Agent, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tmp, err := cfg.Finalize()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		if tmp {
			_ = os.RemoveAll(cfg.DataDir)
		}
		return nil, fmt.Errorf("agent configuration: %w", err)
	}
	// The root handler also feeds GET /v1/agent/monitor (logtee.go).
	logs := newLogHub()
	logger = slog.New(logs.wrap(logger.Handler()))
	a := &Agent{cfg: cfg, logger: logger.With("component", "agent"), root: logger, logs: logs, tempDir: tmp,
		metrics: newAgentRegistry()}
	if a.tls, err = newAgentTLS(cfg); err != nil {
		if tmp {
			_ = os.RemoveAll(cfg.DataDir)
		}
		return nil, fmt.Errorf("agent configuration: %w", err)
	}
	return a, nil
}

// HTTPAddr returns the advertised HTTP address (host:port) once Start has
// bound the listener; with ports.http = 0 it carries the port picked.
func (a *Agent) HTTPAddr() string { return a.httpAddr }

// Start starts the server and waits (bounded) for a leader, then the HTTP
// API, then the client. On error, whatever started is shut down.
func (a *Agent) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if serr := a.Shutdown(sctx); serr != nil {
				a.logger.Warn("clean up after a failed start", "error", serr)
			}
		}
	}()
	if a.cfg.ACL.Enabled && a.cfg.Server.Enabled && a.cfg.Client.Enabled {
		a.localClientKey = structs.GenerateUUID()
	}
	// Listen first: the server gossips its HTTP address.
	ln, err := a.listen()
	if err != nil {
		return err
	}
	if a.cfg.Server.Enabled {
		if err := a.startServer(ctx); err != nil {
			_ = ln.Close()
			return err
		}
	}
	if a.cfg.Client.Enabled {
		if a.client, err = a.newClient(); err != nil {
			_ = ln.Close()
			return err
		}
	}
	a.startHTTP(ln)
	if a.client != nil {
		if err := a.client.Start(ctx); err != nil {
			return fmt.Errorf("start client: %w", err)
		}
		a.logger.Info("client started", "node_id", a.client.NodeID(), "servers", a.clientServers())
	}
	return nil
}

func (a *Agent) startServer(ctx context.Context) error {
	c := a.cfg
	dataDir := c.DataDir
	if c.DevMode {
		dataDir = "" // in-memory Raft
		if !a.tempDir {
			a.logger.Warn(devStateNotKept, "data_dir", c.DataDir)
		}
	}
	rpcBind := net.JoinHostPort(firstNonEmpty(c.Addresses.RPC, c.BindAddr), strconv.Itoa(c.Ports.RPC))
	scfg := server.Config{
		NodeName: c.Name, Region: c.Region, Datacenter: c.Datacenter, DataDir: dataDir,
		RaftBindAddr: rpcBind, RaftAdvertise: c.Advertise.RPC,
		BootstrapExpect: c.Server.BootstrapExpect, NumSchedulers: c.Server.NumSchedulers,
		Clock:           c.Server.clock,
		MinHeartbeatTTL: c.Server.MinHeartbeatTTL, HeartbeatGrace: c.Server.HeartbeatGrace,
		GC:      c.Server.GC,
		Logger:  a.root,
		Metrics: a.metrics,
	}
	a.serverTLS(&scfg)
	if c.DataDir != "" {
		scfg.ACLBootstrapResetFile = filepath.Join(c.DataDir, "server", "acl-bootstrap-reset")
	}
	if err := a.clusterConfig(&scfg); err != nil {
		return err
	}
	srv, err := server.NewServer(scfg)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	a.server = srv
	if c.Server.BootstrapExpect > 1 {
		a.logger.Info("waiting for other servers to elect a leader", "bootstrap_expect", c.Server.BootstrapExpect)
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	if err := srv.WaitForLeader(wctx); err != nil {
		return fmt.Errorf("server started but no leader was elected within %v: %w (check the Raft address %s and the server log)", leaderWait, err, rpcBind)
	}
	a.logger.Info("server is ready", "leader", srv.Leader())
	return nil
}

// listen binds the HTTP listener and works out the advertised address.
func (a *Agent) listen() (net.Listener, error) {
	c := a.cfg
	bind := net.JoinHostPort(firstNonEmpty(c.Addresses.HTTP, c.BindAddr), strconv.Itoa(c.Ports.HTTP))
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("HTTP listener on %s: %w (is another agent running? choose another port with ports { http = ... } or -http-port)", bind, err)
	}
	a.httpBind = ln.Addr().String()
	ln = a.tlsListener(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	a.httpAddr = advertiseAddr(c.Advertise.HTTP, firstNonEmpty(c.Addresses.HTTP, c.BindAddr), port)
	// Record the resolved addresses so /v1/agent/self and members show them.
	c.Ports.HTTP = port
	c.Advertise.HTTP = a.httpAddr
	// An advertised address without a port takes the port from ports {},
	// as in Nomad (advertise { rpc = "10.0.0.5" }).
	c.Advertise.RPC = advertiseAddr(c.Advertise.RPC, firstNonEmpty(c.Addresses.RPC, c.BindAddr), c.Ports.RPC)
	c.Advertise.Serf = advertiseAddr(c.Advertise.Serf, firstNonEmpty(c.Addresses.Serf, c.BindAddr), c.Ports.Serf)
	return ln, nil
}

func (a *Agent) startHTTP(ln net.Listener) {
	hcfg := HTTPConfig{
		ParseJob:       jobspec.ParseWithVars,
		Agent:          a.cfg,
		ServerURLs:     a.clientServers(),
		ServerTLS:      a.clientTLS(),
		AgentTLS:       a.peerTLS(),
		LocalClientKey: a.localClientKey,
		Logger:         a.root,
		Metrics:        a.metrics,
		logs:           a.logs,
	}
	hcfg.forwardTransport = a.cfg.Server.forwardTransport // tests: fault injection
	if a.server != nil {
		hcfg.Server = a.server
		hcfg.Cluster = a.server
	}
	if a.client != nil {
		hcfg.Client = a.client
	}
	a.agentCertPolicy(&hcfg)
	a.http = NewHTTPServer(hcfg)
	a.http.SetSelfAddr(a.httpAddr)
	// In-flight blocking queries and log streams end when the agent stops.
	baseCtx, cancel := context.WithCancel(context.Background())
	a.stopHTTP = cancel
	// ReadTimeout bounds reading a request; the middleware lifts it once
	// the request is read, so streams and blocking queries keep running.
	lim := a.cfg.Limits.effective()
	a.httpSrv = &http.Server{
		Handler:           a.http.Handler(),
		ReadHeaderTimeout: lim.HTTPReadHeaderTimeout,
		ReadTimeout:       lim.HTTPReadTimeout,
		IdleTimeout:       lim.HTTPIdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	a.serveDone = make(chan struct{})
	go func() {
		defer close(a.serveDone)
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("HTTP server stopped", "error", err)
		}
	}()
	a.logger.Info("HTTP API listening", "bind", a.httpBind, "advertise", a.httpAddr)
}

func (a *Agent) newClient() (*client.Client, error) {
	c := a.cfg
	drv, err := buildDrivers(pluginEnv{DataDir: c.DataDir, Dev: c.DevMode, Logger: a.root}, c)
	if err != nil {
		return nil, err
	}
	a.drivers = drv
	cl, err := client.New(client.Config{
		DataDir: c.DataDir, NodeName: c.Name, Datacenter: c.Datacenter, Region: c.Region,
		NodeClass: c.Client.NodeClass, NodePool: c.Client.NodePool, Meta: c.Client.Meta,
		Servers: a.clientServers(), HTTPAddr: a.httpAddr, Drivers: drv, TLS: a.clientTLS(),
		ReservedCPU: c.Client.ReservedCPU, ReservedMemoryMB: c.Client.ReservedMemoryMB,
		GC:                  c.Client.GC,
		LogsRetention:       c.Client.LogsRetention,
		LogShip:             c.Client.LogShip,
		UsageReportInterval: c.Client.UsageReportInterval,
		HostVolumes:         c.Client.HostVolumes,
		HostNetworks:        c.Client.HostNetworks,
		Artifact:            c.Client.Artifact,
		IntroToken:          a.introToken(),
		Network: network.Config{CNIPath: c.Client.CNIPath, CNIConfigDir: c.Client.CNIConfigDir,
			BridgeName: c.Client.BridgeNetworkName, BridgeSubnet: c.Client.BridgeNetworkSubnet,
			Masquerade: c.Client.BridgeNetworkMasquerade, PoolSize: c.Client.BridgeNetworkPoolSize},
		DNSAddr: c.Client.DNSAddress,
		Ingress: a.ingressConfig(),
		// A dev agent's data dir is temporary: tasks it leaves could never
		// be re-attached, so it stops them on shutdown, as Nomad's -dev does.
		DestroyOnShutdown: c.DevMode,
		Logger:            a.root,
		Metrics:           a.metrics,
		// The Task API: a.http exists before the client starts any task.
		TaskAPI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.http.Handler().ServeHTTP(w, r) }),
	})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return cl, nil
}

// clientServers are the servers' HTTP URLs the client talks to: this agent
// itself when it runs a server, else client.servers.
func (a *Agent) clientServers() []string {
	if a.cfg.Server.Enabled && a.httpAddr != "" {
		return []string{a.httpScheme() + a.httpAddr}
	}
	var out []string
	for _, s := range a.cfg.Client.Servers {
		u, err := ServerURL(s)
		if err != nil {
			continue // Validate reported it
		}
		if !strings.Contains(s, "://") {
			u = a.httpScheme() + strings.TrimPrefix(u, "http://")
		}
		if _, port, err := net.SplitHostPort(s); err == nil && port == strconv.Itoa(DefaultRPCPort) {
			a.logger.Warn("client.servers entry uses port 4647, Nomad's RPC port; nomadlike clients talk HTTP to servers (default port 4646)", "server", s)
		}
		out = append(out, u)
	}
	return out
}

// Shutdown stops the client (its tasks keep running), then the HTTP API,
// then the server, and removes a temporary dev data dir. It is safe to call
// more than once.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.shutdownMu.Lock()
	defer a.shutdownMu.Unlock()
	if a.shutDown {
		return nil
	}
	a.shutDown = true
	var errs []error
	if a.client != nil {
		if err := a.client.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop client: %w", err))
		}
	}
	for _, d := range a.drivers {
		if c, ok := d.(interface{ Close() }); ok {
			c.Close()
		}
	}
	if a.httpSrv != nil {
		a.stopHTTP()
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop HTTP API: %w", err))
			_ = a.httpSrv.Close()
		}
		<-a.serveDone
	}
	if a.server != nil {
		if err := a.server.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("stop server: %w", err))
		}
	}
	if a.tempDir {
		if err := allocdir.UnmountAllSecrets(filepath.Join(a.cfg.DataDir, "alloc")); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(a.cfg.DataDir); err != nil {
			errs = append(errs, fmt.Errorf("remove dev data dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// advertiseAddr returns explicit (with port added when it has none), else
// bind's IP, or for an unspecified bind address (0.0.0.0) this host's
// first private IP, with port.
func advertiseAddr(explicit, bind string, port int) string {
	p := strconv.Itoa(port)
	if explicit != "" {
		if _, _, err := net.SplitHostPort(explicit); err == nil {
			return explicit
		}
		return net.JoinHostPort(explicit, p)
	}
	ip := net.ParseIP(bind)
	if ip != nil && !ip.IsUnspecified() {
		return net.JoinHostPort(bind, p)
	}
	return net.JoinHostPort(hostIP(), p)
}

// hostIP returns the first non-loopback IPv4 address of this host, or 127.0.0.1.
func hostIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
