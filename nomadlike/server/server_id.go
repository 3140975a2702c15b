package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serverIDFile holds the server's Raft ID under DataDir/server.
const serverIDFile = "node-id"

// loadServerID returns this server's Raft ID: the one persisted in the data
// dir, so renaming the host keeps its Raft identity and two hosts with one
// name do not collide. A data dir from before IDs were persisted (Raft state
// but no ID file) keeps the node name it has been known by. Without a data
// dir (-dev) every start is a new server with a new ID.
func loadServerID(dataDir, nodeName string) (string, error) {
	if dataDir == "" {
		return structs.GenerateUUID(), nil
	}
	path := filepath.Join(dataDir, "server", serverIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if id == "" {
			return "", fmt.Errorf("server ID file %s is empty: write the server's ID into it (see `nomadlike operator raft list-peers` on another server), or remove it only if this data_dir has no Raft state", path)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read server ID: %w", err)
	}
	id := structs.GenerateUUID()
	if legacy, err := hasRaftFiles(filepath.Join(dataDir, "server", "raft")); err != nil {
		return "", err
	} else if legacy {
		id = nodeName // the peers know this server by its name
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write server ID: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write server ID: %w", err)
	}
	return id, nil
}

// hasRaftFiles reports whether dir holds a Raft log or snapshots.
func hasRaftFiles(dir string) (bool, error) {
	for _, sub := range []string{"wal", "snapshots"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("look for existing Raft state: %w", err)
		}
		if len(entries) > 0 {
			return true, nil
		}
	}
	return false, nil
}
