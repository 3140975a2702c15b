package state

import (
	"maps"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodeUpdateDrain applies a NodeUpdateDrainRequestType entry: it starts,
// changes or ends a node's drain at req.UpdatedAt (unix seconds) and stores
// the request's evaluations. A non-nil DrainStrategy sets Drain and marks
// the node ineligible; nil ends the drain (Drain false) and leaves the node
// ineligible unless MarkEligible. Event, if not nil, is appended to the
// node's events. An unknown node is a 404 CodedError.
func (s *Store) NodeUpdateDrain(index uint64, req *structs.NodeUpdateDrainRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update node drain at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		return updateNodeWithEvalsTxn(txn, index, req.NodeID, "drain", req.UpdatedAt, req.Event, req.Evals, func(n *structs.Node) error {
			strategy := req.DrainStrategy
			n.LastDrain = lastDrain(n, req)
			n.DrainStrategy = strategy.Copy()
			n.Drain = strategy != nil
			switch {
			case strategy != nil:
				n.SchedulingEligibility = structs.NodeSchedulingIneligible
			case req.MarkEligible:
				n.SchedulingEligibility = structs.NodeSchedulingEligible
			}
			return nil
		})
	})
}

// NodeUpdateEligibility applies a NodeUpdateEligibilityRequestType entry:
// it sets a node's eligibility at req.UpdatedAt (unix seconds) as
// UpdateNodeEligibility does and stores the request's evaluations. Making a
// draining node eligible is a 400 CodedError: end the drain first.
func (s *Store) NodeUpdateEligibility(index uint64, req *structs.NodeUpdateEligibilityRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update node eligibility at index %d: request is nil", index)
	}
	if err := checkEligibility(req.NodeID, req.Eligibility); err != nil {
		return Result{}, err
	}
	return s.write(index, func(txn *memdb.Txn) error {
		return updateNodeWithEvalsTxn(txn, index, req.NodeID, "eligibility", req.UpdatedAt, req.Event, req.Evals, func(n *structs.Node) error {
			if n.Drain && req.Eligibility == structs.NodeSchedulingEligible {
				return structs.NewBadRequest("node %q is draining and cannot be made eligible; end the drain first (PUT /v1/node/%s/drain without a DrainSpec)", req.NodeID, req.NodeID)
			}
			n.SchedulingEligibility = req.Eligibility
			return nil
		})
	})
}

// lastDrain is node n's LastDrain after req: a drain started (or changed)
// is "draining" since its start; ending one makes it "complete" (the
// drainer) or "canceled" (a user). Times are req.UpdatedAt.
func lastDrain(n *structs.Node, req *structs.NodeUpdateDrainRequest) *structs.DrainMetadata {
	at := time.Unix(req.UpdatedAt, 0).UTC()
	ld := n.LastDrain.Copy()
	switch {
	case req.DrainStrategy != nil && n.Drain && ld != nil && ld.Status == structs.DrainStatusDraining:
		ld.UpdatedAt = at
		if req.Meta != nil {
			ld.Meta = maps.Clone(req.Meta)
		}
	case req.DrainStrategy != nil:
		started := req.DrainStrategy.StartedAt
		if started.IsZero() {
			started = at
		}
		ld = &structs.DrainMetadata{StartedAt: started.UTC(), UpdatedAt: at, Status: structs.DrainStatusDraining,
			AccessorID: req.AccessorID, Meta: maps.Clone(req.Meta)}
	case n.Drain:
		if ld == nil {
			ld = &structs.DrainMetadata{StartedAt: at}
			if n.DrainStrategy != nil {
				ld.StartedAt = n.DrainStrategy.StartedAt.UTC()
			}
		}
		ld.UpdatedAt = at
		ld.Status = structs.DrainStatusCanceled
		if req.Complete {
			ld.Status = structs.DrainStatusComplete
		}
	}
	if ld != nil && ld.UpdatedAt.Before(ld.StartedAt) {
		ld.UpdatedAt = ld.StartedAt // req.UpdatedAt has whole seconds
	}
	return ld
}
