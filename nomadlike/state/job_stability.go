package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobStability applies a JobStabilityRequestType entry: it marks version
// req.JobVersion of a job stable or not, in the versions table and, when it
// is the current version, in the jobs table. It returns a 404 CodedError
// when the job or the version does not exist. Marking a version does not
// change the job's JobModifyIndex: the spec is the same.
func (s *Store) JobStability(index uint64, req *structs.JobStabilityRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: mark job version stable at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		return jobStabilityTxn(txn, index, objectNamespace(req.Namespace), req.JobID, req.JobVersion, req.Stable)
	})
}

func jobStabilityTxn(txn *memdb.Txn, index uint64, namespace, jobID string, version uint64, stable bool) error {
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
	return nil
}
