package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertEvals stores evaluations (sets CreateIndex/ModifyIndex) and updates job status.
//
// An existing evaluation keeps its CreateIndex. When a blocked evaluation is
// stored, older blocked evaluations of the same job are canceled (as Nomad
// does), so that only one blocked evaluation per job waits for capacity. The
// store keeps its own copies; on success the caller's evaluations get the
// stored Namespace, CreateIndex and ModifyIndex. Job summaries are recounted
// because the queued counts come from the latest evaluation.
func (s *Store) UpsertEvals(index uint64, evals []*structs.Evaluation) error {
	_, err := s.EvalUpdate(index, &structs.EvalUpdateRequest{Evals: evals})
	return err
}

// EvalUpdate applies an EvalUpdateRequestType entry: it stores the
// evaluations as UpsertEvals does (the request's evaluations get their
// stored Namespace and indexes).
func (s *Store) EvalUpdate(index uint64, req *structs.EvalUpdateRequest) (Result, error) {
	return s.evalUpdate(index, req, false)
}

// ApplyEvalUpdate is EvalUpdate for a request the store may keep: its
// evaluations become the stored rows without a copy (the FSM's request,
// decoded from the Raft entry, that nothing else holds). The caller must
// not change them afterwards.
func (s *Store) ApplyEvalUpdate(index uint64, req *structs.EvalUpdateRequest) (Result, error) {
	return s.evalUpdate(index, req, true)
}

func (s *Store) evalUpdate(index uint64, req *structs.EvalUpdateRequest, owned bool) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update evaluations at index %d: request is nil", index)
	}
	var stored []*structs.Evaluation
	res, err := s.write(index, func(txn *memdb.Txn) error {
		var err error
		var touched touchedJobs
		if stored, err = storeEvalsTxn(txn, index, req.Evals, owned, &touched); err != nil {
			return err
		}
		return touched.refresh(txn, index, true, false)
	})
	if err != nil {
		return Result{}, err
	}
	copyEvalIndexes(req.Evals, stored)
	return res, nil
}

// copyEvalIndexes gives the caller's evals the Namespace and indexes of
// their stored copies (stored[i] is the copy of evals[i]).
func copyEvalIndexes(evals, stored []*structs.Evaluation) {
	for i, e := range evals {
		e.Namespace, e.CreateIndex, e.ModifyIndex = stored[i].Namespace, stored[i].CreateIndex, stored[i].ModifyIndex
	}
}

func upsertEvalsTxn(txn *memdb.Txn, index uint64, evals []*structs.Evaluation) ([]*structs.Evaluation, error) {
	var touched touchedJobs
	stored, err := storeEvalsTxn(txn, index, evals, false, &touched)
	if err != nil {
		return nil, err
	}
	return stored, touched.refresh(txn, index, true, false)
}

// storeEvalsTxn stores copies of evals (with owned, evals themselves: see
// ApplyEvalUpdate) and adds their jobs to touched, whose status and
// summary the caller refreshes (nil: the caller refreshes them without a
// touchedJobs).
func storeEvalsTxn(txn *memdb.Txn, index uint64, evals []*structs.Evaluation, owned bool, touched *touchedJobs) ([]*structs.Evaluation, error) {
	inBatch := make(map[string]bool, len(evals))
	for i, e := range evals {
		if e == nil {
			return nil, structs.NewBadRequest("state: upsert evaluations at index %d: evaluation %d of %d is nil", index, i, len(evals))
		}
		if e.ID == "" {
			return nil, structs.NewBadRequest("state: upsert evaluations at index %d: evaluation %d (job %q) has no ID", index, i, e.JobID)
		}
		inBatch[e.ID] = true
	}
	stored := make([]*structs.Evaluation, len(evals))
	for i, e := range evals {
		existing, err := evalByIDTxn(txn, nil, e.ID)
		if err != nil {
			return nil, err
		}
		n := e
		if !owned {
			n = e.Copy()
		}
		n.Namespace = objectNamespace(n.Namespace)
		n.CreateIndex = index
		if existing != nil {
			n.CreateIndex = existing.CreateIndex
		}
		n.ModifyIndex = index
		if n.Status == structs.EvalStatusBlocked && n.JobID != "" {
			if err := cancelBlockedEvalsTxn(txn, index, n, inBatch); err != nil {
				return nil, err
			}
		}
		if err := txn.Insert(tableEvals, n); err != nil {
			return nil, fmt.Errorf("state: insert evaluation %q: %w", n.ID, err)
		}
		if touched != nil {
			touched.add(txn, n.Namespace, n.JobID)
		}
		stored[i] = n
	}
	if len(evals) == 0 {
		return stored, nil
	}
	if err := setIndex(txn, tableEvals, index); err != nil {
		return nil, err
	}
	return stored, nil
}

