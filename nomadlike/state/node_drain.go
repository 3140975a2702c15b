package state

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// SetNodeDrainStrategy starts, changes or ends a node's drain at updatedAt
// (unix seconds) and stores evals, in one transaction. A non-nil strategy
// sets Drain and marks the node ineligible; nil ends the drain (Drain false)
// and leaves the node ineligible unless markEligible. event, if not nil, is
// appended to the node's events. An unknown node is a 404 CodedError.
func (s *Store) SetNodeDrainStrategy(index uint64, nodeID string, strategy *structs.DrainStrategy, markEligible bool, updatedAt int64, event *structs.NodeEvent, evals []*structs.Evaluation) error {
	return s.updateNodeWithEvals(index, nodeID, "drain", evals, func(n *structs.Node) error {
		n.DrainStrategy = strategy.Copy()
		n.Drain = strategy != nil
		switch {
		case strategy != nil:
			n.SchedulingEligibility = structs.NodeSchedulingIneligible
		case markEligible:
			n.SchedulingEligibility = structs.NodeSchedulingEligible
		}
		n.StatusUpdatedAt = updatedAt
		if event != nil {
			n.Events = appendNodeEvent(n.Events, index, event)
		}
		return nil
	})
}

// SetNodeEligibility is UpdateNodeEligibility that also stores evals in the
// same transaction. Making a draining node eligible is a 400 CodedError:
// end the drain first.
func (s *Store) SetNodeEligibility(index uint64, nodeID, eligibility string, updatedAt int64, event *structs.NodeEvent, evals []*structs.Evaluation) error {
	switch eligibility {
	case structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible:
	default:
		return structs.NewBadRequest("node %q: unknown scheduling eligibility %q (use %q or %q)",
			nodeID, eligibility, structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible)
	}
	return s.updateNodeWithEvals(index, nodeID, "eligibility", evals, func(n *structs.Node) error {
		if n.Drain && eligibility == structs.NodeSchedulingEligible {
			return structs.NewBadRequest("node %q is draining and cannot be made eligible; end the drain first ('nomadlike node drain -disable %s')", nodeID, nodeID)
		}
		n.SchedulingEligibility = eligibility
		n.StatusUpdatedAt = updatedAt
		if event != nil {
			n.Events = appendNodeEvent(n.Events, index, event)
		}
		return nil
	})
}

// updateNodeWithEvals stores a changed copy of a node and evals in one
// transaction; what names the change for errors. An error from change
// refuses the update: nothing is stored and the error is returned.
func (s *Store) updateNodeWithEvals(index uint64, nodeID, what string, evals []*structs.Evaluation, change func(*structs.Node) error) error {
	txn := s.writeTxn()
	defer txn.Abort()
	existing, err := nodeByIDTxn(txn, nil, nodeID)
	if err != nil {
		return err
	}
	if existing == nil {
		return structs.NewNotFound("update %s of node %q: node not found; was it deregistered?", what, nodeID)
	}
	n := existing.Copy()
	if err := change(n); err != nil {
		return err
	}
	n.ModifyIndex = index
	if err := txn.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("state: update %s of node %q: %w", what, nodeID, err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
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
