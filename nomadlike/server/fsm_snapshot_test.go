package server

import (
	"bytes"
	"testing"
)

// snapshotRoundTrip snapshots src, restores the snapshot into a new FSM and
// returns that FSM.
func snapshotRoundTrip(t *testing.T, src *fsm) *fsm {
	t.Helper()
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
		t.Fatalf("write snapshot: %v", err)
	}
	dst := newTestFSM(t)
	if err := dst.Restore(nopCloser{&buf}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return dst
}
