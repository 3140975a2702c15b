package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recordSchedulerConfig is the snapshot record of the scheduler
// configuration (append-only numbering, see snapshotRecord).
const recordSchedulerConfig snapshotRecord = 7

// applySchedulerConfig stores the operator's scheduler configuration. A
// CAS entry whose index no longer matches changes nothing (the endpoint
// reports Updated false).
func (f *fsm) applySchedulerConfig(buf []byte, index uint64) error {
	var req structs.SchedulerSetConfigRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode scheduler config request: %w", err)
	}
	if _, err := f.state.SetSchedulerConfig(index, &req.Config, req.CAS, req.Index); err != nil {
		return fmt.Errorf("set scheduler config: %w", err)
	}
	return nil
}

// writeSchedulerConfigRecord writes the configuration to a snapshot, if
// one was set.
func writeSchedulerConfigRecord(snap *state.Snapshot, put func(snapshotRecord, any) error) error {
	c, err := snap.SchedulerConfig()
	if err != nil {
		return fmt.Errorf("snapshot scheduler config: %w", err)
	}
	if c == nil {
		return nil
	}
	if err := put(recordSchedulerConfig, c); err != nil {
		return fmt.Errorf("write scheduler config: %w", err)
	}
	return nil
}

// restoreSchedulerConfigRecord reads the configuration from a snapshot.
func restoreSchedulerConfigRecord(restore *state.Restore, dec *codec.Decoder) error {
	var c structs.SchedulerConfig
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("decode scheduler config: %w", err)
	}
	return restore.SchedulerConfigRestore(&c)
}
