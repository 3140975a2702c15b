package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertAllocs stores allocations from the server side (plan results, desired
// status changes). For an existing allocation it keeps the client-side fields
// (ClientStatus, ClientDescription, TaskStates) unless the new one sets
// ClientStatus, keeps the Job when the new one has none, and bumps
// AllocModifyIndex. It updates job summaries and job status.
//
// Precisely: an existing allocation keeps CreateIndex, CreateTime and
// TaskStates; its ClientStatus and ClientDescription are replaced only when
// the new copy sets ClientStatus to "lost" or "unknown" (the statuses the
// server decides), because stop entries are copies of the scheduler's possibly
// stale view and must not undo a newer client report. A new allocation must
// carry its Job.
//
// The store keeps its own copies; on success the caller's allocations get
// the stored CreateIndex, ModifyIndex and AllocModifyIndex.
func (s *Store) UpsertAllocs(index uint64, allocs []*structs.Allocation) error {
	own := make([]*structs.Allocation, len(allocs))
	for i, a := range allocs {
		own[i] = a.Copy() // nil stays nil: upsertAllocsTxn refuses it
	}
	var stored []*structs.Allocation
	_, err := s.write(index, func(txn *memdb.Txn) error {
		var err error
		stored, err = upsertAllocsTxn(txn, index, own)
		return err
	})
	if err != nil {
		return err
	}
	copyAllocIndexes(allocs, stored)
	return nil
}

// copyAllocIndexes gives the caller's allocs the indexes of their stored
// copies (stored[i] is the copy of allocs[i]).
func copyAllocIndexes(allocs, stored []*structs.Allocation) {
	for i, a := range allocs {
		a.CreateIndex, a.ModifyIndex, a.AllocModifyIndex = stored[i].CreateIndex, stored[i].ModifyIndex, stored[i].AllocModifyIndex
	}
}

// serverClientStatus reports whether the server may set an existing
// allocation's client status to status.
func serverClientStatus(status string) bool {
	return status == structs.AllocClientStatusLost || status == structs.AllocClientStatusUnknown
}

// upsertAllocsTxn stores allocs, which must be the caller's own copies:
// they are stored (and changed) as they are, not copied again.
func upsertAllocsTxn(txn *memdb.Txn, index uint64, allocs []*structs.Allocation) ([]*structs.Allocation, error) {
	var touched touchedJobs
	shared := newAllocSharer()
	var deployments ownedDeployments
	stored := make([]*structs.Allocation, len(allocs))
	for i, a := range allocs {
		if a == nil {
			return nil, structs.NewBadRequest("state: upsert allocations at index %d: allocation %d of %d is nil", index, i, len(allocs))
		}
		if a.ID == "" {
			return nil, structs.NewBadRequest("state: upsert allocations at index %d: allocation %d (%s) has no ID", index, i, a.Name)
		}
		existing, err := allocByIDTxn(txn, nil, a.ID)
		if err != nil {
			return nil, err
		}
		n := a
		n.Namespace = objectNamespace(n.Namespace)
		if existing == nil {
			if n.Job == nil {
				return nil, structs.NewBadRequest("state: upsert allocations at index %d: new allocation %q (%s) has no Job; "+
					"the plan applier must set Job to the job version the allocation runs", index, a.ID, a.Name)
			}
			n.CreateIndex = index
		} else {
			n.CreateIndex = existing.CreateIndex
			n.CreateTime = existing.CreateTime
			if n.Job == nil {
				n.Job = existing.Job
			}
			n.KeepTaskStatesOf(existing)
			if !serverClientStatus(n.ClientStatus) {
				n.ClientStatus = existing.ClientStatus
				n.ClientDescription = existing.ClientDescription
			}
			if n.DeploymentID == existing.DeploymentID {
				// Health comes from the client and the deployment endpoints,
				// never from a (possibly stale) scheduler copy.
				n.DeploymentStatus = existing.DeploymentStatus.Copy()
			}
		}
		if err := shared.share(txn, n, existing); err != nil {
			return nil, err
		}
		if err := updateDeploymentWithAllocTxn(txn, index, existing, n, &deployments); err != nil {
			return nil, err
		}
		n.ModifyIndex = index
		n.AllocModifyIndex = index
		if err := txn.Insert(tableAllocs, n); err != nil {
			return nil, fmt.Errorf("state: insert allocation %q: %w", n.ID, err)
		}
		touched.allocChanged(txn, existing, n)
		stored[i] = n
	}
	if len(allocs) == 0 {
		return stored, nil
	}
	if err := setIndex(txn, tableAllocs, index); err != nil {
		return nil, err
	}
	return stored, touched.refresh(txn, index, true, false)
}

// UpdateAllocsFromClient applies client-reported fields (ClientStatus,
// ClientDescription, TaskStates, ModifyTime) to existing allocations; unknown
// IDs are skipped. It updates job summaries and job status.
//
// An empty ClientStatus, nil TaskStates or zero ModifyTime in an update leave
// the stored value alone. The update objects are not kept or changed.
func (s *Store) UpdateAllocsFromClient(index uint64, allocs []*structs.Allocation) error {
	_, err := s.write(index, func(txn *memdb.Txn) error {
		return updateAllocsFromClientTxn(txn, index, allocs, 0)
	})
	return err
}

// AllocClientUpdate applies an AllocClientUpdateRequestType entry: the
// client's view of its allocations (as UpdateAllocsFromClient, with the
// request's Timestamp as their ModifyTime) and the evaluations their
// failures call for.
func (s *Store) AllocClientUpdate(index uint64, req *structs.AllocClientUpdateRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update allocations from client at index %d: request is nil", index)
	}
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		if err := updateAllocsFromClientTxn(txn, index, req.Allocs, req.Timestamp); err != nil {
			return err
		}
		_, err := upsertEvalsTxn(txn, index, req.Evals)
		return err
	})
}

