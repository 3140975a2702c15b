package state

import (
	"maps"
	"slices"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// AllocUpdateDesiredTransition applies an
// AllocUpdateDesiredTransitionRequestType entry: it sets the desired
// transition of allocations (the drainer's migration marks) and stores the
// request's evaluations, so no scheduler sees the marks without the
// evaluations that act on them. req.Timestamp (unix nanoseconds) becomes
// the allocations' ModifyTime. Unknown allocation IDs (garbage collected
// meanwhile) are skipped. An entry repeating an applied request ID
// (req.Once) changes nothing.
func (s *Store) AllocUpdateDesiredTransition(index uint64, req *structs.AllocUpdateDesiredTransitionRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update desired transitions at index %d: request is nil", index)
	}
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(req.Allocs)) {
		if req.Allocs[id] != nil {
			ids = append(ids, id)
		}
	}
	return s.writeOnce(index, req.Once, func(txn *memdb.Txn) error {
		return updateExistingAllocsTxn(txn, index, ids, req.Evals, func(c *structs.Allocation) {
			c.DesiredTransition = *req.Allocs[c.ID]
			c.ModifyTime = req.Timestamp
		})
	})
}

// updateExistingAllocsTxn stores copies of the allocations ids changed by
// change (as UpsertAllocs), then evals. Unknown IDs (garbage collected
// meanwhile) are skipped, so a race never fails a Raft entry.
func updateExistingAllocsTxn(txn *memdb.Txn, index uint64, ids []string, evals []*structs.Evaluation, change func(*structs.Allocation)) error {
	allocs := make([]*structs.Allocation, 0, len(ids))
	for _, id := range ids {
		existing, err := allocByIDTxn(txn, nil, id)
		if err != nil {
			return err
		}
		if existing == nil {
			continue
		}
		// A shallow copy: change sets top-level fields only, and stored
		// allocations are immutable, so the new version shares the rest
		// (job, resources, metrics, task states) instead of copying it.
		c := new(structs.Allocation)
		*c = *existing
		change(c)
		allocs = append(allocs, c)
	}
	if _, err := upsertAllocsTxn(txn, index, allocs); err != nil {
		return err
	}
	_, err := upsertEvalsTxn(txn, index, evals)
	return err
}
