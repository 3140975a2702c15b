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
	counts, err := recountSummaryTxn(txn, job)
	if err != nil {
		return err
	}
	existing, err := jobSummaryTxn(txn, nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	return storeSummaryTxn(txn, index, job, existing, counts)
}

// recountSummaryTxn counts the allocations of the job's current incarnation
// by task group and ClientStatus (every task group of the job has an entry)
// and sets Queued from the job's latest evaluation.
func recountSummaryTxn(txn *memdb.Txn, job *structs.Job) (map[string]structs.TaskGroupSummary, error) {
	counts := make(map[string]structs.TaskGroupSummary, len(job.TaskGroups))
	for _, tg := range job.TaskGroups {
		counts[tg.Name] = structs.TaskGroupSummary{}
	}
	allocs, err := allocsByJobTxn(txn, nil, job.Namespace, job.ID, job)
	if err != nil {
		return nil, err
	}
	for _, a := range allocs {
		c := counts[a.TaskGroup]
		countClientStatus(&c, a.ClientStatus, 1)
		counts[a.TaskGroup] = c
	}
	return counts, setQueuedTxn(txn, job, counts)
}

// countClientStatus adds n to the count of c that status falls in (none
// for a status the summary does not count).
func countClientStatus(c *structs.TaskGroupSummary, status string, n int) {
	switch status {
	case structs.AllocClientStatusPending:
		c.Starting += n
	case structs.AllocClientStatusRunning:
		c.Running += n
	case structs.AllocClientStatusComplete:
		c.Complete += n
	case structs.AllocClientStatusFailed:
		c.Failed += n
	case structs.AllocClientStatusLost:
		c.Lost += n
	case structs.AllocClientStatusUnknown:
		c.Unknown += n
	}
}

// setQueuedTxn sets the Queued count of every group in counts from the
// job's latest evaluation (zero without one).
func setQueuedTxn(txn *memdb.Txn, job *structs.Job, counts map[string]structs.TaskGroupSummary) error {
	latest, err := latestEvalTxn(txn, job)
	if err != nil {
		return err
	}
	setQueued(counts, latest)
	return nil
}

// setQueued sets the Queued count of every group in counts from latest,
// the job's latest evaluation (zero when nil).
func setQueued(counts map[string]structs.TaskGroupSummary, latest *structs.Evaluation) {
	for name, c := range counts {
		c.Queued = queuedOf(latest, name)
		counts[name] = c
	}
}

// queuedOf is a group's Queued count from latest, the job's latest
// evaluation (zero when nil).
func queuedOf(latest *structs.Evaluation, group string) int {
	if latest == nil {
		return 0
	}
	return latest.QueuedAllocations[group]
}

// withQueued returns counts with the Queued count of every group set from
// latest, as setQueued, without changing counts (which may be a stored
// summary's): counts itself when every count already is, else a copy.
func withQueued(counts map[string]structs.TaskGroupSummary, latest *structs.Evaluation) map[string]structs.TaskGroupSummary {
	var out map[string]structs.TaskGroupSummary
	for name, c := range counts {
		if q := queuedOf(latest, name); c.Queued != q {
			if out == nil {
				out = maps.Clone(counts)
			}
			c.Queued = q
			out[name] = c
		}
	}
	if out == nil {
		return counts
	}
	return out
}

