package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nomadlike/nomadlike/nomadlike/client/network"
)

func TestParseConfigGood(t *testing.T) {
	src := `
name       = "web-1"
region     = "eu"
datacenter = "eu-west-1"
data_dir   = "/var/lib/nomadlike"
bind_addr  = "10.0.0.5"
log_level  = "warn"

ports {
  http = 5646
  rpc  = 5647
}
addresses { http = "0.0.0.0" }
advertise { http = "10.0.0.5:5646" }

server {
  enabled           = true
  bootstrap_expect  = 3
  num_schedulers    = 2
  heartbeat_grace   = "30s"
  min_heartbeat_ttl = "15s"
}

client {
  enabled    = true
  servers    = ["10.0.0.1:4646", "10.0.0.2"]
  node_class = "compute"
  node_pool  = "batch"
  meta {
    rack = "r1"
    gpus = 2
  }
  reserved {
    cpu    = 500
    memory = 256
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}
`
	got := DefaultConfig()
	if err := ParseConfig(got, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := DefaultConfig()
	want.Name, want.Region, want.Datacenter = "web-1", "eu", "eu-west-1"
	want.DataDir, want.BindAddr, want.LogLevel = "/var/lib/nomadlike", "10.0.0.5", "warn"
	want.Ports = Ports{HTTP: 5646, RPC: 5647, Serf: DefaultSerfPort}
	want.Addresses = Addresses{HTTP: "0.0.0.0"}
	want.Advertise = Addresses{HTTP: "10.0.0.5:5646"}
	want.Server = ServerConfig{Enabled: true, BootstrapExpect: 3, NumSchedulers: 2, HeartbeatGrace: 30 * time.Second, MinHeartbeatTTL: 15 * time.Second, CleanupDeadServers: true, GCHeapTarget: DefaultGCHeapTarget}
	want.Client = ClientConfig{Enabled: true, Servers: []string{"10.0.0.1:4646", "10.0.0.2"}, NodeClass: "compute", NodePool: "batch", BridgeNetworkPoolSize: DefaultBridgeNetworkPoolSize,
		Meta: map[string]string{"rack": "r1", "gpus": "2"}, ReservedCPU: 500, ReservedMemoryMB: 256}
	want.RawExec.Enabled = true
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(ServerConfig{})); d != "" {
		t.Errorf("config mismatch (-want +got):\n%s", d)
	}
}

func TestParseConfigErrorsNameLocation(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level key", "name = \"a\"\ncolour = \"blue\"\n", "agent.hcl:2:1"},
		{"unknown key in block", "server {\n  enabled = true\n  bootstrap = 1\n}\n", "agent.hcl:3:3"},
		{"bad duration", "server {\n  heartbeat_grace = \"ten seconds\"\n}\n", "agent.hcl:2:21"},
		{"wrong type", "ports {\n  http = \"high\"\n}\n", "agent.hcl:2:11"},
		{"unsupported plugin", "plugin \"docker\" {\n}\n", "plugin \"docker\" is not supported"},
		{"unknown raw_exec key", "plugin \"raw_exec\" {\n  config {\n    enabld = true\n  }\n}\n", "agent.hcl:3:5"},
		{"syntax error", "server {\n", "agent.hcl:1:"},
		{"unknown ingress key", "client {\n  ingress {\n    enabled = true\n    listen = 1\n  }\n}\n", "agent.hcl:4:5"},
		{"ingress https without certificate", "client {\n  ingress {\n    https_port = 9443\n  }\n}\n", "tls_cert_file"},
		{"ingress bad balance", "client {\n  ingress {\n    balance = \"random\"\n  }\n}\n", "client.ingress.balance"},
		{"ingress unknown tls key", "client {\n  ingress {\n    https_port = 9443\n    tls {\n      prefix = \"x\"\n    }\n  }\n}\n", "agent.hcl:5:7"},
		{"ingress variables outside the prefix", "client {\n  ingress {\n    https_port = 9443\n    tls {\n      variables_prefix = \"secret/certs\"\n    }\n  }\n}\n", "must be \"nomadlike/ingress\" or below"},
		{"ingress acme without variables", "client {\n  ingress {\n    https_port = 9443\n    tls_cert_file = \"a\"\n    tls_key_file = \"b\"\n    acme {\n      enabled = true\n      directory_url = \"https://ca/dir\"\n    }\n  }\n}\n", "acme needs tls { variables_prefix }"},
		{"ingress acme http directory", "client {\n  ingress {\n    https_port = 9443\n    tls {\n      variables_prefix = \"nomadlike/ingress/certs\"\n    }\n    acme {\n      enabled = true\n      directory_url = \"http://ca/dir\"\n    }\n  }\n}\n", "https:// directory URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ParseConfig(DefaultConfig(), "agent.hcl", []byte(tc.src))
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigDirLaterOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.hcl", "region = \"one\"\ndatacenter = \"dc-a\"\n")
	write("b.hcl", "region = \"two\"\n")
	write("c.json", `{"log_level": "error"}`)
	write("ignored.txt", "this is not config")
	cfg := DefaultConfig()
	if err := LoadConfig(cfg, dir); err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	got := []string{cfg.Region, cfg.Datacenter, cfg.LogLevel}
	want := []string{"two", "dc-a", "error"}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(ServerConfig{})); d != "" {
		t.Errorf("region, dc, log level (-want +got):\n%s", d)
	}
}

func TestDevConfigOverriddenByFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dev.hcl")
	src := "data_dir = \"" + filepath.Join(dir, "data") + "\"\nports {\n  http = 0\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DevConfig()
	if err := LoadConfig(cfg, path); err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	tmp, err := cfg.Finalize()
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if tmp {
		t.Errorf("got a temporary data dir, want the configured one kept")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.Ports.HTTP != 0 || cfg.Ports.RPC != DefaultRPCPort {
		t.Errorf("got ports %+v, want http 0 and the default rpc port", cfg.Ports)
	}
	if !cfg.Server.Enabled || !cfg.Client.Enabled || !cfg.RawExec.Enabled || cfg.BindAddr != "127.0.0.1" {
		t.Errorf("got %+v, want dev defaults (server, client, raw_exec, 127.0.0.1) kept", cfg)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		t.Errorf("data dir %q was not created: %v", cfg.DataDir, err)
	}
}

func TestValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   string // "" means valid
	}{
		{"server only", func(c *Config) { c.Server.Enabled = true }, ""},
		{"nothing enabled", func(c *Config) {}, "neither server nor client is enabled"},
		{"client without servers", func(c *Config) { c.Client.Enabled = true }, "client.servers is empty"},
		{"client with servers", func(c *Config) { c.Client.Enabled, c.Client.Servers = true, []string{"10.0.0.1"} }, ""},
		{"bad server url", func(c *Config) {
			c.Client.Enabled, c.Client.Servers = true, []string{"ftp://x"}
		}, "only http:// and https://"},
		{"data dir under a file", func(c *Config) { c.Server.Enabled, c.DataDir = true, filepath.Join(file, "sub") }, "cannot be created"},
		{"no data dir", func(c *Config) { c.Server.Enabled, c.DataDir = true, "" }, "data_dir is not set"},
		{"bad log level", func(c *Config) { c.Server.Enabled, c.LogLevel = true, "loud" }, "log_level \"loud\""},
		{"bad bind", func(c *Config) { c.Server.Enabled, c.BindAddr = true, "localhost" }, "bind_addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = t.TempDir()
			tc.modify(c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tc.want != "" && err == nil:
				t.Errorf("got no error, want one containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestServerURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "http://10.0.0.1:4646"},
		{"10.0.0.1:5000", "http://10.0.0.1:5000"},
		{"https://nomad.example.com/", "https://nomad.example.com"},
		{"[::1]:4646", "http://[::1]:4646"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ServerURL(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ServerURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestConfigNomadKeysAccepted: the keys Nomad configs and Nomad's test
// harnesses set that nomadlike does not implement load when they ask for
// nothing it lacks, in HCL and JSON, and a Vault integration is refused by
// name.
func TestConfigNomadKeysAccepted(t *testing.T) {
	dir := t.TempDir()
	hclFile := filepath.Join(dir, "nomad.hcl")
	if err := os.WriteFile(hclFile, []byte(`
disable_update_check = true
vault {
  enabled = false
  address = "https://vault:8200"
}
consul {
  address        = "127.0.0.1:8500"
  auto_advertise = false
}
telemetry {
  collection_interval = "1s"
  prometheus_metrics  = true
}
client {
  enabled = true
  options = { "driver.raw_exec.enable" = "1" }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(dir, "more.json")
	if err := os.WriteFile(jsonFile, []byte(`{"disable_update_check": true, "telemetry": {"disable_hostname": true}, "region": "r1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := LoadConfig(cfg, hclFile, jsonFile); err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Region != "r1" || !cfg.Client.Enabled {
		t.Errorf("region %q client %t", cfg.Region, cfg.Client.Enabled)
	}
	bad := filepath.Join(dir, "vault.hcl")
	if err := os.WriteFile(bad, []byte("vault {\n  enabled = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadConfig(DefaultConfig(), bad); err == nil || !strings.Contains(err.Error(), "no Vault integration") {
		t.Errorf("vault enabled: %v, want a refusal naming Vault", err)
	}
}

// TestBridgeNetworkMasqueradeOptIn: bridge_network_masquerade is off
// unless set, and reaches the network manager's config.
func TestBridgeNetworkMasqueradeOptIn(t *testing.T) {
	c := DefaultConfig()
	if err := ParseConfig(c, "a.hcl", []byte("client {\n  enabled = true\n}\n")); err != nil {
		t.Fatal(err)
	}
	if c.Client.BridgeNetworkMasquerade {
		t.Fatal("bridge_network_masquerade is on by default")
	}
	if err := ParseConfig(c, "b.hcl", []byte("client {\n  bridge_network_masquerade = true\n}\n")); err != nil {
		t.Fatal(err)
	}
	if !c.Client.BridgeNetworkMasquerade {
		t.Fatal("bridge_network_masquerade = true was not taken")
	}
}

// TestBridgeNetworkPoolSize: bridge_network_pool_size defaults to
// DefaultBridgeNetworkPoolSize, 0 disables the pool, a negative size is
// refused by the network manager with the key's name.
func TestBridgeNetworkPoolSize(t *testing.T) {
	c := DefaultConfig()
	if err := ParseConfig(c, "a.hcl", []byte("client {\n  enabled = true\n}\n")); err != nil {
		t.Fatal(err)
	}
	if c.Client.BridgeNetworkPoolSize != DefaultBridgeNetworkPoolSize {
		t.Fatalf("default pool size %d, want %d", c.Client.BridgeNetworkPoolSize, DefaultBridgeNetworkPoolSize)
	}
	if err := ParseConfig(c, "b.hcl", []byte("client {\n  bridge_network_pool_size = 0\n}\n")); err != nil {
		t.Fatal(err)
	}
	if c.Client.BridgeNetworkPoolSize != 0 {
		t.Fatalf("bridge_network_pool_size = 0 gave %d", c.Client.BridgeNetworkPoolSize)
	}
	_, err := network.New(network.Config{StateDir: t.TempDir(), PoolSize: -1})
	if err == nil || !strings.Contains(err.Error(), "bridge_network_pool_size") {
		t.Fatalf("a negative pool size: %v, want an error naming bridge_network_pool_size", err)
	}
}

// wantParseErrors checks that each src fails ParseConfig (as agent.hcl)
// with an error containing want.
func wantParseErrors(t *testing.T, cases []struct{ src, want string }) {
	t.Helper()
	for _, tc := range cases {
		err := ParseConfig(DefaultConfig(), "agent.hcl", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}
