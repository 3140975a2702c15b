package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertJob stores a job: sets CreateIndex, ModifyIndex, JobModifyIndex and
// Version (0 for a new job, previous+1 when the job spec changed), keeps the
// version in the job versions table, and creates or updates its summary.
//
// The store keeps its own copy of job, so the caller may go on using job; on
// success the server-set fields of job (Namespace when empty, Version,
// Stable, Status, CreateIndex, ModifyIndex, JobModifyIndex) are updated to
// what was stored.
func (s *Store) UpsertJob(index uint64, job *structs.Job) error {
	_, err := s.JobRegister(index, &structs.JobRegisterRequest{Job: job})
	return err
}

// JobRegister applies a JobRegisterRequestType entry: it stores the job as
// UpsertJob does and its evaluation, if any, with the stored job's
// JobModifyIndex. The request's Job and Eval get the stored server-set
// fields. An entry repeating an applied request ID (req.Once) changes
// nothing and returns the first entry's record as Result.Repeat (a retried
// dispatch creates no second child).
func (s *Store) JobRegister(index uint64, req *structs.JobRegisterRequest) (Result, error) {
	return s.jobRegister(index, req, false)
}

// ApplyJobRegister is JobRegister for a request the store may keep: its
// Job and Eval become the stored rows without a copy (the FSM's request,
// decoded from the Raft entry, that nothing else holds). The caller must
// not change req.Job or req.Eval afterwards.
func (s *Store) ApplyJobRegister(index uint64, req *structs.JobRegisterRequest) (Result, error) {
	return s.jobRegister(index, req, true)
}

func (s *Store) jobRegister(index uint64, req *structs.JobRegisterRequest, owned bool) (Result, error) {
	if req == nil || req.Job == nil {
		return Result{}, structs.NewBadRequest("state: register job at index %d: job is nil", index)
	}
	if req.Job.ID == "" {
		return Result{}, structs.NewBadRequest("state: upsert job at index %d: job has no ID", index)
	}
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		return registerJobTxn(txn, index, req, owned)
	})
}

// registerJobTxn stores a JobRegisterRequest's job, submission and
// evaluation in txn, and sets the stored server-set fields on req.Job and
// req.Eval (the transaction runs once, in the FSM's goroutine, so the
// caller's objects are not shared yet). With owned, req.Job and the
// registration's own req.Eval themselves are stored (see ApplyJobRegister).
func registerJobTxn(txn *memdb.Txn, index uint64, req *structs.JobRegisterRequest, owned bool) error {
	job := req.Job
	if !owned {
		job = job.Copy()
	}
	stored, err := storeJobTxn(txn, index, job)
	if err != nil {
		return err
	}
	if err := upsertJobSubmissionTxn(txn, index, stored, req.Submission); err != nil {
		return err
	}
	if job := req.Job; job != stored {
		job.Namespace = stored.Namespace
		job.Version = stored.Version
		job.Stable = stored.Stable
		job.Status = stored.Status
		job.CreateIndex = stored.CreateIndex
		job.ModifyIndex = stored.ModifyIndex
		job.JobModifyIndex = stored.JobModifyIndex
	}
	if req.Eval == nil {
		return nil
	}
	// storeEvalsTxn stores a deep copy of eval, or (owned) req.Eval itself.
	eval := req.Eval
	if !owned {
		c := *req.Eval
		eval = &c
	}
	eval.JobModifyIndex = stored.JobModifyIndex
	var storedEvals []*structs.Evaluation
	if eval.JobID == stored.ID && objectNamespace(eval.Namespace) == stored.Namespace {
		// The registration's own evaluation: its job is the one just
		// stored, so its status and summary are refreshed from it without
		// looking it up again (a touchedJobs would, three times).
		if storedEvals, err = storeEvalsTxn(txn, index, []*structs.Evaluation{eval}, owned, nil); err != nil {
			return err
		}
		if err := refreshRegisteredTxn(txn, index, stored, storedEvals[0]); err != nil {
			return err
		}
	} else if storedEvals, err = upsertEvalsTxn(txn, index, []*structs.Evaluation{eval}); err != nil {
		return err
	}
	req.Eval.JobModifyIndex = stored.JobModifyIndex
	copyEvalIndexes([]*structs.Evaluation{req.Eval}, storedEvals)
	return nil
}

