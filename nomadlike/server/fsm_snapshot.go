package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// snapshotFormat is the format of the snapshots this server writes. Format
// 0 (before snapshots had a header) is the same sequence of records without
// recordHeader; format 1 wrote every allocation with its job (recordAlloc),
// format 2 writes each job allocations share once (recordAllocJob) and the
// allocations without it (recordAllocRef). Older formats are still read; a
// snapshot of a newer format is refused.
const snapshotFormat = 2

// snapshotHeader is the first record of a snapshot of format 1 or later.
type snapshotHeader struct {
	Format int
}

// fsmSnapshot streams a state snapshot as a sequence of
// (record kind, msgpack object) pairs.
type fsmSnapshot struct {
	snap *state.Snapshot
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(s.snap, sink); err != nil {
		if cerr := sink.Cancel(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// writeSnapshot writes every table of snap to w: a header, then each
// table's rows as (record kind, msgpack object) pairs, then recordEnd.
func writeSnapshot(snap *state.Snapshot, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := codec.NewEncoder(bw, msgpackHandle)
	put := func(kind snapshotRecord, obj any) error {
		if err := enc.Encode(kind); err != nil {
			return err
		}
		return enc.Encode(obj)
	}
	if err := put(recordHeader, snapshotHeader{Format: snapshotFormat}); err != nil {
		return fmt.Errorf("write snapshot header: %w", err)
	}
	for _, t := range snapshotTables {
		write := func(row any) error { return put(t.kind, snapshotRow(t.table, row)) }
		if t.kind == recordAlloc {
			write = allocWriter(put)
		}
		err := snap.Rows(t.table, write)
		if err != nil {
			return fmt.Errorf("snapshot table %q: %w", t.table, err)
		}
	}
	if err := enc.Encode(recordEnd); err != nil {
		return fmt.Errorf("write snapshot end: %w", err)
	}
	return bw.Flush()
}

// allocWriter returns the row writer of the allocs table: each distinct
// job (by pointer: the store shares one per job version) is written once
// as a recordAllocJob, and each allocation as a recordAllocRef naming it.
func allocWriter(put func(snapshotRecord, any) error) func(row any) error {
	refs := map[*structs.Job]int{}
	return func(row any) error {
		a, ok := row.(*structs.Allocation)
		if !ok || a.Job == nil || a.Job.ID == "" {
			// Without a job (or with one that has no ID, which
			// readSnapshot refuses as a recordAllocJob) the
			// allocation is written whole.
			return put(recordAlloc, row)
		}
		ref, ok := refs[a.Job]
		if !ok {
			ref = len(refs)
			refs[a.Job] = ref
			if err := put(recordAllocJob, a.Job); err != nil {
				return err
			}
		}
		c := *a
		c.Job = nil
		return put(recordAllocRef, allocRef{JobRef: ref, Alloc: &c})
	}
}

// restoreState replaces st's contents with the snapshot read from r and
// returns the highest table index restored. Nothing changes when it fails.
func restoreState(st *state.Store, r io.Reader) (uint64, error) {
	restore, err := st.NewRestore()
	if err != nil {
		return 0, fmt.Errorf("start restore: %w", err)
	}
	defer restore.Abort()
	var maxIndex uint64
	err = readSnapshot(r, func(t snapshotTable, row any) error {
		if e, ok := row.(*state.IndexEntry); ok && e.Value > maxIndex {
			maxIndex = e.Value
		}
		if err := restore.Row(t.table, row); err != nil {
			return fmt.Errorf("restore snapshot (is it truncated or corrupt?): %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := restore.Commit(); err != nil {
		return 0, fmt.Errorf("commit restore: %w", err)
	}
	return maxIndex, nil
}

// readSnapshot decodes a snapshot of any format this server reads and
// calls fn with each row (as the state store holds it) and its table, up
// to recordEnd. It stops at the first error.
func readSnapshot(r io.Reader, fn func(t snapshotTable, row any) error) error {
	tables := make(map[snapshotRecord]snapshotTable, len(snapshotTables))
	for _, t := range snapshotTables {
		tables[t.kind] = t
	}
	dec := codec.NewDecoder(bufio.NewReader(r), msgpackHandle)
	var allocJobs []*structs.Job // recordAllocJob, in order
	for n := 0; ; n++ {
		var kind snapshotRecord
		if err := dec.Decode(&kind); err != nil {
			return fmt.Errorf("read snapshot record (is the snapshot truncated?): %w", err)
		}
		switch kind {
		case recordEnd:
			return nil
		case recordHeader:
			if err := readSnapshotHeader(dec, n); err != nil {
				return err
			}
			continue
		case recordAllocJob:
			job := new(structs.Job)
			if err := dec.Decode(job); err != nil {
				return fmt.Errorf("restore snapshot (is it truncated or corrupt?): decode the job of allocations %d: %w", len(allocJobs), err)
			}
			if job.ID == "" {
				// allocWriter never writes one: allocations would
				// be restored with an empty job.
				return fmt.Errorf("restore snapshot: the job of allocations %d is empty (no ID; is the snapshot corrupt?)", len(allocJobs))
			}
			allocJobs = append(allocJobs, job)
			continue
		case recordAllocRef:
			var ref allocRef
			if err := dec.Decode(&ref); err != nil {
				return fmt.Errorf("restore snapshot (is it truncated or corrupt?): decode an allocation: %w", err)
			}
			if ref.Alloc == nil || ref.JobRef < 0 || ref.JobRef >= len(allocJobs) {
				return fmt.Errorf("restore snapshot: an allocation refers to job %d of %d written before it (is the snapshot corrupt?)", ref.JobRef, len(allocJobs))
			}
			ref.Alloc.Job = allocJobs[ref.JobRef]
			if err := fn(tables[recordAlloc], ref.Alloc); err != nil {
				return err
			}
			continue
		}
		t, ok := tables[kind]
		if !ok {
			return fmt.Errorf("snapshot has unknown record kind %d: it was written by a newer server; upgrade this one", kind)
		}
		row := t.newRow()
		if err := dec.Decode(row); err != nil {
			return fmt.Errorf("restore snapshot (is it truncated or corrupt?): decode a row of table %q: %w", t.table, err)
		}
		if err := fn(t, stateRow(row)); err != nil {
			return err
		}
	}
}

// readSnapshotHeader reads the header, record n of the snapshot, and
// refuses a misplaced header or a format newer than this server's.
func readSnapshotHeader(dec *codec.Decoder, n int) error {
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("read snapshot header: %w", err)
	}
	if n != 0 {
		return fmt.Errorf("snapshot header found as record %d, not first: the snapshot is corrupt", n)
	}
	if h.Format > snapshotFormat {
		return fmt.Errorf("snapshot has format %d, newer than this server's %d: it was written by a newer server; upgrade this one", h.Format, snapshotFormat)
	}
	return nil
}
