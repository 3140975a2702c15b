package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/client/catalog"
	"github.com/nomadlike/nomadlike/nomadlike/client/clientstate"
	"github.com/nomadlike/nomadlike/nomadlike/client/dns"
	"github.com/nomadlike/nomadlike/nomadlike/client/ingress"
	"github.com/nomadlike/nomadlike/nomadlike/client/logship"
	"github.com/nomadlike/nomadlike/nomadlike/client/network"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Client is one node's client runtime.
type Client struct {
	cfg     Config
	db      *clientstate.DB
	drivers map[string]drivers.Driver
	id      clientstate.Identity
	// sess speaks the node's protocol with the servers (session.go).
	sess *Session

	// cancel stops the background loops; wg waits for them.
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	runners map[string]*allocEntry
	// metrics are the alloc runners' instruments (metrics.go).
	metrics *allocrunner.Metrics

	// gc remembers the allocations this client destroyed (gc.go).
	gc allocGC
	// retained keeps collected allocations' log tails (retain.go).
	retained *retention
	// ship forwards task logs (nil: Config.LogShip unset).
	ship *logship.Shipper
	// networks gives allocations their own networks (bridge, cni/<name>).
	networks *network.Manager

	// nodeMu serialises changes of the registered node (driver
	// re-fingerprints, dynamic metadata); dynMeta is the node metadata set
	// through the API (node_meta.go), kept in the client's state.
	nodeMu  sync.Mutex
	dynMeta map[string]*string
	// dns serves the service catalog (nil: Config.DNSAddr unset).
	dns *dns.Server
	// ingress routes to services' instances (nil: Config.Ingress off).
	ingress *ingress.Ingress
}

// New validates cfg, opens the client's state in DataDir/client and loads
// (or creates and persists) the node's identity.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	for _, d := range []string{filepath.Join(cfg.DataDir, "client"), filepath.Join(cfg.DataDir, "alloc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create client data dir: %w", err)
		}
	}
	db, err := clientstate.Open(filepath.Join(cfg.DataDir, "client", "state.db"))
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, db: db, drivers: map[string]drivers.Driver{}, runners: map[string]*allocEntry{}}
	c.retained = newRetention(cfg.DataDir, cfg.LogsRetention, cfg.Now)
	for _, d := range cfg.Drivers {
		c.drivers[d.Name()] = d
	}
	c.metrics = newClientMetrics(cfg.Metrics, c)
	if cfg.LogShip.Enabled() {
		if c.ship, err = logship.New(*cfg.LogShip, filepath.Join(cfg.DataDir, "client", "logship"), cfg.Metrics, cfg.Logger); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("client config: %w", err)
		}
	}
	if c.id, err = loadIdentity(db); err != nil {
		_ = db.Close()
		return nil, err
	}
	if c.dynMeta, err = db.DynamicMeta(); err != nil {
		_ = db.Close()
		return nil, err
	}
	c.cfg.Logger = cfg.Logger.With("component", "client", "node_id", c.id.NodeID)
	c.sess, err = NewSession(SessionConfig{
		Servers: cfg.Servers, IntroToken: cfg.IntroToken, TLS: cfg.TLS, SecretID: c.id.SecretID,
		Logger: c.cfg.Logger, OnAllocs: c.reconcile,
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("client config: %w", err)
	}
	netCfg := cfg.Network
	netCfg.StateDir = filepath.Join(cfg.DataDir, "client", "network")
	netCfg.Logger = c.cfg.Logger
	if cfg.DNSAddr != "" {
		c.dns = dns.New(c.cfg.Logger)
		netCfg.GatewayDNS = c.dns.ListenOnGateway
	}
	if c.networks, err = network.New(netCfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	if cfg.Ingress != nil {
		ic := *cfg.Ingress
		ic.Logger, ic.Metrics = c.cfg.Logger, cfg.Metrics
		ic.Variables, ic.NodeID = ingressVariables{c: c}, c.id.NodeID
		if c.ingress, err = ingress.New(ic); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("client config: %w", err)
		}
	}
	return c, nil
}

// NodeID returns the node's persistent ID.
func (c *Client) NodeID() string { return c.id.NodeID }

// Node returns a copy of the node as last fingerprinted (nil before Start).
func (c *Client) Node() *structs.Node { return c.sess.Node() }

// Servers is Session.Servers.
func (c *Client) Servers() []string { return c.sess.Servers() }

// SetServers is Session.SetServers.
func (c *Client) SetServers(addrs []string) error { return c.sess.SetServers(addrs) }

