package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recordPeriodicLaunch is the snapshot record of a periodic job's last
// launch (append-only numbering, see snapshotRecord; 8 is left to
// deployments).
const recordPeriodicLaunch snapshotRecord = 9

// applyPeriodicLaunch records the last launch of a periodic job.
func (f *fsm) applyPeriodicLaunch(buf []byte, index uint64) error {
	var req structs.PeriodicLaunchRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode periodic launch request: %w", err)
	}
	if err := f.state.UpsertPeriodicLaunch(index, &req.Launch); err != nil {
		return fmt.Errorf("record launch of periodic job %q: %w", req.Launch.ID, err)
	}
	return nil
}

// writePeriodicLaunchRecords writes every launch record to a snapshot.
func writePeriodicLaunchRecords(snap *state.Snapshot, put func(snapshotRecord, any) error) error {
	launches, err := snap.PeriodicLaunches(nil)
	if err != nil {
		return fmt.Errorf("snapshot periodic launches: %w", err)
	}
	for _, l := range launches {
		if err := put(recordPeriodicLaunch, l); err != nil {
			return fmt.Errorf("write periodic launch of job %q: %w", l.ID, err)
		}
	}
	return nil
}

// restorePeriodicLaunchRecord reads one launch record from a snapshot.
func restorePeriodicLaunchRecord(restore *state.Restore, dec *codec.Decoder) error {
	var l structs.PeriodicLaunch
	if err := dec.Decode(&l); err != nil {
		return fmt.Errorf("decode periodic launch: %w", err)
	}
	return restore.PeriodicLaunchRestore(&l)
}
