package state

import (
	"cmp"
	"fmt"
	"maps"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// reconcileSummaryTxn recounts a job's summary from the allocations of the
// job's current incarnation (by ClientStatus) and the QueuedAllocations of
// its latest evaluation, creating the summary if it is missing. It stores a
// new summary (ModifyIndex = index) only when the counts changed. A job that
// does not exist has no summary and is left alone.
func reconcileSummaryTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	job, err := jobByIDTxn(txn, nil, namespace, jobID)
	if err != nil || job == nil {
		return err
	}
	counts := make(map[string]structs.TaskGroupSummary, len(job.TaskGroups))
	for _, tg := range job.TaskGroups {
		counts[tg.Name] = structs.TaskGroupSummary{}
	}
	allocs, err := allocsByJobTxn(txn, nil, job.Namespace, job.ID, job)
	if err != nil {
		return err
	}
	for _, a := range allocs {
		c := counts[a.TaskGroup]
		switch a.ClientStatus {
		case structs.AllocClientStatusPending:
			c.Starting++
		case structs.AllocClientStatusRunning:
			c.Running++
		case structs.AllocClientStatusComplete:
			c.Complete++
		case structs.AllocClientStatusFailed:
			c.Failed++
		case structs.AllocClientStatusLost:
			c.Lost++
		case structs.AllocClientStatusUnknown:
			c.Unknown++
		}
		counts[a.TaskGroup] = c
	}
	latest, err := latestEvalTxn(txn, job)
	if err != nil {
		return err
	}
	if latest != nil {
		for name, c := range counts {
			c.Queued = latest.QueuedAllocations[name]
			counts[name] = c
		}
	}

	existing, err := jobSummaryTxn(txn, nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	summary := &structs.JobSummary{JobID: job.ID, Namespace: job.Namespace, Summary: counts, CreateIndex: index}
	if existing != nil {
		if maps.Equal(existing.Summary, counts) {
			return nil
		}
		summary.CreateIndex = existing.CreateIndex
		summary.Children = existing.Children
	} else if job.IsTemplate() {
		summary.Children = &structs.JobChildrenSummary{}
	}
	summary.ModifyIndex = index
	if err := txn.Insert(tableJobSummary, summary); err != nil {
		return fmt.Errorf("state: store summary of job %q in namespace %q: %w", job.ID, job.Namespace, err)
	}
	return setIndex(txn, tableJobSummary, index)
}

// latestEvalTxn returns the newest evaluation of the job's current
// incarnation (the highest CreateIndex, then ModifyIndex), or nil.
func latestEvalTxn(txn *memdb.Txn, job *structs.Job) (*structs.Evaluation, error) {
	it, err := get(txn, nil, tableEvals, indexJob, job.Namespace, job.ID)
	if err != nil {
		return nil, err
	}
	var latest *structs.Evaluation
	for _, e := range collect[*structs.Evaluation](it, nil) {
		if e.CreateIndex < job.CreateIndex {
			continue
		}
		if latest == nil || cmp.Or(cmp.Compare(e.CreateIndex, latest.CreateIndex), cmp.Compare(e.ModifyIndex, latest.ModifyIndex)) > 0 {
			latest = e
		}
	}
	return latest, nil
}

// deleteJobSummaryTxn removes a job's summary, if any.
func deleteJobSummaryTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	existing, err := jobSummaryTxn(txn, nil, namespace, jobID)
	if err != nil || existing == nil {
		return err
	}
	if err := txn.Delete(tableJobSummary, existing); err != nil {
		return fmt.Errorf("state: delete summary of job %q in namespace %q: %w", jobID, namespace, err)
	}
	return setIndex(txn, tableJobSummary, index)
}

func jobSummaryTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string) (*structs.JobSummary, error) {
	raw, err := first(txn, ws, tableJobSummary, indexID, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	s, _ := raw.(*structs.JobSummary)
	return s, nil
}

// JobSummaryByID returns the job's summary or nil.
func (s *reader) JobSummaryByID(ws memdb.WatchSet, namespace, id string) (*structs.JobSummary, error) {
	return jobSummaryTxn(s.readTxn(), ws, namespace, id)
}

// JobSummaries returns every job summary (for FSM snapshots), ordered by namespace and job ID.
func (s *reader) JobSummaries(ws memdb.WatchSet) ([]*structs.JobSummary, error) {
	it, err := get(s.readTxn(), ws, tableJobSummary, indexID)
	if err != nil {
		return nil, err
	}
	return collect[*structs.JobSummary](it, nil), nil
}