// AllocClientUpdateBatch applies an AllocClientUpdateBatchRequestType
// entry: each part as AllocClientUpdate applies it, in one transaction. A
// part whose request ID was applied before is skipped (a retry that raced
// with its first attempt), as is one whose request ID another request
// used (the server answers that request 422 from the dedup record).
func (s *Store) AllocClientUpdateBatch(index uint64, req *structs.AllocClientUpdateBatchRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update allocations from clients at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var touched touchedJobs
		for _, p := range req.Parts {
			if p == nil {
				continue
			}
			apply := func(txn *memdb.Txn) error {
				if err := clientAllocUpdatesTxn(txn, index, p.Allocs, p.Timestamp, &touched); err != nil {
					return err
				}
				_, err := storeEvalsTxn(txn, index, p.Evals, false, &touched)
				return err
			}
			if p.Once.RequestID == "" {
				if err := apply(txn); err != nil {
					return err
				}
				continue
			}
			prev, err := writeRecordTxn(txn, p.Once.RequestID)
			if err != nil {
				return err
			}
			if prev != nil {
				continue // a retry, or another request's ID: the server answers from the record
			}
			if err := apply(txn); err != nil {
				return err
			}
			// The record recordOf would make, from the part itself (the
			// transaction's changes hold every part's).
			rec := &structs.WriteRecord{RequestID: p.Once.RequestID, Fingerprint: p.Once.Fingerprint, Index: index, Time: p.Once.Time}
			if len(p.Evals) > 0 {
				rec.EvalID = p.Evals[0].ID
			}
			if err := recordWriteTxn(txn, rec); err != nil {
				return err
			}
		}
		return touched.refresh(txn, index, true, false)
	})
}

// updateAllocsFromClientTxn is UpdateAllocsFromClient in txn; a non-zero
// modifyTime overrides the updates' ModifyTime.
func updateAllocsFromClientTxn(txn *memdb.Txn, index uint64, allocs []*structs.Allocation, modifyTime int64) error {
	var touched touchedJobs
	if err := clientAllocUpdatesTxn(txn, index, allocs, modifyTime, &touched); err != nil {
		return err
	}
	return touched.refresh(txn, index, true, false)
}

// clientAllocUpdatesTxn stores the client updates and adds their jobs to
// touched, whose status and summary the caller refreshes (once for a
// batched entry, however many parts touch a job).
func clientAllocUpdatesTxn(txn *memdb.Txn, index uint64, allocs []*structs.Allocation, modifyTime int64, touched *touchedJobs) error {
	updated := 0
	var deployments ownedDeployments
	for _, u := range allocs {
		if u == nil {
			continue
		}
		existing, err := allocByIDTxn(txn, nil, u.ID)
		if err != nil {
			return err
		}
		if existing == nil {
			continue
		}
		// Stored allocations are immutable, so the new version shares every
		// field it does not replace (job, resources, scheduler metrics)
		// instead of deep-copying them on each client report.
		n := shallowAllocCopy(existing)
		if u.ClientStatus != "" {
			n.ClientStatus = u.ClientStatus
		}
		n.ClientDescription = u.ClientDescription
		if u.NetworkStatus != nil {
			n.NetworkStatus = u.NetworkStatus.Copy()
		}
		if u.TaskStates != nil {
			n.KeepTaskStatesOf(u)
			n.PackTaskStates()
			if n.TaskStates != nil {
				// Not packable (a time in a named zone): the store's own copy.
				states := make(map[string]*structs.TaskState, len(u.TaskStates))
				for name, ts := range u.TaskStates {
					states[name] = ts.Copy()
				}
				n.TaskStates = internTaskStates(states)
			}
		}
		internAllocStrings(n)
		switch {
		case modifyTime != 0:
			n.ModifyTime = modifyTime
		case u.ModifyTime != 0:
			n.ModifyTime = u.ModifyTime
		}
		if u.DeploymentStatus != nil {
			// The client decides health; the canary flag stays the server's.
			ds := u.DeploymentStatus.Copy()
			ds.Canary = existing.DeploymentStatus.IsCanary()
			ds.ModifyIndex = index
			n.DeploymentStatus = ds
			if err := updateDeploymentWithAllocTxn(txn, index, existing, n, &deployments); err != nil {
				return err
			}
		}
		n.ModifyIndex = index
		if err := txn.Insert(tableAllocs, n); err != nil {
			return fmt.Errorf("state: update allocation %q from client: %w", n.ID, err)
		}
		touched.allocChanged(txn, existing, n)
		updated++
	}
	if updated == 0 {
		return nil
	}
	return setIndex(txn, tableAllocs, index)
}

