package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recordServiceRegistration is the snapshot record of one service
// registration (append-only numbering, see snapshotRecord).
const recordServiceRegistration snapshotRecord = 10

// applyServiceRegistrationUpsert stores service registrations.
func (f *fsm) applyServiceRegistrationUpsert(buf []byte, index uint64) error {
	var req structs.ServiceRegistrationUpsertRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode service registration upsert: %w", err)
	}
	if err := f.state.UpsertServiceRegistrations(index, req.Services); err != nil {
		return fmt.Errorf("upsert service registrations: %w", err)
	}
	return nil
}

// applyServiceRegistrationDelete removes service registrations.
func (f *fsm) applyServiceRegistrationDelete(buf []byte, index uint64) error {
	var req structs.ServiceRegistrationDeleteRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode service registration delete: %w", err)
	}
	if err := f.state.DeleteServiceRegistrations(index, &req); err != nil {
		return fmt.Errorf("delete service registrations: %w", err)
	}
	return nil
}

// writeServiceRegistrationRecords writes every service registration of snap.
func writeServiceRegistrationRecords(snap *state.Snapshot, put func(snapshotRecord, any) error) error {
	regs, err := snap.ServiceRegistrations(nil, "*")
	if err != nil {
		return fmt.Errorf("snapshot service registrations: %w", err)
	}
	for _, r := range regs {
		if err := put(recordServiceRegistration, r); err != nil {
			return fmt.Errorf("write service registration %s: %w", r.ID, err)
		}
	}
	return nil
}

// restoreServiceRegistrationRecord reads one service registration from a snapshot.
func restoreServiceRegistrationRecord(restore *state.Restore, dec *codec.Decoder) error {
	var r structs.ServiceRegistration
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("decode service registration: %w", err)
	}
	return restore.ServiceRegistrationRestore(&r)
}