// storeSummaryTxn stores counts as job's summary (existing is the stored
// one, or nil to create it) with ModifyIndex = index, unless they are
// already the stored counts.
func storeSummaryTxn(txn *memdb.Txn, index uint64, job *structs.Job, existing *structs.JobSummary, counts map[string]structs.TaskGroupSummary) error {
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

// summaryBase is what a write saw of a job when it first touched it: the
// stored job and summary. The summary is brought up to date incrementally
// only while both are still the ones the allocation changes apply to.
type summaryBase struct {
	job     *structs.Job
	summary *structs.JobSummary
}

// allocCount is one allocation row's contribution to its job's summary:
// +1 for the row written, -1 for the row it replaced or a deleted row.
type allocCount struct {
	sign        int
	jobCreate   uint64 // the row's Job.CreateIndex
	hasJob      bool
	taskGroup   string
	clientState string
}

func countOf(a *structs.Allocation, sign int) allocCount {
	c := allocCount{sign: sign, taskGroup: a.TaskGroup, clientState: a.ClientStatus}
	if a.Job != nil {
		c.hasJob, c.jobCreate = true, a.Job.CreateIndex
	}
	return c
}

// sameIncarnation reports whether job is still base's job as far as its
// summary goes: the same incarnation and the same task groups, in order.
func sameIncarnation(base, job *structs.Job) bool {
	if base.CreateIndex != job.CreateIndex || len(base.TaskGroups) != len(job.TaskGroups) {
		return false
	}
	for i, tg := range base.TaskGroups {
		if tg.Name != job.TaskGroups[i].Name {
			return false
		}
	}
	return true
}

// updateSummaryTxn brings a job's summary up to date after a write whose
// allocation row changes are deltas, base being what the write saw of the
// job before them. It applies the deltas to the stored counts instead of
// recounting every allocation of the job, and recounts (as
// reconcileSummaryTxn) when it cannot: no stored summary, the job or the
// summary changed since base (the summary was rewritten by another part
// of the transaction), a counted row of a task group the job does not
// have, or a count that would go negative.
func updateSummaryTxn(txn *memdb.Txn, index uint64, namespace, jobID string, base summaryBase, deltas []allocCount) error {
	job, err := jobByIDTxn(txn, nil, namespace, jobID)
	if err != nil || job == nil {
		return err
	}
	existing, err := jobSummaryTxn(txn, nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	counts, ok := applyAllocCounts(job, base, existing, deltas)
	if !ok {
		if counts, err = recountSummaryTxn(txn, job); err != nil {
			return err
		}
	} else {
		latest, err := latestEvalTxn(txn, job)
		if err != nil {
			return err
		}
		counts = withQueued(counts, latest)
	}
	return storeSummaryTxn(txn, index, job, existing, counts)
}

// applyAllocCounts returns existing's counts with deltas applied, or false
// when they cannot be (see updateSummaryTxn). When no delta counts, they
// are existing.Summary itself, which the caller must not change (see
// withQueued); else a copy.
func applyAllocCounts(job *structs.Job, base summaryBase, existing *structs.JobSummary, deltas []allocCount) (map[string]structs.TaskGroupSummary, bool) {
	if existing == nil || base.summary != existing || base.job == nil || !sameIncarnation(base.job, job) {
		return nil, false
	}
	counts := existing.Summary
	copied := false
	for _, d := range deltas {
		if !d.hasJob || d.jobCreate != job.CreateIndex {
			continue // not of the current incarnation: never counted
		}
		if job.LookupTaskGroup(d.taskGroup) == nil {
			return nil, false
		}
		if !copied {
			counts, copied = maps.Clone(existing.Summary), true
			if counts == nil {
				counts = map[string]structs.TaskGroupSummary{}
			}
		}
		c := counts[d.taskGroup]
		countClientStatus(&c, d.clientState, d.sign)
		counts[d.taskGroup] = c
	}
	for _, c := range counts {
		if c.Starting < 0 || c.Running < 0 || c.Complete < 0 || c.Failed < 0 || c.Lost < 0 || c.Unknown < 0 {
			return nil, false
		}
	}
	return counts, true
}

// latestEvalTxn returns the newest evaluation of the job's current
// incarnation (the highest CreateIndex, then ModifyIndex), or nil.
func latestEvalTxn(txn *memdb.Txn, job *structs.Job) (*structs.Evaluation, error) {
	it, err := scan(txn, tableEvals, indexJob, job.Namespace, job.ID)
	if err != nil {
		return nil, err
	}
	// Read in place: a job may have many thousands of evaluations, and
	// collecting them was a slice as large for every write that touched it.
	var latest *structs.Evaluation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e, ok := raw.(*structs.Evaluation)
		if !ok || e.CreateIndex < job.CreateIndex {
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
