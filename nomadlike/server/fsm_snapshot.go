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

// snapshotRecord numbers the kinds of records in an FSM snapshot. Like
// message types they are part of the on-disk format: append only.
type snapshotRecord uint8

const (
	recordJob        snapshotRecord = 0
	recordJobVersion snapshotRecord = 1
	recordJobSummary snapshotRecord = 2
	recordNode       snapshotRecord = 3
	recordAlloc      snapshotRecord = 4
	recordEval       snapshotRecord = 5
	recordIndex      snapshotRecord = 6
	// recordEnd closes a snapshot, so truncation is detected.
	recordEnd snapshotRecord = 255
)

// indexRecord is one table's modify index in a snapshot.
type indexRecord struct {
	Table string
	Index uint64
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

// writeSnapshot writes every table of snap to w.
func writeSnapshot(snap *state.Snapshot, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := codec.NewEncoder(bw, msgpackHandle)
	put := func(kind snapshotRecord, obj any) error {
		if err := enc.Encode(kind); err != nil {
			return err
		}
		return enc.Encode(obj)
	}
	jobs, err := snap.Jobs(nil, "*")
	if err != nil {
		return fmt.Errorf("snapshot jobs: %w", err)
	}
	for _, j := range jobs {
		if err := put(recordJob, j); err != nil {
			return fmt.Errorf("write job %q: %w", j.ID, err)
		}
	}
	versions, err := snap.JobVersions(nil)
	if err != nil {
		return fmt.Errorf("snapshot job versions: %w", err)
	}
	for _, j := range versions {
		if err := put(recordJobVersion, j); err != nil {
			return fmt.Errorf("write job %q version %d: %w", j.ID, j.Version, err)
		}
	}
	summaries, err := snap.JobSummaries(nil)
	if err != nil {
		return fmt.Errorf("snapshot job summaries: %w", err)
	}
	for _, s := range summaries {
		if err := put(recordJobSummary, s); err != nil {
			return fmt.Errorf("write summary of job %q: %w", s.JobID, err)
		}
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return fmt.Errorf("snapshot nodes: %w", err)
	}
	for _, n := range nodes {
		if err := put(recordNode, n); err != nil {
			return fmt.Errorf("write node %s: %w", n.ID, err)
		}
	}
	allocs, err := snap.Allocs(nil, "*")
	if err != nil {
		return fmt.Errorf("snapshot allocs: %w", err)
	}
	for _, a := range allocs {
		if err := put(recordAlloc, a); err != nil {
			return fmt.Errorf("write alloc %s: %w", a.ID, err)
		}
	}
	evals, err := snap.Evals(nil, "*")
	if err != nil {
		return fmt.Errorf("snapshot evals: %w", err)
	}
	for _, e := range evals {
		if err := put(recordEval, e); err != nil {
			return fmt.Errorf("write eval %s: %w", e.ID, err)
		}
	}
	if err := writeSchedulerConfigRecord(snap, put); err != nil {
		return err
	}
	if err := writePeriodicLaunchRecords(snap, put); err != nil {
		return err
	}
	if err := writeDeploymentRecords(snap, put); err != nil {
		return err
	}
	if err := writeServiceRegistrationRecords(snap, put); err != nil {
		return err
	}
	indexes, err := snap.Indexes()
	if err != nil {
		return fmt.Errorf("snapshot indexes: %w", err)
	}
	for table, idx := range indexes {
		if err := put(recordIndex, indexRecord{Table: table, Index: idx}); err != nil {
			return fmt.Errorf("write index of %s: %w", table, err)
		}
	}
	if err := enc.Encode(recordEnd); err != nil {
		return fmt.Errorf("write snapshot end: %w", err)
	}
	return bw.Flush()
}

// restoreState replaces st's contents with the snapshot read from r and
// returns the highest table index restored.
func restoreState(st *state.Store, r io.Reader) (uint64, error) {
	restore, err := st.NewRestore()
	if err != nil {
		return 0, fmt.Errorf("start restore: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			restore.Abort()
		}
	}()
	dec := codec.NewDecoder(bufio.NewReader(r), msgpackHandle)
	var maxIndex uint64
	for {
		var kind snapshotRecord
		if err := dec.Decode(&kind); err != nil {
			return 0, fmt.Errorf("read snapshot record (is the snapshot truncated?): %w", err)
		}
		if kind == recordEnd {
			break
		}
		if err := restoreRecord(restore, dec, kind, &maxIndex); err != nil {
			return 0, fmt.Errorf("restore snapshot (is it truncated or corrupt?): %w", err)
		}
	}
	if err := restore.Commit(); err != nil {
		return 0, fmt.Errorf("commit restore: %w", err)
	}
	committed = true
	return maxIndex, nil
}

func restoreRecord(restore *state.Restore, dec *codec.Decoder, kind snapshotRecord, maxIndex *uint64) error {
	switch kind {
	case recordJob:
		var j structs.Job
		if err := dec.Decode(&j); err != nil {
			return fmt.Errorf("decode job: %w", err)
		}
		return restore.JobRestore(&j)
	case recordJobVersion:
		var j structs.Job
		if err := dec.Decode(&j); err != nil {
			return fmt.Errorf("decode job version: %w", err)
		}
		return restore.JobVersionRestore(&j)
	case recordJobSummary:
		var s structs.JobSummary
		if err := dec.Decode(&s); err != nil {
			return fmt.Errorf("decode job summary: %w", err)
		}
		return restore.JobSummaryRestore(&s)
	case recordNode:
		var n structs.Node
		if err := dec.Decode(&n); err != nil {
			return fmt.Errorf("decode node: %w", err)
		}
		return restore.NodeRestore(&n)
	case recordAlloc:
		var a structs.Allocation
		if err := dec.Decode(&a); err != nil {
			return fmt.Errorf("decode alloc: %w", err)
		}
		return restore.AllocRestore(&a)
	case recordEval:
		var e structs.Evaluation
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("decode eval: %w", err)
		}
		return restore.EvalRestore(&e)
	case recordSchedulerConfig:
		return restoreSchedulerConfigRecord(restore, dec)
	case recordPeriodicLaunch:
		return restorePeriodicLaunchRecord(restore, dec)
	case recordDeployment:
		return restoreDeploymentRecord(restore, dec)
	case recordServiceRegistration:
		return restoreServiceRegistrationRecord(restore, dec)
	case recordIndex:
		var ir indexRecord
		if err := dec.Decode(&ir); err != nil {
			return fmt.Errorf("decode table index: %w", err)
		}
		if ir.Index > *maxIndex {
			*maxIndex = ir.Index
		}
		return restore.IndexRestore(ir.Table, ir.Index)
	default:
		return fmt.Errorf("snapshot has unknown record kind %d: it was written by a newer server; upgrade this one", kind)
	}
}
