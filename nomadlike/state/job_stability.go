package state

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateJobStability marks version `version` of a job stable or not, in the
// versions table and, when it is the current version, in the jobs table. It
// returns a 404 CodedError when the job or the version does not exist.
// Marking a version does not change the job's JobModifyIndex: the spec is
// the same.
func (s *Store) UpdateJobStability(index uint64, namespace, jobID string, version uint64, stable bool) error {
	namespace = objectNamespace(namespace)
	txn := s.writeTxn()
	defer txn.Abort()
	raw, err := first(txn, nil, tableJobVersion, indexID, namespace, jobID, version)
	if err != nil {
		return err
	}
	v, _ := raw.(*structs.Job)
	if v == nil {
		return structs.NewNotFound("job %q in namespace %q has no version %d", jobID, namespace, version)
	}
	if v.Stable != stable {
		n := v.Copy()
		n.Stable = stable
		if err := txn.Insert(tableJobVersion, n); err != nil {
			return fmt.Errorf("state: mark version %d of job %q stable=%t: %w", version, jobID, stable, err)
		}
		if err := setIndex(txn, tableJobVersion, index); err != nil {
			return err
		}
	}
	cur, err := jobByIDTxn(txn, nil, namespace, jobID)
	if err != nil {
		return err
	}
	if cur != nil && cur.Version == version && cur.Stable != stable {
		n := cur.Copy()
		n.Stable = stable
		n.ModifyIndex = index
		if err := txn.Insert(tableJobs, n); err != nil {
			return fmt.Errorf("state: mark job %q stable=%t: %w", jobID, stable, err)
		}
		if err := setIndex(txn, tableJobs, index); err != nil {
			return err
		}
	}
	txn.Commit()
	return nil
}
