package state

import (
	"maps"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpdateAllocsDesiredTransitions sets the desired transition of allocations
// (the drainer's migration marks) and stores evals, in one transaction, so
// no scheduler sees the marks without the evaluations that act on them.
// ts (unix nanoseconds) becomes the allocations' ModifyTime. Unknown
// allocation IDs (garbage collected meanwhile) are skipped.
func (s *Store) UpdateAllocsDesiredTransitions(index uint64, transitions map[string]*structs.DesiredTransition, evals []*structs.Evaluation, ts int64) error {
	txn := s.writeTxn()
	defer txn.Abort()
	allocs := make([]*structs.Allocation, 0, len(transitions))
	for _, id := range slices.Sorted(maps.Keys(transitions)) {
		t := transitions[id]
		if t == nil {
			continue
		}
		existing, err := allocByIDTxn(txn, nil, id)
		if err != nil {
			return err
		}
		if existing == nil {
			continue
		}
		c := existing.Copy()
		c.DesiredTransition = *t
		c.ModifyTime = ts
		allocs = append(allocs, c)
	}
	if _, err := upsertAllocsTxn(txn, index, allocs); err != nil {
		return err
	}
	storedEvals, err := upsertEvalsTxn(txn, index, evals)
	if err != nil {
		return err
	}
	txn.Commit()
	for i, e := range evals {
		e.Namespace, e.CreateIndex, e.ModifyIndex = storedEvals[i].Namespace, storedEvals[i].CreateIndex, storedEvals[i].ModifyIndex
	}
	return nil
}
