package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// fileConfig is one config file as written. Pointers tell "not set" from a
// zero value so that later files override only what they set.
type fileConfig struct {
	Name       *string        `hcl:"name,optional"`
	Region     *string        `hcl:"region,optional"`
	Datacenter *string        `hcl:"datacenter,optional"`
	DataDir    *string        `hcl:"data_dir,optional"`
	BindAddr   *string        `hcl:"bind_addr,optional"`
	LogLevel   *string        `hcl:"log_level,optional"`
	Ports      *filePorts     `hcl:"ports,block"`
	Addresses  *fileAddrs     `hcl:"addresses,block"`
	Advertise  *fileAddrs     `hcl:"advertise,block"`
	Server     *fileServer    `hcl:"server,block"`
	Client     *fileClient    `hcl:"client,block"`
	Plugins    []*filePlugin  `hcl:"plugin,block"`
	Autopilot  *fileAutopilot `hcl:"autopilot,block"`
	TLS        *fileTLS       `hcl:"tls,block"`
	Limits     *fileLimits    `hcl:"limits,block"`
	ACL        *fileACL       `hcl:"acl,block"`
	// Accepted for Nomad configs, not implemented (config_compat.go).
	DisableUpdateCheck *bool        `hcl:"disable_update_check,optional"`
	EnableDebug        *bool        `hcl:"enable_debug,optional"`
	Vault              *fileVault   `hcl:"vault,block"`
	Consul             *fileIgnored `hcl:"consul,block"`
	Telemetry          *fileIgnored `hcl:"telemetry,block"`
}

// fileAutopilot is Nomad's autopilot block; nomadlike uses cleanup_dead_servers
// and accepts the other keys so Nomad configs load unchanged.
type fileAutopilot struct {
	CleanupDeadServers      *bool          `hcl:"cleanup_dead_servers,optional"`
	LastContactThreshold    hcl.Expression `hcl:"last_contact_threshold,optional"`
	MaxTrailingLogs         *int           `hcl:"max_trailing_logs,optional"`
	MinQuorum               *int           `hcl:"min_quorum,optional"`
	ServerStabilizationTime hcl.Expression `hcl:"server_stabilization_time,optional"`
	EnableRedundancyZones   *bool          `hcl:"enable_redundancy_zones,optional"`
	DisableUpgradeMigration *bool          `hcl:"disable_upgrade_migration,optional"`
	EnableCustomUpgrades    *bool          `hcl:"enable_custom_upgrades,optional"`
}

// fileServerJoin is the server_join block (in server or client).
type fileServerJoin struct {
	RetryJoin     []string       `hcl:"retry_join,optional"`
	StartJoin     []string       `hcl:"start_join,optional"`
	RetryMax      *int           `hcl:"retry_max,optional"`
	RetryInterval hcl.Expression `hcl:"retry_interval,optional"`
}

// fileSnapshot is server { snapshot { ... } }: automatic backups.
type fileSnapshot struct {
	Interval hcl.Expression `hcl:"interval,optional"`
	Retain   *int           `hcl:"retain,optional"`
	Path     *string        `hcl:"path,optional"`
}

type filePorts struct {
	HTTP *int `hcl:"http,optional"`
	RPC  *int `hcl:"rpc,optional"`
	Serf *int `hcl:"serf,optional"`
}

type fileAddrs struct {
	HTTP *string `hcl:"http,optional"`
	RPC  *string `hcl:"rpc,optional"`
	Serf *string `hcl:"serf,optional"`
}