// Start restores local state and re-attaches to tasks, fingerprints the
// host, and starts the background loops. It returns once they are started.
func (c *Client) Start(ctx context.Context) error {
	node, err := c.fingerprint(ctx)
	if err != nil {
		return err
	}
	c.sess.SetNode(node)

	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if c.dns != nil {
		// Before restore: a re-attached bridge allocation's resolv.conf
		// names the DNS server on its gateway.
		if err := c.dns.Listen(c.cfg.DNSAddr); err != nil {
			cancel()
			return fmt.Errorf("client config: dns_address %q: %w", c.cfg.DNSAddr, err)
		}
		c.goLoop(loopCtx, func(ctx context.Context) {
			<-ctx.Done()
			c.dns.Shutdown()
		})
	}
	if c.ingress != nil {
		if err := c.ingress.Start(); err != nil {
			cancel()
			c.wg.Wait()
			return err
		}
		c.goLoop(loopCtx, func(ctx context.Context) {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			c.ingress.Shutdown(sctx)
		})
	}
	if c.dns != nil || c.ingress != nil {
		// One blocking watch of the catalog feeds both.
		c.goLoop(loopCtx, func(ctx context.Context) {
			catalog.Watch(ctx, serviceDiscovery{c: c}, c.cfg.Logger, func(regs []*structs.ServiceRegistration) {
				if c.dns != nil {
					c.dns.Set(regs)
				}
				if c.ingress != nil {
					c.ingress.Set(regs)
				}
			})
		})
	}
	if err := c.restore(loopCtx); err != nil {
		cancel()
		c.wg.Wait()
		return err
	}
	c.goLoop(loopCtx, c.sess.Run)
	c.goLoop(loopCtx, c.fingerprintLoop)
	c.goLoop(loopCtx, c.runGC)
	c.goLoop(loopCtx, c.usageLoop)
	return nil
}

func (c *Client) goLoop(ctx context.Context, f func(context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(ctx)
	}()
}

// Shutdown stops the loops and alloc runners without stopping tasks (unless
// Config.DestroyOnShutdown), sends pending status updates (bounded by ctx)
// and closes the local state.
func (c *Client) Shutdown(ctx context.Context) error {
	if c.cfg.DestroyOnShutdown {
		c.destroyAll(ctx)
	}
	if c.cancel != nil {
		c.cancel()
	}
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("client shutdown: loops did not stop: %w", ctx.Err())
	}
	var errs []error
	if err := c.sess.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("client shutdown: send final allocation updates: %w", err))
	}
	// The warm pool of bridge namespaces goes; allocations' networks stay.
	if err := c.networks.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("client shutdown: %w", err))
	}
	if err := c.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("client shutdown: close state: %w", err))
	}
	return errors.Join(errs...)
}

// destroyAll stops the tasks of every allocation and waits (bounded by ctx)
// until their runners are done.
func (c *Client) destroyAll(ctx context.Context) {
	c.mu.Lock()
	entries := make([]*allocEntry, 0, len(c.runners))
	for _, e := range c.runners {
		entries = append(entries, e)
	}
	c.mu.Unlock()
	for _, e := range entries {
		e.runner.Kill(structs.NewTaskEvent(structs.TaskKilling, c.cfg.Now(), "Dev agent shutting down: stopping the task"))
	}
	for _, e := range entries {
		select {
		case <-e.done:
		case <-ctx.Done():
			c.cfg.Logger.Warn("dev agent shutdown: tasks still stopping", "alloc_id", e.runner.ID(), "error", ctx.Err())
			return
		}
	}
}

// AllocFiles returns the safe accessor of an allocation's directory for the
// file-system API (/v1/client/fs/...): its Open, Stat, ReadDir and OpenLog
// never resolve a path outside the allocation directory, whatever symlinks
// its tasks planted (see package allocdir). An allocation not on this node,
// or garbage collected, is a 404 CodedError.
func (c *Client) AllocFiles(allocID string) (*allocdir.AllocDir, error) {
	e, err := c.entry(allocID)
	if err != nil {
		return nil, err
	}
	return e.runner.Dir(), nil
}

func (c *Client) entry(allocID string) (*allocEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.runners[allocID]
	if !ok {
		if err := c.collectedError(allocID); err != nil {
			return nil, err
		}
		return nil, structs.NewNotFound("allocation %q is not on node %s", allocID, structs.ShortID(c.id.NodeID))
	}
	return e, nil
}
