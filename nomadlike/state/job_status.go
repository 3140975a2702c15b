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
	allocs, err := get(txn, nil, tableAllocs, indexJob, job.Namespace, job.ID)
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
	evals, err := get(txn, nil, tableEvals, indexJob, job.Namespace, job.ID)
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
	status, err := jobStatusTxn(txn, job, evalDelete)
	if err != nil {
		return err
	}
	if status == job.Status {
		return nil
	}
	updated := job.Copy()
	updated.Status = status
	updated.ModifyIndex = index
	if err := txn.Insert(tableJobs, updated); err != nil {
		return fmt.Errorf("state: update status of job %q in namespace %q to %q: %w", jobID, namespace, status, err)
	}
	if err := setIndex(txn, tableJobs, index); err != nil {
		return err
	}
	return refreshChildrenTxn(txn, index, namespace, job.ParentID)
}

// jobKey names a job across namespaces.
type jobKey struct{ namespace, id string }

// touchedJobs collects the jobs a write touched, in first-touched order, so
// that their status and summary are recomputed once per transaction.
type touchedJobs struct {
	seen  map[jobKey]bool
	order []jobKey
}

func (t *touchedJobs) add(namespace, id string) {
	if id == "" {
		return
	}
	k := jobKey{objectNamespace(namespace), id}
	if t.seen == nil {
		t.seen = map[jobKey]bool{}
	}
	if !t.seen[k] {
		t.seen[k] = true
		t.order = append(t.order, k)
	}
}

// refresh recomputes status and, when summaries is true, the summary of every touched job.
func (t *touchedJobs) refresh(txn *memdb.Txn, index uint64, summaries, evalDelete bool) error {
	for _, k := range t.order {
		if err := setJobStatusTxn(txn, index, k.namespace, k.id, evalDelete); err != nil {
			return err
		}
		if !summaries {
			continue
		}
		if err := reconcileSummaryTxn(txn, index, k.namespace, k.id); err != nil {
			return err
		}
	}
	return nil
}