// deleteAllocsTxn removes allocations by ID (unknown IDs are skipped) and
// records the jobs they belonged to in touched. It reports how many it removed.
func deleteAllocsTxn(txn *memdb.Txn, ids []string, touched *touchedJobs) (int, error) {
	n := 0
	for _, id := range ids {
		a, err := allocByIDTxn(txn, nil, id)
		if err != nil {
			return n, err
		}
		if a == nil {
			continue
		}
		if err := txn.Delete(tableAllocs, a); err != nil {
			return n, fmt.Errorf("state: delete allocation %q: %w", id, err)
		}
		touched.allocChanged(txn, a, nil)
		n++
	}
	return n, nil
}

// shallowAllocCopy returns a new version of the stored allocation a that
// shares all of a's sub-objects (stored objects are immutable): the caller
// replaces, never changes in place, those it updates. Copy would unpack
// the task states and score metadata the store keeps packed.
func shallowAllocCopy(a *structs.Allocation) *structs.Allocation {
	n := new(structs.Allocation)
	*n = *a
	return n
}

func allocByIDTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	raw, err := first(txn, ws, tableAllocs, indexID, id)
	if err != nil {
		return nil, err
	}
	a, _ := raw.(*structs.Allocation)
	return a, nil
}

// AllocByID returns the allocation or nil.
func (s *reader) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	return allocByIDTxn(s.readTxn(), ws, id)
}

