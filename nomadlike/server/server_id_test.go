package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestServerIDSurvivesRename: a durable server restarted under another node
// name keeps its Raft identity (it stays the voter of its cluster and leads
// again with its state), because its Raft ID is persisted in the data dir.
func TestServerIDSurvivesRename(t *testing.T) {
	dir := t.TempDir()
	s1, err := NewServer(withTestDefaults(func(c *Config) { c.DataDir = dir; c.RaftBindAddr = "127.0.0.1:0"; c.NodeName = "host-a" }))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	waitLeader(t, s1)
	registerJob(t, s1, mockJob("web", 1, 100, 64))
	conf, err := s1.RaftConfig()
	if err != nil || len(conf.Servers) != 1 {
		t.Fatalf("RaftConfig = %+v, %v", conf, err)
	}
	id := conf.Servers[0].ID
	if id == "host-a" {
		t.Errorf("Raft ID is the node name %q, want a persisted UUID", id)
	}
	if err := s1.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	s2, err := NewServer(withTestDefaults(func(c *Config) { c.DataDir = dir; c.RaftBindAddr = "127.0.0.1:0"; c.NodeName = "host-b" }))
	if err != nil {
		t.Fatalf("NewServer after the rename: %v", err)
	}
	t.Cleanup(func() { _ = s2.Shutdown() })
	waitLeader(t, s2)
	conf, err = s2.RaftConfig()
	if err != nil || len(conf.Servers) != 1 || conf.Servers[0].ID != id {
		t.Fatalf("after the rename RaftConfig = %+v, %v; want the one server %s", conf, err, id)
	}
	if j, _ := s2.state.JobByID(nil, structs.DefaultNamespace, "web"); j == nil {
		t.Errorf("job missing after the rename")
	}
}

func TestLoadServerID(t *testing.T) {
	t.Run("two hosts with one name get different IDs", func(t *testing.T) {
		a, err := loadServerID(t.TempDir(), "same")
		if err != nil {
			t.Fatal(err)
		}
		b, err := loadServerID(t.TempDir(), "same")
		if err != nil {
			t.Fatal(err)
		}
		if a == b || a == "same" {
			t.Errorf("IDs %q and %q: want two distinct UUIDs", a, b)
		}
	})
	t.Run("persisted", func(t *testing.T) {
		dir := t.TempDir()
		a, _ := loadServerID(dir, "old-name")
		b, err := loadServerID(dir, "new-name")
		if err != nil || a != b {
			t.Errorf("second load = %q, %v; want %q", b, err, a)
		}
	})
	t.Run("a data dir from before persisted IDs keeps its name", func(t *testing.T) {
		dir := t.TempDir()
		wal := filepath.Join(dir, "server", "raft", "wal")
		if err := os.MkdirAll(wal, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wal, "00000000000000000001-0000000000000001.wal"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		id, err := loadServerID(dir, "legacy-host")
		if err != nil || id != "legacy-host" {
			t.Fatalf("loadServerID = %q, %v; want the node name it is known by", id, err)
		}
		if id, _ = loadServerID(dir, "renamed-host"); id != "legacy-host" {
			t.Errorf("after a rename: %q, want legacy-host kept", id)
		}
	})
	t.Run("empty ID file refused", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.MkdirAll(filepath.Join(dir, "server"), 0o700)
		_ = os.WriteFile(filepath.Join(dir, "server", serverIDFile), nil, 0o600)
		if _, err := loadServerID(dir, "x"); err == nil {
			t.Errorf("an empty ID file was accepted")
		}
	})
}