type fileServer struct {
	Enabled         *bool          `hcl:"enabled,optional"`
	BootstrapExpect *int           `hcl:"bootstrap_expect,optional"`
	NumSchedulers   *int           `hcl:"num_schedulers,optional"`
	HeartbeatGrace  hcl.Expression `hcl:"heartbeat_grace,optional"`
	MinHeartbeatTTL hcl.Expression `hcl:"min_heartbeat_ttl,optional"`
	// Cluster keys.
	Encrypt               *string         `hcl:"encrypt,optional"`
	ServerJoin            *fileServerJoin `hcl:"server_join,block"`
	RetryJoin             []string        `hcl:"retry_join,optional"`
	StartJoin             []string        `hcl:"start_join,optional"`
	RetryMax              *int            `hcl:"retry_max,optional"`
	RetryInterval         hcl.Expression  `hcl:"retry_interval,optional"`
	RaftProtocol          *int            `hcl:"raft_protocol,optional"`
	RaftMultiplier        *int            `hcl:"raft_multiplier,optional"`
	RaftSnapshotThreshold *int            `hcl:"raft_snapshot_threshold,optional"`
	RaftSnapshotInterval  hcl.Expression  `hcl:"raft_snapshot_interval,optional"`
	RaftTrailingLogs      *int            `hcl:"raft_trailing_logs,optional"`
	RaftSegmentSizeMB     *int            `hcl:"raft_segment_size_mb,optional"`
	FailoverHeartbeatTTL  hcl.Expression  `hcl:"failover_heartbeat_ttl,optional"`
	Snapshot              *fileSnapshot   `hcl:"snapshot,block"`
	// Garbage collection keys (config_gc.go).
	JobGCInterval         hcl.Expression `hcl:"job_gc_interval,optional"`
	JobGCThreshold        hcl.Expression `hcl:"job_gc_threshold,optional"`
	EvalGCThreshold       hcl.Expression `hcl:"eval_gc_threshold,optional"`
	BatchEvalGCThreshold  hcl.Expression `hcl:"batch_eval_gc_threshold,optional"`
	DeploymentGCThreshold hcl.Expression `hcl:"deployment_gc_threshold,optional"`
	NodeGCThreshold       hcl.Expression `hcl:"node_gc_threshold,optional"`
	EvalGCInterval        hcl.Expression `hcl:"eval_gc_interval,optional"`
	DeploymentGCInterval  hcl.Expression `hcl:"deployment_gc_interval,optional"`
	NodeGCInterval        hcl.Expression `hcl:"node_gc_interval,optional"`
	// GCHeapTarget is the Go heap the server may grow to between
	// collections (gc_target.go; beyond Nomad).
	GCHeapTarget *string `hcl:"gc_heap_target,optional"`
}

type fileClient struct {
	Enabled   *bool         `hcl:"enabled,optional"`
	Servers   []string      `hcl:"servers,optional"`
	NodeClass *string       `hcl:"node_class,optional"`
	NodePool  *string       `hcl:"node_pool,optional"`
	Meta      *fileMeta     `hcl:"meta,block"`
	Reserved  *fileReserved `hcl:"reserved,block"`
	// ServerJoin's retry_join and start_join name servers' HTTP addresses.
	ServerJoin *fileServerJoin `hcl:"server_join,block"`
	// Garbage collection keys (config_gc.go).
	GCInterval hcl.Expression `hcl:"gc_interval,optional"`
	// UsageReportInterval is how often the client reports allocation usage
	// to the servers (the autoscaler's nomad-apm source).
	UsageReportInterval   hcl.Expression `hcl:"usage_report_interval,optional"`
	GCMaxAllocs           hcl.Expression `hcl:"gc_max_allocs,optional"`
	GCDiskUsageThreshold  hcl.Expression `hcl:"gc_disk_usage_threshold,optional"`
	GCInodeUsageThreshold hcl.Expression `hcl:"gc_inode_usage_threshold,optional"`
	// HostVolumes are the host_volume blocks (config_host_volume.go).
	HostVolumes []*fileHostVolume `hcl:"host_volume,block"`
	// HostNetworks are the host_network blocks (config_host_network.go).
	HostNetworks []*fileHostNetwork `hcl:"host_network,block"`
	// Artifact is the artifact block (config_artifact.go).
	Artifact *fileArtifact `hcl:"artifact,block"`
	// LogsRetention is the logs_retention block (config_logs.go).
	LogsRetention *fileLogsRetention `hcl:"logs_retention,block"`
	// Logs is the logs block with its ship block (config_logs.go).
	Logs *fileLogs `hcl:"logs,block"`
	// Ingress is the built-in ingress (config_ingress.go).
	Ingress *fileIngress `hcl:"ingress,block"`
	// IntroToken is the token the client registers its node with when ACLs are enabled.
	IntroToken *string `hcl:"intro_token,optional"`
	// Options is Nomad's client options map: accepted, unused.
	Options map[string]string `hcl:"options,optional"`
	// Networking of groups in network mode bridge or cni/<name>, as Nomad's keys.
	CNIPath             *string `hcl:"cni_path,optional"`
	CNIConfigDir        *string `hcl:"cni_config_dir,optional"`
	BridgeNetworkName   *string `hcl:"bridge_network_name,optional"`
	BridgeNetworkSubnet *string `hcl:"bridge_network_subnet,optional"`
	// BridgeNetworkMasquerade opts in to outbound traffic from bridge
	// allocations (beyond Nomad, whose bridge always masquerades).
	BridgeNetworkMasquerade *bool `hcl:"bridge_network_masquerade,optional"`
	// BridgeNetworkPoolSize is the warm pool of bridge namespaces (beyond Nomad).
	BridgeNetworkPoolSize *int `hcl:"bridge_network_pool_size,optional"`
	// DNSAddress serves the service catalog over DNS (beyond Nomad).
	DNSAddress *string `hcl:"dns_address,optional"`
}