// Allocs returns every allocation in namespace ("*" or "" for all), sorted by ID.
func (s *reader) Allocs(ws memdb.WatchSet, namespace string) ([]*structs.Allocation, error) {
	txn := s.readTxn()
	var (
		it  memdb.ResultIterator
		err error
	)
	if allNamespaces(namespace) {
		it, err = get(txn, ws, tableAllocs, indexID)
	} else {
		// The job index's prefix {namespace, ""} is the namespace (the
		// allocs table has no namespace index: one index entry less per
		// allocation); it orders entries by job, so sort by ID.
		it, err = get(txn, ws, tableAllocs, indexJob+"_prefix", namespace, "")
	}
	if err != nil {
		return nil, err
	}
	out := collect[*structs.Allocation](it, nil)
	if !allNamespaces(namespace) {
		slices.SortFunc(out, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// AllocsByIDPrefix returns allocations whose ID starts with prefix, sorted by
// ID (namespace "*" or "" for all namespaces).
func (s *reader) AllocsByIDPrefix(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Allocation, error) {
	it, err := get(s.readTxn(), ws, tableAllocs, indexIDPrefix, prefix)
	if err != nil {
		return nil, err
	}
	return collect(it, func(a *structs.Allocation) bool {
		return allNamespaces(namespace) || a.Namespace == namespace
	}), nil
}

// AllocsByJob returns a job's allocations; with all=false only those of the
// job's current incarnation (CreateIndex of the alloc's job matches the job's).
// When the job no longer exists (purged), every allocation with its ID is
// returned, so that they can still be stopped. Sorted by ID.
func (s *reader) AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error) {
	txn := s.readTxn()
	var job *structs.Job
	if !all {
		var err error
		if job, err = jobByIDTxn(txn, ws, namespace, jobID); err != nil {
			return nil, err
		}
	}
	return allocsByJobTxn(txn, ws, namespace, jobID, job)
}

// allocsByJobTxn returns the allocations with jobID; when job is not nil only
// those whose Job has job's CreateIndex.
func allocsByJobTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, jobID string, job *structs.Job) ([]*structs.Allocation, error) {
	list := func() (memdb.ResultIterator, error) {
		if ws == nil {
			return scan(txn, tableAllocs, indexJob, objectNamespace(namespace), jobID) // collected at once
		}
		return get(txn, ws, tableAllocs, indexJob, objectNamespace(namespace), jobID)
	}
	it, err := list()
	if err != nil {
		return nil, err
	}
	return collect(it, func(a *structs.Allocation) bool {
		return job == nil || (a.Job != nil && a.Job.CreateIndex == job.CreateIndex)
	}), nil
}

// AllocsByNode returns a node's allocations, sorted by ID. Allocations have
// no index by node: the node's node_alloc_view row lists them (an entry of
// 40 bytes, where an index entry cost ~250 bytes per allocation, the
// largest part of the state at scale), and each is read by ID. With ws, it
// watches the row (an allocation created, removed or moved) and each
// allocation read (a client's status report changes no row).
func (s *reader) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	txn := s.readTxn()
	var v *nodeAllocView
	if ws != nil {
		raw, err := first(txn, ws, tableNodeAllocView, indexID, nodeID)
		if err != nil {
			return nil, err
		}
		v, _ = raw.(*nodeAllocView)
	} else {
		var err error
		if v, err = seek[*nodeAllocView](txn, tableNodeAllocView, indexID, nodeID); err != nil {
			return nil, err
		}
	}
	if v == nil || v.NodeID != nodeID {
		return nil, nil
	}
	var err error
	out := make([]*structs.Allocation, 0, len(v.Allocs))
	for i := range v.Allocs {
		id := v.Allocs[i].ID
		var a *structs.Allocation
		if ws != nil {
			a, err = allocByIDTxn(txn, ws, id)
		} else {
			a, err = allocByIDUnwatched(txn, id)
		}
		if err != nil {
			return nil, err
		}
		if a != nil {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// allocByIDUnwatched is allocByIDTxn for a read that watches nothing: it
// leaves no watch channel on the allocation's entry (see seek).
func allocByIDUnwatched(txn *memdb.Txn, id string) (*structs.Allocation, error) {
	a, err := seek[*structs.Allocation](txn, tableAllocs, indexID, id)
	if err != nil || a == nil || a.ID != id {
		return nil, err
	}
	return a, nil
}

// seek returns the object of table whose unique index key is args, or
// the zero T (callers also check that it is the one asked for). Unlike
// first with a watch set it gives the entry no watch channel (upstream
// go-memdb's First made one on each entry it found, which stayed with the
// entry until it changed), and in a write transaction it reads the index
// in place: it was a LowerBound iterator, which clones the index's tree
// in a write transaction, so the next insert into the index copied its
// whole path again (every write with a request ID looks its ID up).
func seek[T any](txn *memdb.Txn, table, index string, args ...any) (T, error) {
	var zero T
	raw, err := txn.First(table, index, args...)
	if err != nil {
		return zero, fmt.Errorf("state: read %s by %s %v: %w", table, index, args, err)
	}
	obj, _ := raw.(T)
	return obj, nil
}

// AllocsByEval returns the allocations an evaluation created, sorted by ID;
// none once the evaluation is gone. Allocations have no index by
// evaluation (an index entry costs ~200 bytes per allocation): they are
// the evaluation's job's allocations that name it.
func (s *reader) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	txn := s.readTxn()
	e, err := evalByIDTxn(txn, ws, evalID)
	if err != nil || e == nil {
		return nil, err
	}
	it, err := get(txn, ws, tableAllocs, indexJob, objectNamespace(e.Namespace), e.JobID)
	if err != nil {
		return nil, err
	}
	return collect(it, func(a *structs.Allocation) bool { return a.EvalID == evalID }), nil
}

// sharedJobs replaces the jobs allocations arrive with (each Raft entry
// decodes its own copy) by the store's row of the same job version, so the
// allocations of one job version share one *Job in memory however many
// plans placed them. It remembers what it resolved within one transaction.
type sharedJobs map[*structs.Job]*structs.Job

// job returns the stored version of j when the store holds the same
// version of the same incarnation (namespace, ID, version, create and job
// modify index: a spec change gets a new job modify index), otherwise j.
// Fields that change without a new version (Status, Stable, ModifyIndex)
// are those of the stored version row.
func (s sharedJobs) job(txn *memdb.Txn, j *structs.Job) (*structs.Job, error) {
	if j == nil {
		return nil, nil
	}
	if r, ok := s[j]; ok {
		return r, nil
	}
	raw, err := first(txn, nil, tableJobVersion, indexID, objectNamespace(j.Namespace), j.ID, j.Version)
	if err != nil {
		return nil, err
	}
	r := j
	if v, ok := raw.(*structs.Job); ok && v.CreateIndex == j.CreateIndex && v.JobModifyIndex == j.JobModifyIndex {
		r = v
	}
	s[j], s[r] = r, r
	return r, nil
}