// refreshRegisteredTxn brings the status and summary of job, just stored by
// storeJobTxn in txn, up to date with eval, its evaluation stored after it:
// what upsertEvalsTxn's touchedJobs.refresh does for the eval's job, which
// (with no allocation changed in between) is a new status when the eval
// changed it, and the summary's Queued counts from the job's latest
// evaluation.
func refreshRegisteredTxn(txn *memdb.Txn, index uint64, job *structs.Job, eval *structs.Evaluation) error {
	// jobStatusTxn's rule, knowing what changed since storeJobTxn set
	// job.Status: one evaluation was added (and, for a blocked one, others
	// cancelled); no allocation changed.
	status := job.Status
	var err error
	switch {
	case job.IsTemplate() || job.Type == structs.JobTypeSystem || job.Status == structs.JobStatusRunning:
		// Evaluations do not decide it.
	case !eval.TerminalStatus():
		status = structs.JobStatusPending // no live allocation, a live evaluation
	default:
		if status, err = jobStatusTxn(txn, job, false); err != nil {
			return err
		}
	}
	current, err := storeJobStatusTxn(txn, index, job, status)
	if err != nil {
		return err
	}
	existing, err := jobSummaryTxn(txn, nil, current.Namespace, current.ID)
	if err != nil {
		return err
	}
	counts, ok := applyAllocCounts(current, summaryBase{job: job, summary: existing}, existing, nil)
	if !ok {
		if counts, err = recountSummaryTxn(txn, current); err != nil {
			return err
		}
		return storeSummaryTxn(txn, index, current, existing, counts)
	}
	// The evaluation created in this transaction is the job's latest (no
	// other has its CreateIndex); one that existed before may not be.
	latest := eval
	if eval.CreateIndex != index || eval.CreateIndex < current.CreateIndex {
		if latest, err = latestEvalTxn(txn, current); err != nil {
			return err
		}
	}
	return storeSummaryTxn(txn, index, current, existing, withQueued(counts, latest))
}

// JobDeregister applies a JobDeregisterRequestType entry: it purges the job
// (its versions, summary and periodic launch record go with it; a job that
// does not exist is a 404 CodedError) or stops it (a copy with Stop set and
// the request's SubmitTime, stored as a new version; stopping a stopped or
// missing job changes nothing), and stores the request's evaluation with
// the job's current JobModifyIndex. An entry repeating an applied request
// ID (req.Once) changes nothing.
func (s *Store) JobDeregister(index uint64, req *structs.JobDeregisterRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: deregister job at index %d: request is nil", index)
	}
	namespace := objectNamespace(req.Namespace)
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		cur, err := jobByIDTxn(txn, nil, namespace, req.JobID)
		if err != nil {
			return err
		}
		switch {
		case req.Purge:
			if err := deleteJobTxn(txn, index, namespace, req.JobID); err != nil {
				return err
			}
			if err := deletePeriodicLaunchTxn(txn, index, namespace, req.JobID); err != nil {
				return err
			}
			cur = nil
		case cur != nil && !cur.Stop:
			stopped := cur.Copy()
			stopped.Stop = true
			stopped.SubmitTime = req.SubmitTime
			if cur, err = storeJobTxn(txn, index, stopped); err != nil {
				return err
			}
		}
		if req.NoShutdownDelay {
			if err := skipShutdownDelayTxn(txn, index, namespace, req.JobID); err != nil {
				return err
			}
		}
		if req.Eval == nil {
			return nil
		}
		eval := *req.Eval // upsertEvalsTxn stores a deep copy of it
		if cur != nil {
			eval.JobModifyIndex = cur.JobModifyIndex
		}
		_, err = upsertEvalsTxn(txn, index, []*structs.Evaluation{&eval})
		return err
	})
}

// skipShutdownDelayTxn marks the job's live allocations to be stopped
// without their shutdown_delay (job stop -no-shutdown-delay).
func skipShutdownDelayTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	allocs, err := allocsByJobTxn(txn, nil, namespace, jobID, nil)
	if err != nil {
		return err
	}
	var ids []string
	for _, a := range allocs {
		if !a.ClientTerminalStatus() {
			ids = append(ids, a.ID)
		}
	}
	return updateExistingAllocsTxn(txn, index, ids, nil, func(c *structs.Allocation) {
		yes := true
		c.DesiredTransition.NoShutdownDelay = &yes
	})
}

// upsertJobTxn stores a copy of job in txn and returns the stored copy.
func upsertJobTxn(txn *memdb.Txn, index uint64, job *structs.Job) (*structs.Job, error) {
	return storeJobTxn(txn, index, job.Copy())
}

