package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobStatusTxn computes a job's status with Nomad's rule:
//   - system jobs are running until stopped;
//   - running if any allocation of the job is non-terminal;
//   - otherwise pending if any evaluation of the job is pending or blocked;
//   - otherwise dead if the job is stopped, has any allocation or evaluation
//     (all terminal), or its evaluations were just garbage collected (evalDelete);
//   - otherwise pending (registered, not yet evaluated).
func jobStatusTxn(txn *memdb.Txn, job *structs.Job, evalDelete bool) (string, error) {
	if job.IsTemplate() {
		// Periodic and parameterized jobs are never scheduled themselves:
		// they are running (launching children) until stopped.
		if job.Stop {
			return structs.JobStatusDead, nil
		}
		return structs.JobStatusRunning, nil
	}
	if job.Type == structs.JobTypeSystem {
		if job.Stop {
			return structs.JobStatusDead, nil
		}
		return structs.JobStatusRunning, nil
	}
	allocs, err := scan(txn, tableAllocs, indexJob, job.Namespace, job.ID)
	if err != nil {
		return "", err
	}
	hasAlloc := false
	for raw := allocs.Next(); raw != nil; raw = allocs.Next() {
		hasAlloc = true
		if a, ok := raw.(*structs.Allocation); ok && !a.TerminalStatus() {
			return structs.JobStatusRunning, nil
		}
	}
	evals, err := scan(txn, tableEvals, indexJob, job.Namespace, job.ID)
	if err != nil {
		return "", err
	}
	hasEval := false
	for raw := evals.Next(); raw != nil; raw = evals.Next() {
		hasEval = true
		if e, ok := raw.(*structs.Evaluation); ok && !e.TerminalStatus() {
			return structs.JobStatusPending, nil
		}
	}
	if job.Stop || hasAlloc || hasEval || evalDelete {
		return structs.JobStatusDead, nil
	}
	return structs.JobStatusPending, nil
}

// setJobStatusTxn recomputes the status of a stored job and, when it changed,
// stores a copy with the new Status and ModifyIndex = index. A job that does
// not exist (purged) is left alone.
func setJobStatusTxn(txn *memdb.Txn, index uint64, namespace, jobID string, evalDelete bool) error {
	job, err := jobByIDTxn(txn, nil, namespace, jobID)
	if err != nil || job == nil {
		return err
	}
	_, err = setStatusOfJobTxn(txn, index, job, evalDelete)
	return err
}

// setStatusOfJobTxn is setJobStatusTxn for job, the stored row in txn. It
// returns the row stored after it: job, or its copy with the new status.
func setStatusOfJobTxn(txn *memdb.Txn, index uint64, job *structs.Job, evalDelete bool) (*structs.Job, error) {
	status, err := jobStatusTxn(txn, job, evalDelete)
	if err != nil {
		return nil, err
	}
	return storeJobStatusTxn(txn, index, job, status)
}

// storeJobStatusTxn gives job, the stored row in txn, status: unless it has
// it already, it stores a copy with status and ModifyIndex = index. It
// returns the row stored after it.
func storeJobStatusTxn(txn *memdb.Txn, index uint64, job *structs.Job, status string) (*structs.Job, error) {
	if status == job.Status {
		return job, nil
	}
	updated := job.Copy()
	updated.Status = status
	updated.ModifyIndex = index
	if err := txn.Insert(tableJobs, updated); err != nil {
		return nil, fmt.Errorf("state: update status of job %q in namespace %q to %q: %w", job.ID, job.Namespace, status, err)
	}
	if err := setIndex(txn, tableJobs, index); err != nil {
		return nil, err
	}
	return updated, refreshChildrenTxn(txn, index, job.Namespace, job.ParentID)
}

// jobKey names a job across namespaces.
type jobKey struct{ namespace, id string }

// touchedJobs collects the jobs a write touched, in first-touched order, so
// that their status and summary are recomputed once per transaction, and
// the allocation rows the write changed, so that summaries are updated from
// those changes rather than recounted. A write refreshes its touchedJobs
// before anything else in the transaction writes a summary of its jobs
// (an interleaved write only costs a recount: updateSummaryTxn checks).
type touchedJobs struct {
	jobs  map[jobKey]*touchedJob
	order []jobKey
}

// touchedJob is what a write saw of one job when it first touched it, and
// the summary contributions of the allocation rows it changed since.
type touchedJob struct {
	base   summaryBase
	deltas []allocCount
	// statusKept is set by a write that knows the job's status cannot
	// change (see EvalDelete): refresh does not recompute it.
	statusKept bool
}

// add records that the write touched the job (no-op for an empty ID). The
// first time, it notes the stored job and summary the write started from
// (a lookup error only costs the incremental summary update a recount).
func (t *touchedJobs) add(txn *memdb.Txn, namespace, id string) *touchedJob {
	if id == "" {
		return nil
	}
	k := jobKey{objectNamespace(namespace), id}
	if tj := t.jobs[k]; tj != nil {
		return tj
	}
	if t.jobs == nil {
		t.jobs = map[jobKey]*touchedJob{}
	}
	tj := &touchedJob{}
	if job, err := jobByIDTxn(txn, nil, k.namespace, k.id); err == nil && job != nil {
		if sum, err := jobSummaryTxn(txn, nil, k.namespace, k.id); err == nil {
			tj.base = summaryBase{job: job, summary: sum}
		}
	}
	t.jobs[k] = tj
	t.order = append(t.order, k)
	return tj
}

// allocChanged records that the write replaced the allocation row prev by
// next (prev nil: inserted; next nil: deleted), touching the jobs of both.
// Call it after the row is written but before the summary is.
func (t *touchedJobs) allocChanged(txn *memdb.Txn, prev, next *structs.Allocation) {
	if prev != nil {
		if tj := t.add(txn, prev.Namespace, prev.JobID); tj != nil {
			tj.deltas = append(tj.deltas, countOf(prev, -1))
		}
	}
	if next != nil {
		if tj := t.add(txn, next.Namespace, next.JobID); tj != nil {
			tj.deltas = append(tj.deltas, countOf(next, 1))
		}
	}
}

// refresh recomputes status and, when summaries is true, the summary of every touched job.
func (t *touchedJobs) refresh(txn *memdb.Txn, index uint64, summaries, evalDelete bool) error {
	for _, k := range t.order {
		if !t.jobs[k].statusKept {
			if err := setJobStatusTxn(txn, index, k.namespace, k.id, evalDelete); err != nil {
				return err
			}
		}
		if !summaries {
			continue
		}
		tj := t.jobs[k]
		if err := updateSummaryTxn(txn, index, k.namespace, k.id, tj.base, tj.deltas); err != nil {
			return err
		}
	}
	return nil
}
