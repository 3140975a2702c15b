package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableJobSubmission holds the source of job versions as submitted,
// indexed by {Namespace, JobID, Version}; it lives as long as the version.
const tableJobSubmission = "job_submission"

func jobSubmissionTableSchema() *memdb.TableSchema {
	return tableSchema(tableJobSubmission, &memdb.IndexSchema{
		Name:   indexID,
		Unique: true,
		Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "JobID"},
			&memdb.UintFieldIndex{Field: "Version"},
		}},
	})
}

// upsertJobSubmissionTxn keeps sub as the submission of the stored job
// version, and drops the submissions of versions no longer kept.
func upsertJobSubmissionTxn(txn *memdb.Txn, index uint64, stored *structs.Job, sub *structs.JobSubmission) error {
	if sub != nil {
		n := sub.Copy()
		n.Namespace, n.JobID, n.Version, n.JobModifyIndex = stored.Namespace, stored.ID, stored.Version, stored.JobModifyIndex
		if err := txn.Insert(tableJobSubmission, n); err != nil {
			return fmt.Errorf("state: insert the submission of version %d of job %q: %w", n.Version, n.JobID, err)
		}
		if err := setIndex(txn, tableJobSubmission, index); err != nil {
			return err
		}
	}
	if createdIn(stored, index) {
		return nil // no other version, no other submission
	}
	versions, err := jobVersionsTxn(txn, nil, stored.Namespace, stored.ID)
	if err != nil {
		return err
	}
	kept := make(map[uint64]bool, len(versions))
	for _, v := range versions {
		kept[v.Version] = true
	}
	return deleteJobSubmissionsTxn(txn, index, stored.Namespace, stored.ID, func(v uint64) bool { return !kept[v] })
}

// deleteJobSubmissionsTxn deletes the submissions of a job whose version drop selects.
func deleteJobSubmissionsTxn(txn *memdb.Txn, index uint64, namespace, jobID string, drop func(version uint64) bool) error {
	it, err := get(txn, nil, tableJobSubmission, indexIDPrefix, namespace, jobID)
	if err != nil {
		return err
	}
	var gone []*structs.JobSubmission
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if s := raw.(*structs.JobSubmission); drop(s.Version) {
			gone = append(gone, s)
		}
	}
	for _, s := range gone {
		if err := txn.Delete(tableJobSubmission, s); err != nil {
			return fmt.Errorf("state: delete the submission of version %d of job %q: %w", s.Version, jobID, err)
		}
	}
	if len(gone) > 0 {
		return setIndex(txn, tableJobSubmission, index)
	}
	return nil
}

// JobSubmission returns the submission of a job version, or nil.
func (s *reader) JobSubmission(ws memdb.WatchSet, namespace, jobID string, version uint64) (*structs.JobSubmission, error) {
	raw, err := first(s.readTxn(), ws, tableJobSubmission, indexID, objectNamespace(namespace), jobID, version)
	if err != nil {
		return nil, err
	}
	sub, _ := raw.(*structs.JobSubmission)
	return sub, nil
}
