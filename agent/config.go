package agent

import (
	"errors"
	"fmt"
	"github.com/hashicorp/hcl/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/client/logship"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Default ports, as Nomad's.
const (
	DefaultHTTPPort = 4646
	DefaultRPCPort  = 4647
	DefaultSerfPort = 4648
)

// Config is the agent's complete configuration after defaults, files and
// flags have been merged.
type Config struct {
	// Name is the node's and the server's name; empty means the hostname.
	Name       string
	Region     string
	Datacenter string
	// DataDir holds Raft data (server) and allocation dirs and local state (client).
	DataDir string
	// BindAddr is the address every listener binds unless Addresses says otherwise.
	BindAddr string
	// LogLevel is one of trace, debug, info, warn, error.
	LogLevel string
	// EnableDebug serves the Go profiler at /v1/agent/pprof/ (Nomad's
	// enable_debug).
	EnableDebug bool
	Ports       Ports
	Addresses   Addresses
	Advertise   Addresses
	Server      ServerConfig
	Client      ClientConfig
	// ACL is the acl block (config_acl.go).
	ACL ACLConfig
	// RawExec configures the raw_exec driver (plugin "raw_exec").
	RawExec RawExecConfig
	// PluginConfigs holds the config body of every other `plugin "<name>"`
	// block, decoded by that driver's factory (see plugins.go).
	PluginConfigs map[string]hcl.Body
	// TLS is the tls block (config_tls.go).
	TLS TLSConfig
	// Limits bounds HTTP connections and long polls (config_limits.go).
	Limits LimitsConfig
	// DevMode is set by -dev: in-memory Raft, a temporary data dir removed on shutdown.
	DevMode bool
}

// Ports are the agent's listening ports.
type Ports struct {
	HTTP int
	RPC  int
	Serf int
}

// Addresses are per-protocol addresses (bind or advertise); empty means derived.
type Addresses struct {
	HTTP string
	RPC  string
	Serf string
}

// ServerConfig is the server block.
type ServerConfig struct {
	Enabled         bool
	BootstrapExpect int
	NumSchedulers   int
	HeartbeatGrace  time.Duration
	MinHeartbeatTTL time.Duration
	// Encrypt is the base64 gossip encryption key (server.encrypt).
	Encrypt string
	// StartJoin and RetryJoin are other servers' serf addresses
	// (server_join); RetryInterval and RetryMax pace retry_join.
	StartJoin     []string
	RetryJoin     []string
	RetryInterval time.Duration
	RetryMax      int
	// Raft tuning: raft_multiplier, raft_snapshot_threshold,
	// raft_snapshot_interval, raft_trailing_logs.
	RaftMultiplier        int
	RaftSnapshotThreshold int
	RaftSnapshotInterval  time.Duration
	RaftTrailingLogs      int
	// RaftSegmentSizeMB is raft_segment_size_mb: the size of each Raft log
	// segment file (preallocated); 0 means raft-wal's default of 64.
	RaftSegmentSizeMB int
	// clock, when set (tests), is the server's wall clock (server.Config.Clock).
	clock func() time.Time
	// forwardTransport, when set (tests), wraps the transport that
	// forwards requests to the leader (fault injection).
	forwardTransport func(http.RoundTripper) http.RoundTripper
	// FailoverHeartbeatTTL is how long a new leader waits for nodes' heartbeats.
	FailoverHeartbeatTTL time.Duration
	// CleanupDeadServers is autopilot.cleanup_dead_servers (default true).
	CleanupDeadServers bool
	// Snapshot configures automatic backups (server.snapshot).
	Snapshot SnapshotConfig
	// GC is the leader's garbage collection (job_gc_interval and the
	// *_gc_threshold keys; config_gc.go).
	GC server.GCConfig
	// GCHeapTarget is gc_heap_target: the Go heap the server process may
	// grow to between its own garbage collections when memory allows
	// (gc_target.go). Not to be confused with GC, the state's.
	GCHeapTarget GCHeapTarget
	// gcHeapTargetSet is whether a config file set gc_heap_target.
	gcHeapTargetSet bool

	// deadServerThreshold shortens how long a failed server stays a voter
	// (tests only; 0 means the server's default).
	deadServerThreshold time.Duration
}

// SnapshotConfig is server { snapshot { interval, retain, path } }.
type SnapshotConfig struct {
	Interval time.Duration
	Retain   int
	Path     string
}

// ClientConfig is the client block.
type ClientConfig struct {
	Enabled bool
	// Servers are the HTTP addresses of servers ("host", "host:port" or a URL).
	Servers          []string
	NodeClass        string
	NodePool         string
	Meta             map[string]string
	ReservedCPU      int
	ReservedMemoryMB int
	// GC is the collection of terminal allocations (gc_interval,
	// gc_max_allocs, gc_disk_usage_threshold; config_gc.go).
	GC client.GCConfig
	// LogsRetention is the logs_retention block (config_logs.go).
	LogsRetention client.LogsRetentionConfig
	// LogShip is the logs { ship { ... } } block (config_logs.go); nil: off.
	LogShip *logship.Config
	// UsageReportInterval is client.usage_report_interval (0: the default).
	UsageReportInterval time.Duration
	// HostVolumes are the host_volume blocks by name (config_host_volume.go).
	HostVolumes map[string]*structs.ClientHostVolumeConfig
	// HostNetworks are the host_network blocks by name (config_host_network.go).
	HostNetworks map[string]*structs.ClientHostNetworkConfig
	// Artifact is the artifact block: which host paths local artifact
	// sources may read (config_artifact.go).
	Artifact allocrunner.ArtifactConfig
	// IntroToken (client.intro_token, or NOMAD_CLIENT_INTRO_TOKEN) is the
	// ACL token with node:write the client registers its node with when
	// ACLs are enabled. It is never served by /v1/agent/self.
	IntroToken string `json:"-"`
	// CNIPath (colon-separated dirs of CNI plugins), CNIConfigDir (network
	// lists for mode "cni/<name>"), BridgeNetworkName and
	// BridgeNetworkSubnet configure group networks in mode bridge or
	// cni/<name>; empty means Nomad's defaults.
	CNIPath, CNIConfigDir                  string
	BridgeNetworkName, BridgeNetworkSubnet string
	// BridgeNetworkMasquerade (bridge_network_masquerade, default false)
	// lets bridge allocations reach beyond the host: IP masquerade on the
	// bridge and no egress guard for its subnet.
	BridgeNetworkMasquerade bool
	// BridgeNetworkPoolSize (bridge_network_pool_size, default
	// DefaultBridgeNetworkPoolSize; 0 disables) is how many network
	// namespaces already attached to the bridge the client keeps ready,
	// from its first bridge allocation on: a bridge allocation then waits
	// only for its port mappings.
	BridgeNetworkPoolSize int
	// DNSAddress ("127.0.0.1:8600"; empty: off) is where the client serves
	// <service>.service.nomad over DNS.
	DNSAddress string
	// Ingress is the built-in ingress (off unless Enabled; config_ingress.go).
	Ingress IngressConfig
}

// RawExecConfig is the raw_exec plugin's config block.
type RawExecConfig struct {
	Enabled bool
}

// DefaultBridgeNetworkPoolSize is the default of bridge_network_pool_size:
// two namespaces, for two bridge allocations starting at once.
const DefaultBridgeNetworkPoolSize = 2

// DefaultConfig is the base every configuration starts from.
func DefaultConfig() *Config {
	return &Config{
		Region:     "global",
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		LogLevel:   "info",
		Ports:      Ports{HTTP: DefaultHTTPPort, RPC: DefaultRPCPort, Serf: DefaultSerfPort},
		Server:     ServerConfig{NumSchedulers: 0, CleanupDeadServers: true, GCHeapTarget: DefaultGCHeapTarget},
		Client:     ClientConfig{NodePool: "default", BridgeNetworkPoolSize: DefaultBridgeNetworkPoolSize},
	}
}

// DevConfig is the configuration of `agent -dev`: server and client in one
// process, in-memory Raft, bound to 127.0.0.1 on the default ports, raw_exec
// enabled, logging at info (HTTP requests and heartbeats are debug lines;
// -log-level debug shows them), and a fresh temporary data dir that Shutdown removes (unless a
// config file or flag names a data_dir).
func DevConfig() *Config {
	c := DefaultConfig()
	c.DevMode = true
	c.BindAddr = "127.0.0.1"
	c.Server.Enabled = true
	c.Server.BootstrapExpect = 1
	c.Client.Enabled = true
	c.RawExec.Enabled = true
	return c
}

// Finalize fills in what is derived from other settings (name, dev data dir).
// It creates a temporary data dir in dev mode when none is set and reports
// whether it did, so the caller can remove it.
func (c *Config) Finalize() (tempDataDir bool, err error) {
	if c.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return false, fmt.Errorf("agent name: no name set and the hostname is unknown (set name = \"...\" or -node): %w", err)
		}
		c.Name = h
	}
	if c.DevMode && c.DataDir == "" {
		d, err := os.MkdirTemp("", "nomadlike-dev-")
		if err != nil {
			return false, fmt.Errorf("dev mode: create a temporary data dir: %w (set -data-dir)", err)
		}
		c.DataDir = d
		tempDataDir = true
	}
	return tempDataDir, nil
}