// cancelBlockedEvalsTxn cancels the blocked evaluations of blocked's job
// other than blocked itself and those in the same batch.
func cancelBlockedEvalsTxn(txn *memdb.Txn, index uint64, blocked *structs.Evaluation, inBatch map[string]bool) error {
	it, err := scan(txn, tableEvals, indexJob, blocked.Namespace, blocked.JobID) // collected before the writes
	if err != nil {
		return err
	}
	for _, e := range collect(it, func(e *structs.Evaluation) bool {
		return e.Status == structs.EvalStatusBlocked && !inBatch[e.ID]
	}) {
		c := e.Copy()
		c.Status = structs.EvalStatusCancelled
		c.StatusDescription = fmt.Sprintf("canceled: superseded by blocked evaluation %s", structs.ShortID(blocked.ID))
		c.ModifyIndex = index
		if err := txn.Insert(tableEvals, c); err != nil {
			return fmt.Errorf("state: cancel blocked evaluation %q: %w", c.ID, err)
		}
	}
	return nil
}

// DeleteEvals removes evaluations and allocations (garbage collection).
// Unknown IDs are skipped. Jobs left with no evaluations become dead.
func (s *Store) DeleteEvals(index uint64, evalIDs, allocIDs []string) error {
	_, err := s.EvalDelete(index, &structs.EvalDeleteRequest{Evals: evalIDs, Allocs: allocIDs})
	return err
}

// EvalDelete applies an EvalDeleteRequestType entry (garbage collection),
// as DeleteEvals.
func (s *Store) EvalDelete(index uint64, req *structs.EvalDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete evaluations at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var touched touchedJobs
		deletedEvals := 0
		// Jobs that lost an evaluation still pending or blocked.
		var liveDeleted map[jobKey]bool
		for _, id := range req.Evals {
			e, err := evalByIDTxn(txn, nil, id)
			if err != nil {
				return err
			}
			if e == nil {
				continue
			}
			if err := txn.Delete(tableEvals, e); err != nil {
				return fmt.Errorf("state: delete evaluation %q: %w", id, err)
			}
			touched.add(txn, e.Namespace, e.JobID)
			if !e.TerminalStatus() {
				if liveDeleted == nil {
					liveDeleted = map[jobKey]bool{}
				}
				liveDeleted[jobKey{objectNamespace(e.Namespace), e.JobID}] = true
			}
			deletedEvals++
		}
		deletedAllocs, err := deleteAllocsTxn(txn, req.Allocs, &touched)
		if err != nil {
			return err
		}
		// A running job keeps a live allocation and a dead one has none
		// and no live evaluation: deleting only finished evaluations
		// changes neither, so their status is not recomputed (which reads
		// every allocation and evaluation of the job, for each entry).
		for _, k := range touched.order {
			tj := touched.jobs[k]
			if job := tj.base.job; job != nil && len(tj.deltas) == 0 && !liveDeleted[k] &&
				(job.Status == structs.JobStatusRunning || job.Status == structs.JobStatusDead) {
				tj.statusKept = true
			}
		}
		if deletedEvals > 0 {
			if err := setIndex(txn, tableEvals, index); err != nil {
				return err
			}
		}
		if deletedAllocs > 0 {
			if err := setIndex(txn, tableAllocs, index); err != nil {
				return err
			}
		}
		return touched.refresh(txn, index, true, true)
	})
}

func evalByIDTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	raw, err := first(txn, ws, tableEvals, indexID, id)
	if err != nil {
		return nil, err
	}
	e, _ := raw.(*structs.Evaluation)
	return e, nil
}

// EvalByID returns the evaluation or nil.
func (s *reader) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	return evalByIDTxn(s.readTxn(), ws, id)
}

// Evals returns every evaluation in namespace ("*" or "" for all), sorted by ID.
func (s *reader) Evals(ws memdb.WatchSet, namespace string) ([]*structs.Evaluation, error) {
	return s.EvalsByIDPrefix(ws, namespace, "")
}

// EvalsByIDPrefix returns evaluations whose ID starts with prefix, sorted by
// ID (namespace "*" or "" for all namespaces).
func (s *reader) EvalsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Evaluation, error) {
	txn := s.readTxn()
	var (
		it  memdb.ResultIterator
		err error
	)
	byJob := prefix == "" && !allNamespaces(namespace)
	if byJob {
		// The namespace's evaluations, by job: sorted by ID below.
		it, err = get(txn, ws, tableEvals, indexJob+"_prefix", namespace, "")
	} else {
		it, err = get(txn, ws, tableEvals, indexIDPrefix, prefix)
	}
	if err != nil {
		return nil, err
	}
	evals := collect(it, func(e *structs.Evaluation) bool {
		return (allNamespaces(namespace) || e.Namespace == namespace) && strings.HasPrefix(e.ID, prefix)
	})
	if byJob {
		slices.SortFunc(evals, func(a, b *structs.Evaluation) int { return strings.Compare(a.ID, b.ID) })
	}
	return evals, nil
}

// EvalsByJob returns a job's evaluations, sorted by ID.
func (s *reader) EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error) {
	it, err := get(s.readTxn(), ws, tableEvals, indexJob, objectNamespace(namespace), jobID)
	if err != nil {
		return nil, err
	}
	return collect[*structs.Evaluation](it, nil), nil
}
