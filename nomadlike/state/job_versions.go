package state

import (
	"cmp"
	"fmt"
	"slices"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobTrackedVersions is how many versions of a job the store keeps. The
// newest stable version is kept as well when it is older than these.
const JobTrackedVersions = 6

// upsertJobVersionTxn records job (already stored in the jobs table, so
// immutable) as a version and prunes versions beyond JobTrackedVersions.
func upsertJobVersionTxn(txn *memdb.Txn, index uint64, job *structs.Job) error {
	if err := txn.Insert(tableJobVersion, job); err != nil {
		return fmt.Errorf("state: insert version %d of job %q in namespace %q: %w", job.Version, job.ID, job.Namespace, err)
	}
	if err := setIndex(txn, tableJobVersion, index); err != nil {
		return err
	}
	if createdIn(job, index) {
		return nil // its only version
	}
	versions, err := jobVersionsTxn(txn, nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	if len(versions) <= JobTrackedVersions {
		return nil
	}
	var keepStable *structs.Job
	for _, v := range versions[:JobTrackedVersions] {
		if v.Stable {
			keepStable = v
			break
		}
	}
	for _, v := range versions[JobTrackedVersions:] {
		if v.Stable && keepStable == nil {
			keepStable = v
			continue
		}
		if err := txn.Delete(tableJobVersion, v); err != nil {
			return fmt.Errorf("state: prune version %d of job %q in namespace %q: %w", v.Version, v.ID, v.Namespace, err)
		}
	}
	return nil
}

// createdIn reports whether the stored job was created by the transaction
// at index (not a new version of a job that existed). Such a job has no
// other versions or submissions: purging a job deletes them with it
// (deleteJobTxn).
func createdIn(job *structs.Job, index uint64) bool { return job.CreateIndex == index }

// deleteJobVersionsTxn removes every version of a job.
func deleteJobVersionsTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	versions, err := jobVersionsTxn(txn, nil, namespace, jobID)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if err := txn.Delete(tableJobVersion, v); err != nil {
			return fmt.Errorf("state: delete version %d of job %q in namespace %q: %w", v.Version, jobID, namespace, err)
		}
	}
	if len(versions) > 0 {
		return setIndex(txn, tableJobVersion, index)
	}
	return nil
}

// jobVersionsTxn returns the kept versions of one job, newest first.
func jobVersionsTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string) ([]*structs.Job, error) {
	// The prefix {namespace, jobID} also matches jobs whose ID extends jobID; filter them out.
	it, err := get(txn, ws, tableJobVersion, indexIDPrefix, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	versions := collect(it, func(j *structs.Job) bool { return j.ID == jobID })
	slices.SortFunc(versions, func(a, b *structs.Job) int { return cmp.Compare(b.Version, a.Version) })
	return versions, nil
}

// JobVersionsByID returns every kept version of a job, newest first.
func (s *reader) JobVersionsByID(ws memdb.WatchSet, namespace, id string) ([]*structs.Job, error) {
	return jobVersionsTxn(s.readTxn(), ws, namespace, id)
}

// JobByIDAndVersion returns one version of a job or nil.
func (s *reader) JobByIDAndVersion(ws memdb.WatchSet, namespace, id string, version uint64) (*structs.Job, error) {
	raw, err := first(s.readTxn(), ws, tableJobVersion, indexID, objectNamespace(namespace), id, version)
	if err != nil {
		return nil, err
	}
	job, _ := raw.(*structs.Job)
	return job, nil
}

// JobVersions returns every kept version of every job (for FSM snapshots),
// ordered by namespace, job ID and version.
func (s *reader) JobVersions(ws memdb.WatchSet) ([]*structs.Job, error) {
	it, err := get(s.readTxn(), ws, tableJobVersion, indexID)
	if err != nil {
		return nil, err
	}
	versions := collect[*structs.Job](it, nil)
	slices.SortFunc(versions, func(a, b *structs.Job) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version))
	})
	return versions, nil
}