// Validate returns every problem with the configuration, each saying what to change.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !c.Server.Enabled && !c.Client.Enabled {
		bad("neither server nor client is enabled: set server { enabled = true } and/or client { enabled = true }, or pass -server, -client or -dev")
	}
	if c.Client.Enabled && !c.Server.Enabled && len(c.Client.Servers) == 0 {
		bad("client.servers is empty: a client-only agent needs the HTTP address of at least one server (client { servers = [\"10.0.0.1:4646\"] } or -servers)")
	}
	for _, s := range c.Client.Servers {
		if _, err := ServerURL(s); err != nil {
			bad("client.servers: %v", err)
		}
	}
	if c.DataDir == "" && !c.DevMode {
		bad("data_dir is not set: the agent needs a directory for its state (data_dir = \"/opt/nomadlike/data\" or -data-dir)")
	}
	if c.DataDir != "" {
		if !filepath.IsAbs(c.DataDir) {
			if abs, err := filepath.Abs(c.DataDir); err == nil {
				c.DataDir = abs
			}
		}
		if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
			bad("data_dir %q cannot be created: %v (choose a writable directory)", c.DataDir, err)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log_level %q is unknown: use trace, debug, info, warn or error", c.LogLevel)
	}
	for name, p := range map[string]int{"http": c.Ports.HTTP, "rpc": c.Ports.RPC, "serf": c.Ports.Serf} {
		if p < 0 || p > 65535 {
			bad("ports.%s = %d is out of range 0-65535", name, p)
		}
	}
	if ip := net.ParseIP(c.BindAddr); ip == nil {
		bad("bind_addr %q is not an IP address", c.BindAddr)
	}
	if c.Server.Enabled && c.Server.BootstrapExpect < 0 {
		bad("server.bootstrap_expect = %d must not be negative", c.Server.BootstrapExpect)
	}
	if c.Server.Enabled {
		errs = append(errs, c.Server.validateCluster()...)
	}
	if c.Server.NumSchedulers < 0 {
		bad("server.num_schedulers = %d must not be negative", c.Server.NumSchedulers)
	}
	if c.Client.Enabled && c.Client.NodePool == structs.NodePoolAll {
		bad("client.node_pool = %q: the built-in pool %q always holds every node and cannot be named by one; choose another pool name (or leave it unset for %q)", structs.NodePoolAll, structs.NodePoolAll, structs.DefaultNodePool)
	} else if c.Client.Enabled && c.Client.NodePool != "" {
		if err := structs.ValidateNodePoolName(c.Client.NodePool); err != nil {
			bad("client.node_pool: %v", err)
		}
	}
	if c.Client.ReservedCPU < 0 || c.Client.ReservedMemoryMB < 0 {
		bad("client.reserved: cpu and memory must not be negative")
	}
	errs = append(errs, c.TLS.validate()...)
	return errors.Join(errs...)
}

// ServerURL turns a client.servers entry into an HTTP base URL: a bare host
// gets the default HTTP port and "http://".
func ServerURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty server address")
	}
	if strings.Contains(s, "://") {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			return "", fmt.Errorf("server address %q: only http:// and https:// are supported", s)
		}
		return strings.TrimSuffix(s, "/"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: the whole thing is a host.
		host, port = s, strconv.Itoa(DefaultHTTPPort)
	}
	if host == "" {
		return "", fmt.Errorf("server address %q has no host", s)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("server address %q: port %q is not a number", s, port)
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