type fileMeta struct {
	Body hcl.Body `hcl:",remain"`
}

type fileReserved struct {
	CPU    *int `hcl:"cpu,optional"`
	Memory *int `hcl:"memory,optional"`
}

type filePlugin struct {
	Name   string          `hcl:"name,label"`
	Config *filePluginBody `hcl:"config,block"`
	// Remain holds anything else in the block: unknown keys (reported) and its location.
	Remain hcl.Body `hcl:",remain"`
}

type filePluginBody struct {
	Body hcl.Body `hcl:",remain"`
}

type rawExecPluginConfig struct {
	Enabled *bool `hcl:"enabled,optional"`
}

// LoadConfig applies each path (a file, or a directory whose *.hcl and *.json
// files are read in lexical order) onto base, in order: later files override
// earlier ones. Errors name the file, line and column.
func LoadConfig(base *Config, paths ...string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("config %q: %w", p, err)
		}
		files := []string{p}
		if fi.IsDir() {
			files, err = configFilesIn(p)
			if err != nil {
				return err
			}
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("config %q: %w", f, err)
			}
			if err := ParseConfig(base, f, src); err != nil {
				return err
			}
		}
	}
	return nil
}

func configFilesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config dir %q: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".hcl" && ext != ".json") {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// ParseConfig applies one config file's content onto c. A name ending in
// .json is read as HCL's JSON syntax.
func ParseConfig(c *Config, filename string, src []byte) error {
	var (
		f     *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(filename, ".json") {
		f, diags = hcljson.Parse(src, filename)
	} else {
		f, diags = hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	if diags.HasErrors() {
		return diagError(diags)
	}
	var fc fileConfig
	if diags := gohcl.DecodeBody(f.Body, nil, &fc); diags.HasErrors() {
		return diagError(diags)
	}
	return fc.apply(c)
}

func (fc *fileConfig) apply(c *Config) error {
	if err := fc.applyCompat(); err != nil {
		return err
	}
	setStr(&c.Name, fc.Name)
	setStr(&c.Region, fc.Region)
	setStr(&c.Datacenter, fc.Datacenter)
	setStr(&c.DataDir, fc.DataDir)
	setStr(&c.BindAddr, fc.BindAddr)
	setStr(&c.LogLevel, fc.LogLevel)
	setBool(&c.EnableDebug, fc.EnableDebug)
	if p := fc.Ports; p != nil {
		setInt(&c.Ports.HTTP, p.HTTP)
		setInt(&c.Ports.RPC, p.RPC)
		setInt(&c.Ports.Serf, p.Serf)
	}
	fc.Addresses.apply(&c.Addresses)
	fc.Advertise.apply(&c.Advertise)
	if s := fc.Server; s != nil {
		setBool(&c.Server.Enabled, s.Enabled)
		setInt(&c.Server.BootstrapExpect, s.BootstrapExpect)
		setInt(&c.Server.NumSchedulers, s.NumSchedulers)
		if err := setDuration(&c.Server.HeartbeatGrace, s.HeartbeatGrace); err != nil {
			return err
		}
		if err := setDuration(&c.Server.MinHeartbeatTTL, s.MinHeartbeatTTL); err != nil {
			return err
		}
		if err := s.applyCluster(c); err != nil {
			return err
		}
		if err := s.applyGC(c); err != nil {
			return err
		}
	}
	if ap := fc.Autopilot; ap != nil {
		setBool(&c.Server.CleanupDeadServers, ap.CleanupDeadServers)
	}
	if err := fc.ACL.apply(c); err != nil {
		return err
	}
	if cl := fc.Client; cl != nil {
		setBool(&c.Client.Enabled, cl.Enabled)
		if cl.Servers != nil {
			c.Client.Servers = cl.Servers
		}
		if j := cl.ServerJoin; j != nil {
			c.Client.Servers = append(c.Client.Servers, j.RetryJoin...)
			c.Client.Servers = append(c.Client.Servers, j.StartJoin...)
		}
		setStr(&c.Client.NodeClass, cl.NodeClass)
		setStr(&c.Client.NodePool, cl.NodePool)
		setStr(&c.Client.IntroToken, cl.IntroToken)
		setStr(&c.Client.CNIPath, cl.CNIPath)
		setStr(&c.Client.CNIConfigDir, cl.CNIConfigDir)
		setStr(&c.Client.BridgeNetworkName, cl.BridgeNetworkName)
		setStr(&c.Client.BridgeNetworkSubnet, cl.BridgeNetworkSubnet)
		setBool(&c.Client.BridgeNetworkMasquerade, cl.BridgeNetworkMasquerade)
		setInt(&c.Client.BridgeNetworkPoolSize, cl.BridgeNetworkPoolSize)
		setStr(&c.Client.DNSAddress, cl.DNSAddress)
		if cl.Meta != nil {
			meta, err := decodeMeta(cl.Meta.Body)
			if err != nil {
				return err
			}
			if c.Client.Meta == nil {
				c.Client.Meta = map[string]string{}
			}
			for k, v := range meta {
				c.Client.Meta[k] = v
			}
		}
		if r := cl.Reserved; r != nil {
			setInt(&c.Client.ReservedCPU, r.CPU)
			setInt(&c.Client.ReservedMemoryMB, r.Memory)
		}
		if err := cl.applyGC(c); err != nil {
			return err
		}
		if err := cl.applyHostVolumes(c); err != nil {
			return err
		}
		if err := cl.applyHostNetworks(c); err != nil {
			return err
		}
		if err := cl.applyArtifact(c); err != nil {
			return err
		}
		if err := cl.applyLogsRetention(c); err != nil {
			return err
		}
		if err := cl.applyLogShip(c); err != nil {
			return err
		}
		if err := cl.applyIngress(c); err != nil {
			return err
		}
	}
	if err := fc.Limits.apply(c); err != nil {
		return err
	}
	for _, p := range fc.Plugins {
		if err := applyPlugin(c, p); err != nil {
			return err
		}
	}
	return fc.TLS.apply(c)
}

func (a *fileAddrs) apply(to *Addresses) {
	if a == nil {
		return
	}
	setStr(&to.HTTP, a.HTTP)
	setStr(&to.RPC, a.RPC)
	setStr(&to.Serf, a.Serf)
}

func applyPlugin(c *Config, p *filePlugin) error {
	if diags := gohcl.DecodeBody(p.Remain, nil, &struct{}{}); diags.HasErrors() {
		return diagError(diags)
	}
	switch p.Name {
	case "raw_exec":
		if p.Config == nil {
			return nil
		}
		var rc rawExecPluginConfig
		if diags := gohcl.DecodeBody(p.Config.Body, nil, &rc); diags.HasErrors() {
			return diagError(diags)
		}
		setBool(&c.RawExec.Enabled, rc.Enabled)
		return nil
	default:
		if _, ok := lookupPlugin(p.Name); !ok {
			return fmt.Errorf("%s: %s", loc(p.Remain.MissingItemRange()), unsupportedPlugin(p.Name))
		}
		if c.PluginConfigs == nil {
			c.PluginConfigs = map[string]hcl.Body{}
		}
		if p.Config != nil {
			c.PluginConfigs[p.Name] = p.Config.Body
		}
		return nil
	}
}

// decodeMeta reads a meta block's attributes as strings.
func decodeMeta(body hcl.Body) (map[string]string, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	out := make(map[string]string, len(attrs))
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		s, err := ctyString(v)
		if err != nil {
			return nil, fmt.Errorf("%s: client.meta.%s: %v", loc(a.Expr.Range()), name, err)
		}
		out[name] = s
	}
	return out, nil
}

func ctyString(v cty.Value) (string, error) {
	if v.IsNull() || !v.IsKnown() {
		return "", fmt.Errorf("value is null or unknown")
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("must be a string, number or bool, not %s", v.Type().FriendlyName())
}

// setDuration evaluates a duration attribute such as "10s", reporting its location on error.
func setDuration(to *time.Duration, expr hcl.Expression) error {
	if expr == nil {
		return nil
	}
	// An absent optional attribute decodes as a null-valued synthetic expression.
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return diagError(diags)
	}
	if v.IsNull() {
		return nil
	}
	s, err := ctyString(v)
	if err != nil {
		return fmt.Errorf("%s: %v", loc(expr.Range()), err)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%s: %q is not a duration (write e.g. \"10s\" or \"1m\")", loc(expr.Range()), s)
	}
	if d < 0 {
		return fmt.Errorf("%s: duration %q must not be negative", loc(expr.Range()), s)
	}
	*to = d
	return nil
}

// diagError renders HCL diagnostics as one error, each with file:line:col.
func diagError(diags hcl.Diagnostics) error {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "; " + d.Detail
		}
		if d.Subject != nil {
			msg = loc(*d.Subject) + ": " + msg
		}
		parts = append(parts, msg)
	}
	return fmt.Errorf("%s", strings.Join(parts, "\n"))
}

func setStr(to *string, v *string) {
	if v != nil {
		*to = *v
	}
}

func setInt(to *int, v *int) {
	if v != nil {
		*to = *v
	}
}

func setBool(to *bool, v *bool) {
	if v != nil {
		*to = *v
	}
}

// loc renders a source range's start as file:line:col.
func loc(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
