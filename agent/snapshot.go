package agent

import (
	"io"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// SnapshotInfo describes a snapshot archive (`operator snapshot inspect`).
type SnapshotInfo = server.SnapshotInfo

// InspectSnapshot reads a snapshot archive written by `operator snapshot
// save` (or an automatic snapshot), verifies its checksums and counts its
// objects. The CLI calls it on a local file; no agent is involved.
func InspectSnapshot(r io.Reader) (*SnapshotInfo, error) { return server.InspectSnapshot(r) }
