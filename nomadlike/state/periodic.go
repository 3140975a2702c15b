package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tablePeriodicLaunch holds the last launch of each periodic job.
const tablePeriodicLaunch = "periodic_launch"

// periodicLaunchTableSchema indexes launches by {Namespace, ID}.
func periodicLaunchTableSchema() *memdb.TableSchema {
	return tableSchema(tablePeriodicLaunch, namespaceIDIndex(indexID, "ID", true, false))
}

// indexPeriodic indexes only the jobs that have a periodic block (enabled
// or not, stopped or not), by {Namespace, ID}: the leader's periodic
// dispatcher reads and watches them alone, so registering ordinary jobs
// neither wakes it nor makes it scan every job.
const indexPeriodic = "periodic"

func periodicJobsIndex() *memdb.IndexSchema {
	return subsetIndex(indexPeriodic, func(raw any) (string, bool) {
		j, ok := raw.(*structs.Job)
		if !ok || j.Periodic == nil {
			return "", false
		}
		return j.Namespace + "\x00" + j.ID, true
	})
}

// PeriodicJobs returns every job with a periodic block, in all namespaces,
// sorted by ID then namespace; ws wakes only when one of them changes (or
// a job gains or loses its periodic block).
func (s *reader) PeriodicJobs(ws memdb.WatchSet) ([]*structs.Job, error) {
	it, err := get(s.readTxn(), ws, tableJobs, indexPeriodic)
	if err != nil {
		return nil, err
	}
	jobs := collect(it, func(*structs.Job) bool { return true })
	sortJobs(jobs)
	return jobs, nil
}

// PeriodicLaunch applies a PeriodicLaunchRequestType entry: it records the
// last launch of a periodic job, keeping the CreateIndex of an earlier record.
func (s *Store) PeriodicLaunch(index uint64, req *structs.PeriodicLaunchRequest) (Result, error) {
	if req == nil || req.Launch.ID == "" {
		return Result{}, structs.NewBadRequest("state: upsert periodic launch at index %d: launch has no job ID", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		l := req.Launch
		l.Namespace = objectNamespace(l.Namespace)
		existing, err := periodicLaunchTxn(txn, nil, l.Namespace, l.ID)
		if err != nil {
			return err
		}
		l.CreateIndex = index
		if existing != nil {
			l.CreateIndex = existing.CreateIndex
		}
		l.ModifyIndex = index
		if err := txn.Insert(tablePeriodicLaunch, &l); err != nil {
			return fmt.Errorf("state: insert periodic launch of job %q: %w", l.ID, err)
		}
		return setIndex(txn, tablePeriodicLaunch, index)
	})
}

// deletePeriodicLaunchTxn removes a job's launch record, if any (on purge).
func deletePeriodicLaunchTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	existing, err := periodicLaunchTxn(txn, nil, objectNamespace(namespace), jobID)
	if err != nil || existing == nil {
		return err
	}
	if err := txn.Delete(tablePeriodicLaunch, existing); err != nil {
		return fmt.Errorf("state: delete periodic launch of job %q: %w", jobID, err)
	}
	return setIndex(txn, tablePeriodicLaunch, index)
}

func periodicLaunchTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string) (*structs.PeriodicLaunch, error) {
	raw, err := first(txn, ws, tablePeriodicLaunch, indexID, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	l, _ := raw.(*structs.PeriodicLaunch)
	return l, nil
}

// PeriodicLaunchByID returns the last launch of a periodic job, or nil.
func (s *reader) PeriodicLaunchByID(ws memdb.WatchSet, namespace, jobID string) (*structs.PeriodicLaunch, error) {
	return periodicLaunchTxn(s.readTxn(), ws, namespace, jobID)
}

// PeriodicLaunches returns every launch record (for snapshots), ordered by
// namespace and job ID.
func (s *reader) PeriodicLaunches(ws memdb.WatchSet) ([]*structs.PeriodicLaunch, error) {
	it, err := get(s.readTxn(), ws, tablePeriodicLaunch, indexID)
	if err != nil {
		return nil, err
	}
	return collect[*structs.PeriodicLaunch](it, nil), nil
}

// ChildJobs returns the children of a periodic or parameterized job (the
// jobs whose ParentID is parentID), sorted by ID.
func (s *reader) ChildJobs(ws memdb.WatchSet, namespace, parentID string) ([]*structs.Job, error) {
	return childJobsTxn(s.readTxn(), ws, objectNamespace(namespace), parentID)
}

// childJobsTxn finds children by their ID prefix "<parent>/".
func childJobsTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, parentID string) ([]*structs.Job, error) {
	prefix := parentID + "/"
	it, err := get(txn, ws, tableJobs, indexIDPrefix, namespace, prefix)
	if err != nil {
		return nil, err
	}
	jobs := collect(it, func(j *structs.Job) bool { return strings.HasPrefix(j.ID, prefix) && j.ParentID == parentID })
	sortJobs(jobs)
	return jobs, nil
}

// refreshChildrenTxn recounts the Children of parentID's summary by the
// children's status, storing a new summary only when the counts changed.
// A parent without a summary (purged) is left alone.
func refreshChildrenTxn(txn *memdb.Txn, index uint64, namespace, parentID string) error {
	if parentID == "" {
		return nil
	}
	namespace = objectNamespace(namespace)
	sum, err := jobSummaryTxn(txn, nil, namespace, parentID)
	if err != nil || sum == nil {
		return err
	}
	children, err := childJobsTxn(txn, nil, namespace, parentID)
	if err != nil {
		return err
	}
	var counts structs.JobChildrenSummary
	for _, c := range children {
		switch c.Status {
		case structs.JobStatusRunning:
			counts.Running++
		case structs.JobStatusDead:
			counts.Dead++
		default:
			counts.Pending++
		}
	}
	if sum.Children != nil && *sum.Children == counts {
		return nil
	}
	updated := *sum
	updated.Children = &counts
	updated.ModifyIndex = index
	if err := txn.Insert(tableJobSummary, &updated); err != nil {
		return fmt.Errorf("state: store children of job %q in namespace %q: %w", parentID, namespace, err)
	}
	return setIndex(txn, tableJobSummary, index)
}
