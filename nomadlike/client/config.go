package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
	"github.com/nomadlike/nomadlike/nomadlike/client/ingress"
	"github.com/nomadlike/nomadlike/nomadlike/client/logship"
	"github.com/nomadlike/nomadlike/nomadlike/client/network"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Config configures a Client.
type Config struct {
	// TaskAPI is the agent's HTTP API, which each task reaches on
	// secrets/api.sock (Nomad's Task API); nil: none.
	TaskAPI http.Handler
	// DataDir holds client state in DataDir/client and alloc dirs in DataDir/alloc.
	DataDir                                           string
	NodeName, Datacenter, Region, NodeClass, NodePool string
	Meta                                              map[string]string
	// IntroToken, when set, is sent with node registration instead of the
	// node's secret: an ACL token with node:write (ACLs enabled).
	IntroToken string
	// Servers are the servers' HTTP base URLs, e.g. "http://127.0.0.1:4646".
	Servers []string
	// HTTPAddr is this agent's advertised HTTP address "host:port".
	HTTPAddr string
	// TLS, when set, is how the client dials servers: https:// with this
	// configuration (the agent's certificate; tls.http). Nil means http://.
	TLS     *tls.Config
	Drivers []drivers.Driver
	// ReservedCPU (MHz) and ReservedMemoryMB are kept back from scheduling.
	ReservedCPU, ReservedMemoryMB int
	Logger                        *slog.Logger
	// GC configures the collection of terminal allocations (gc.go).
	GC GCConfig
	// LogsRetention keeps the tail of collected allocations' logs
	// (client { logs_retention { ... } }; retain.go).
	LogsRetention LogsRetentionConfig
	// LogShip forwards tasks' log lines to syslog and/or OTLP/HTTP
	// (client { logs { ship { ... } } }; package logship). Nil: off.
	LogShip *logship.Config
	// HostVolumes are the client's host_volume blocks by name; each path
	// must exist (New refuses the config otherwise).
	HostVolumes map[string]*structs.ClientHostVolumeConfig
	// HostNetworks are the client's host_network blocks by name; their
	// addresses are found on the host's interfaces at each fingerprint.
	HostNetworks map[string]*structs.ClientHostNetworkConfig
	// Artifact says which host paths artifacts' local sources may read
	// (the artifact block; none by default).
	Artifact allocrunner.ArtifactConfig
	// DestroyOnShutdown stops every allocation's tasks on Shutdown (a -dev
	// agent, whose temporary state could never re-attach to them); otherwise
	// tasks keep running and a restarted client re-attaches.
	DestroyOnShutdown bool
	// Metrics is the registry the client's instruments join (the agent's);
	// nil keeps them private.
	Metrics prometheus.Registerer
	// UsageReportInterval is how often running allocations' usage goes to
	// the servers for the autoscaler (0: DefaultUsageReportInterval).
	UsageReportInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Network configures allocations' own networks (group network mode
	// bridge or cni/<name>): CNI paths, the bridge's name and subnet. Its
	// StateDir is set to DataDir/client/network.
	Network network.Config
	// DNSAddr, when set ("127.0.0.1:8600"), is where the client serves the
	// service catalog over DNS (<service>.service.nomad); bridge
	// allocations without a dns block then resolve through it on their
	// gateway (port 53).
	DNSAddr string
	// Ingress, when set, runs the built-in ingress (client/ingress) with
	// this configuration (its Logger and Metrics are the client's).
	Ingress *ingress.Config

	// fingerprintRoot is where /proc, /sys and /etc are read ("/" unless a test says otherwise).
	fingerprintRoot string
}

func (c *Config) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("client config: data_dir is required"))
	}
	if len(c.Servers) == 0 {
		errs = append(errs, errors.New("client config: at least one server address is required (servers = [\"127.0.0.1:4646\"])"))
	}
	if c.ReservedCPU < 0 || c.ReservedMemoryMB < 0 {
		errs = append(errs, fmt.Errorf("client config: reserved resources cannot be negative (cpu %d, memory %d)", c.ReservedCPU, c.ReservedMemoryMB))
	}
	hv, err := fingerprint.HostVolumes(c.HostVolumes)
	if err != nil {
		errs = append(errs, fmt.Errorf("client config: %w", err))
	}
	c.HostVolumes = hv
	for name, hn := range c.HostNetworks {
		if hn == nil || hn.Name != name {
			errs = append(errs, fmt.Errorf("client config: host_network %q has no config of that name", name))
		} else if err := hn.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("client config: %w", err))
		}
	}
	seen := map[string]bool{}
	for _, d := range c.Drivers {
		if seen[d.Name()] {
			errs = append(errs, fmt.Errorf("client config: driver %q is configured twice", d.Name()))
		}
		seen[d.Name()] = true
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.Region == "" {
		c.Region = "global"
	}
	if c.NodePool == "" {
		c.NodePool = "default"
	}
	if c.fingerprintRoot == "" {
		c.fingerprintRoot = "/"
	}
}