// storeJobTxn sets the server-owned fields of stored, a job nothing else
// holds, stores it in txn and returns it.
func storeJobTxn(txn *memdb.Txn, index uint64, stored *structs.Job) (*structs.Job, error) {
	stored.Namespace = objectNamespace(stored.Namespace)
	existing, err := jobByIDTxn(txn, nil, stored.Namespace, stored.ID)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		stored.CreateIndex = existing.CreateIndex
		if jobSpecChanged(existing, stored) {
			stored.Version = existing.Version + 1
			stored.Stable = false
			stored.VersionTag = nil
		} else {
			stored.Version = existing.Version
			stored.Stable = existing.Stable
			stored.VersionTag = existing.VersionTag
		}
	} else {
		stored.CreateIndex = index
		stored.Version = 0
		stored.Stable = false
		stored.VersionTag = nil
	}
	stored.ModifyIndex = index
	stored.JobModifyIndex = index
	if stored.Status, err = jobStatusTxn(txn, stored, false); err != nil {
		return nil, err
	}
	if err := txn.Insert(tableJobs, stored); err != nil {
		return nil, fmt.Errorf("state: insert job %q in namespace %q: %w", stored.ID, stored.Namespace, err)
	}
	if err := setIndex(txn, tableJobs, index); err != nil {
		return nil, err
	}
	if err := upsertJobVersionTxn(txn, index, stored); err != nil {
		return nil, err
	}
	if err := reconcileSummaryTxn(txn, index, stored.Namespace, stored.ID); err != nil {
		return nil, err
	}
	if err := refreshChildrenTxn(txn, index, stored.Namespace, stored.ParentID); err != nil {
		return nil, err
	}
	return stored, nil
}

// DeleteJob removes a job, its versions and its summary (purge).
// Deleting a job that does not exist returns a 404 CodedError.
func (s *Store) DeleteJob(index uint64, namespace, jobID string) error {
	_, err := s.write(index, func(txn *memdb.Txn) error {
		return deleteJobTxn(txn, index, objectNamespace(namespace), jobID)
	})
	return err
}

// deleteJobTxn removes a job, its versions and its summary; a job that does
// not exist is a 404 CodedError.
func deleteJobTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	job, err := jobByIDTxn(txn, nil, namespace, jobID)
	if err != nil {
		return err
	}
	if job == nil {
		return structs.NewNotFound("job %q not found in namespace %q", jobID, namespace)
	}
	if err := txn.Delete(tableJobs, job); err != nil {
		return fmt.Errorf("state: delete job %q in namespace %q: %w", jobID, namespace, err)
	}
	if err := setIndex(txn, tableJobs, index); err != nil {
		return err
	}
	if err := deleteJobVersionsTxn(txn, index, namespace, jobID); err != nil {
		return err
	}
	if err := deleteJobSummaryTxn(txn, index, namespace, jobID); err != nil {
		return err
	}
	if err := deleteJobSubmissionsTxn(txn, index, namespace, jobID, func(uint64) bool { return true }); err != nil {
		return err
	}
	if err := deleteScalingEventsTxn(txn, index, namespace, jobID); err != nil {
		return err
	}
	return refreshChildrenTxn(txn, index, namespace, job.ParentID)
}

// jobByIDTxn returns the job or nil.
func jobByIDTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	raw, err := first(txn, ws, tableJobs, indexID, objectNamespace(namespace), id)
	if err != nil {
		return nil, err
	}
	job, _ := raw.(*structs.Job)
	return job, nil
}

// JobByID returns the job or nil. Namespace "" means "default".
func (s *reader) JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	return jobByIDTxn(s.readTxn(), ws, namespace, id)
}

// Jobs returns every job in namespace ("*" or "" for all), sorted by ID.
func (s *reader) Jobs(ws memdb.WatchSet, namespace string) ([]*structs.Job, error) {
	return s.JobsByIDPrefix(ws, namespace, "")
}

// JobsByIDPrefix returns the jobs whose ID starts with prefix, sorted by ID
// (namespace "*" or "" for all namespaces).
func (s *reader) JobsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Job, error) {
	txn := s.readTxn()
	var (
		it  memdb.ResultIterator
		err error
	)
	if allNamespaces(namespace) {
		it, err = get(txn, ws, tableJobs, indexID)
	} else {
		it, err = get(txn, ws, tableJobs, indexIDPrefix, namespace, prefix)
	}
	if err != nil {
		return nil, err
	}
	jobs := collect(it, func(j *structs.Job) bool { return strings.HasPrefix(j.ID, prefix) })
	sortJobs(jobs)
	return jobs, nil
}

// sortJobs orders jobs by ID, then namespace.
func sortJobs(jobs []*structs.Job) {
	slices.SortFunc(jobs, func(a, b *structs.Job) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace, b.Namespace)
	})
}
