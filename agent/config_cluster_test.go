package agent

import (
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

const testGossipKey = "Z3NzaXAta2V5LWZvci10ZXN0cy0zMi1ieXRlcyEhISE=" // 32 bytes

func TestParseClusterConfig(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want func(*ServerConfig, *ClientConfig)
	}{
		{
			name: "server_join block, encrypt, raft tuning, snapshots (Nomad's syntax)",
			src: `
server {
  enabled          = true
  bootstrap_expect = 3
  encrypt          = "` + testGossipKey + `"
  server_join {
    retry_join     = ["10.0.0.2", "10.0.0.3:4648"]
    retry_interval = "15s"
    retry_max      = 5
  }
  raft_protocol           = 3
  raft_multiplier         = 2
  raft_snapshot_threshold = 1000
  raft_snapshot_interval  = "30s"
  raft_trailing_logs      = 500
  failover_heartbeat_ttl  = "2m"
  snapshot {
    interval = "1h"
    retain   = 24
    path     = "/var/lib/nomadlike/snapshots"
  }
}
autopilot {
  cleanup_dead_servers      = false
  last_contact_threshold    = "200ms"
  server_stabilization_time = "10s"
}`,
			want: func(s *ServerConfig, _ *ClientConfig) {
				s.Enabled, s.BootstrapExpect, s.Encrypt = true, 3, testGossipKey
				s.RetryJoin, s.RetryInterval, s.RetryMax = []string{"10.0.0.2", "10.0.0.3:4648"}, 15*time.Second, 5
				s.RaftMultiplier, s.RaftSnapshotThreshold, s.RaftSnapshotInterval, s.RaftTrailingLogs = 2, 1000, 30*time.Second, 500
				s.FailoverHeartbeatTTL, s.CleanupDeadServers = 2*time.Minute, false
				s.Snapshot = SnapshotConfig{Interval: time.Hour, Retain: 24, Path: "/var/lib/nomadlike/snapshots"}
			},
		},
		{
			name: "older retry_join and start_join directly in server",
			src:  "server {\n  enabled = true\n  retry_join = [\"a\"]\n  start_join = [\"b:4648\"]\n}",
			want: func(s *ServerConfig, _ *ClientConfig) {
				s.Enabled, s.RetryJoin, s.StartJoin = true, []string{"a"}, []string{"b:4648"}
			},
		},
		{
			name: "client server_join lists servers",
			src:  "client {\n  enabled = true\n  servers = [\"s1:4646\"]\n  server_join {\n    retry_join = [\"s2:4646\", \"s3\"]\n  }\n}",
			want: func(_ *ServerConfig, c *ClientConfig) {
				c.Enabled, c.Servers = true, []string{"s1:4646", "s2:4646", "s3"}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultConfig()
			if err := ParseConfig(got, "agent.hcl", []byte(tc.src)); err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			want := DefaultConfig()
			tc.want(&want.Server, &want.Client)
			if !reflect.DeepEqual(got.Server, want.Server) {
				t.Errorf("server:\ngot  %+v\nwant %+v", got.Server, want.Server)
			}
			if !reflect.DeepEqual(got.Client, want.Client) {
				t.Errorf("client:\ngot  %+v\nwant %+v", got.Client, want.Client)
			}
		})
	}
}

func TestValidateClusterConfig(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ServerConfig)
		wantErr string
	}{
		{"good", func(*ServerConfig) {}, ""},
		{"key not base64", func(s *ServerConfig) { s.Encrypt = "not base64!" }, "not base64"},
		{"key of a wrong size", func(s *ServerConfig) { s.Encrypt = base64.StdEncoding.EncodeToString([]byte("short")) }, "must be 16, 24 or 32"},
		{"cloud auto-join", func(s *ServerConfig) { s.RetryJoin = []string{"provider=aws tag_key=x"} }, "cloud auto-join is not supported"},
		{"URL as a join address", func(s *ServerConfig) { s.RetryJoin = []string{"http://a:4648"} }, "not a URL"},
		{"bad join port", func(s *ServerConfig) { s.StartJoin = []string{"a:99999"} }, "between 1 and 65535"},
		{"snapshot without path", func(s *ServerConfig) { s.Snapshot.Interval = time.Hour }, "path is empty"},
		{"raft multiplier out of range", func(s *ServerConfig) { s.RaftMultiplier = 11 }, "between 1 and 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DataDir = t.TempDir()
			c.Server.Enabled = true
			tc.mutate(&c.Server)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestGossipEncryption: an encrypted pool refuses a server with another
// key, and the keyring can be listed and rotated.
func TestGossipEncryption(t *testing.T) {
	servers := startCluster(t, 1, func(c *Config) { c.Server.Encrypt = testGossipKey })
	leader := waitLeader(t, servers, 1)
	other := startCluster(t, 1, func(c *Config) {
		c.Name = "intruder"
		c.Server.Encrypt = base64.StdEncoding.EncodeToString([]byte("another-key-of-exactly-32-bytes!"))
	})
	ctx := context.Background()
	if _, err := other[0].api(t).Join(ctx, leader.serfAddr); err == nil {
		t.Errorf("a server with another gossip key joined the encrypted pool")
	}
	c := leader.api(t)
	resp, err := c.Keyring(ctx, "list", "")
	if err != nil {
		t.Fatalf("keyring list: %v", err)
	}
	if !reflect.DeepEqual(resp.Keys, map[string]int{testGossipKey: 1}) || resp.NumNodes != 1 {
		t.Errorf("keyring list: got %+v, want the one key on 1 node", resp)
	}
	newKey := base64.StdEncoding.EncodeToString([]byte("rotated-key-of-exactly-32-bytes!"))
	for _, op := range []string{"install", "use"} {
		if _, err := c.Keyring(ctx, op, newKey); err != nil {
			t.Fatalf("keyring %s: %v", op, err)
		}
	}
	if _, err := c.Keyring(ctx, "remove", testGossipKey); err != nil {
		t.Fatalf("keyring remove of the old key: %v", err)
	}
	resp, err = c.Keyring(ctx, "list", "")
	if err != nil || !reflect.DeepEqual(resp.Keys, map[string]int{newKey: 1}) {
		t.Errorf("keyring after rotation: got %+v (%v), want only the new key", resp, err)
	}
	// Without encryption the keyring endpoints say how to enable it.
	plain := startCluster(t, 1, func(c *Config) { c.Name = "plain" })
	_, err = plain[0].api(t).Keyring(ctx, "list", "")
	var apiErr *api.Error
	if err == nil || !strings.Contains(err.Error(), "gossip encryption is not enabled") {
		t.Errorf("keyring list without encryption: got %v (%T), want it to say encryption is off", err, apiErr)
	}
}
