package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableRequestIDs holds a structs.WriteRecord for every applied write that
// carried a request ID, for structs.WriteOnceWindow after its time: the
// dedup table that makes a retried write apply once.
const (
	tableRequestIDs = "request_ids"
	indexTime       = "time"
)

func requestIDsTableSchema() *memdb.TableSchema {
	return tableSchema(tableRequestIDs,
		stringIndexOf(indexID, true, false, func(r *structs.WriteRecord) string { return r.RequestID }),
		&memdb.IndexSchema{Name: indexTime, Indexer: timeIndexer{}},
	)
}

// timeIndexer indexes WriteRecords by Time in big-endian order, so the
// oldest come first (memdb's int indexers encode varints, whose byte order
// is not the numbers' order).
type timeIndexer struct{}

func (timeIndexer) FromObject(obj any) (bool, []byte, error) {
	r, ok := obj.(*structs.WriteRecord)
	if !ok {
		return false, nil, fmt.Errorf("state: time index: got %T, want *structs.WriteRecord", obj)
	}
	return true, timeKey(r.Time), nil
}

func (timeIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("state: time index takes one argument, got %d", len(args))
	}
	t, ok := args[0].(int64)
	if !ok {
		return nil, fmt.Errorf("state: time index: got %T, want int64", args[0])
	}
	return timeKey(t), nil
}

// timeKey orders int64s: the unsigned big-endian value (the sign bit
// flipped), one nibble per byte. A radix node of the index then has at
// most 16 children, where whole bytes gave the nodes of the fast-moving
// low bytes up to 256: every record inserted copied two of those (4 KB of
// edges each) to change one.
func timeKey(t int64) []byte {
	u := uint64(t) ^ (1 << 63)
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(u>>(60-4*i)) & 0xf
	}
	return b
}

// writeOnce is write for an entry that may carry a request ID (once). With
// an ID it checks the dedup table first, in the same transaction: an ID
// already applied makes the entry a no-op whose Result.Repeat is the first
// apply's record (fn does not run; a different Fingerprint is a 422);
// otherwise fn runs and the record of what it stored is inserted, and
// records older than once.Time - WriteOnceWindow are pruned. Everything
// comes from the entry, so every server dedups the same way.
func (s *Store) writeOnce(index uint64, once structs.WriteOnce, fn func(txn *memdb.Txn) error) (Result, error) {
	if once.RequestID == "" {
		return s.write(index, fn)
	}
	var repeat *structs.WriteRecord
	res, err := s.write(index, func(txn *memdb.Txn) error {
		var err error
		repeat, err = writeOnceTxn(txn, index, once, fn)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	res.Repeat = repeat
	return res, nil
}

// writeOnceTxn is writeOnce's check, fn and record in txn, for a request
// with an ID.
func writeOnceTxn(txn *memdb.Txn, index uint64, once structs.WriteOnce, fn func(txn *memdb.Txn) error) (*structs.WriteRecord, error) {
	prev, err := writeRecordTxn(txn, once.RequestID)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		if prev.Fingerprint != once.Fingerprint {
			return nil, structs.ReusedRequestIDError(prev)
		}
		return prev, nil
	}
	if err := fn(txn); err != nil {
		return nil, err
	}
	return nil, recordWriteTxn(txn, recordOf(index, once, txn.Changes()))
}

// recordWriteTxn inserts the record of an applied request ID and prunes
// the records older than its time less WriteOnceWindow.
func recordWriteTxn(txn *memdb.Txn, rec *structs.WriteRecord) error {
	if err := txn.Insert(tableRequestIDs, rec); err != nil {
		return fmt.Errorf("state: record request ID %q: %w", rec.RequestID, err)
	}
	return pruneWriteRecordsTxn(txn, rec.Time-structs.WriteOnceWindow)
}

// recordOf is the record of a write applied at index: the first job and
// the first evaluation the transaction stored.
func recordOf(index uint64, once structs.WriteOnce, changes memdb.Changes) *structs.WriteRecord {
	rec := &structs.WriteRecord{RequestID: once.RequestID, Fingerprint: once.Fingerprint, Index: index, Time: once.Time}
	for _, c := range changes {
		switch after := c.After.(type) {
		case *structs.Job:
			if c.Table == tableJobs && rec.JobID == "" {
				rec.Namespace, rec.JobID, rec.JobModifyIndex = after.Namespace, after.ID, after.JobModifyIndex
			}
		case *structs.Evaluation:
			if c.Table == tableEvals && rec.EvalID == "" && c.Before == nil {
				rec.EvalID = after.ID
			}
		}
	}
	return rec
}

// pruneWriteRecordsTxn deletes the records older than horizon, oldest first.
// It reads the oldest record first: a write with nothing to prune (nearly
// every one) stops there, without listing the time index, which in a write
// transaction clones the index's tree (the next insert into it then copies
// its path again) and makes an iterator.
func pruneWriteRecordsTxn(txn *memdb.Txn, horizon int64) error {
	oldest, err := first(txn, nil, tableRequestIDs, indexTime)
	if err != nil {
		return err
	}
	if r, ok := oldest.(*structs.WriteRecord); !ok || r.Time >= horizon {
		return nil
	}
	it, err := get(txn, nil, tableRequestIDs, indexTime)
	if err != nil {
		return err
	}
	var old []*structs.WriteRecord
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*structs.WriteRecord)
		if r.Time >= horizon {
			break
		}
		old = append(old, r)
	}
	for _, r := range old {
		if err := txn.Delete(tableRequestIDs, r); err != nil {
			return fmt.Errorf("state: prune request ID %q: %w", r.RequestID, err)
		}
	}
	return nil
}

// writeRecordTxn looks the record of requestID up without a watch channel
// (seek): every client update with an ID is looked up once after its
// apply, and First's channel on each record stayed as long as the record,
// WriteOnceWindow (~90 MB of the server's heap at a million allocations).
func writeRecordTxn(txn *memdb.Txn, requestID string) (*structs.WriteRecord, error) {
	r, err := seek[*structs.WriteRecord](txn, tableRequestIDs, indexID, requestID)
	if err != nil || r == nil || r.RequestID != requestID {
		return nil, err
	}
	return r, nil
}

// WriteRecord returns the record of the applied write with request ID id,
// or nil when no such write was applied within structs.WriteOnceWindow.
func (s *reader) WriteRecord(id string) (*structs.WriteRecord, error) {
	return writeRecordTxn(s.readTxn(), id)
}
