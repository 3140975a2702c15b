package state

import (
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// MaxNodeEvents is how many events the store keeps per node (the newest).
const MaxNodeEvents = 10

// Node event messages the store records itself.
const (
	NodeEventRegistered   = "Node registered"
	NodeEventReregistered = "Node re-registered"
	nodeEventSubsystem    = "Cluster"
)

// UpsertNode registers or updates a node (keeps CreateIndex of an existing one).
//
// Every other field is stored as given, including Drain and
// SchedulingEligibility: a server handling a client's re-registration must
// carry those over from the stored node itself. A new node without events
// gets a "Node registered" event; an existing node keeps its events when the
// new copy carries none, and gets a "Node re-registered" event when it comes
// back from down. Event times are StatusUpdatedAt, so the write is
// deterministic. The store keeps its own copy; on success the caller's node
// gets the stored CreateIndex and ModifyIndex.
func (s *Store) UpsertNode(index uint64, node *structs.Node) error {
	_, err := s.NodeRegister(index, &structs.NodeRegisterRequest{Node: node})
	return err
}

// NodeRegister applies a NodeRegisterRequestType entry: it stores the node
// as UpsertNode does (the request's Node gets the stored indexes) and the
// evaluations its return calls for.
func (s *Store) NodeRegister(index uint64, req *structs.NodeRegisterRequest) (Result, error) {
	if req == nil || req.Node == nil {
		return Result{}, structs.NewBadRequest("state: upsert node at index %d: node is nil", index)
	}
	node := req.Node
	if node.ID == "" {
		return Result{}, structs.NewBadRequest("state: upsert node %q at index %d: node has no ID", node.Name, index)
	}
	var n *structs.Node
	res, err := s.write(index, func(txn *memdb.Txn) error {
		existing, err := nodeByIDTxn(txn, nil, node.ID)
		if err != nil {
			return err
		}
		n = node.Copy()
		at := time.Unix(n.StatusUpdatedAt, 0).UTC()
		if existing == nil {
			n.CreateIndex = index
			if len(n.Events) == 0 {
				n.Events = appendNodeEvent(nil, index, &structs.NodeEvent{Message: NodeEventRegistered, Subsystem: nodeEventSubsystem, Timestamp: at})
			}
		} else {
			n.CreateIndex = existing.CreateIndex
			if len(n.Events) == 0 {
				n.Events = existing.Events
			}
			if existing.Status == structs.NodeStatusDown && n.Status != structs.NodeStatusDown {
				n.Events = appendNodeEvent(n.Events, index, &structs.NodeEvent{Message: NodeEventReregistered, Subsystem: nodeEventSubsystem, Timestamp: at})
			}
		}
		n.ModifyIndex = index
		if err := txn.Insert(tableNodes, n); err != nil {
			return fmt.Errorf("state: insert node %q: %w", n.ID, err)
		}
		if err := setIndex(txn, tableNodes, index); err != nil {
			return err
		}
		if err := ensureNodePoolTxn(txn, index, n.NodePool); err != nil {
			return err
		}
		_, err = upsertEvalsTxn(txn, index, req.Evals)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	node.CreateIndex = n.CreateIndex
	node.ModifyIndex = n.ModifyIndex
	return res, nil
}

// appendNodeEvent returns a new slice of events with a copy of e (CreateIndex
// = index) appended, keeping the newest MaxNodeEvents.
func appendNodeEvent(events []*structs.NodeEvent, index uint64, e *structs.NodeEvent) []*structs.NodeEvent {
	c := *e
	c.CreateIndex = index
	out := make([]*structs.NodeEvent, 0, min(len(events)+1, MaxNodeEvents))
	if drop := len(events) + 1 - MaxNodeEvents; drop > 0 {
		events = events[drop:]
	}
	out = append(out, events...)
	return append(out, &c)
}

// UpdateNodeStatus sets a node's status at updatedAt (unix seconds), appending event if not nil.
// An unknown node is a 404 CodedError.
func (s *Store) UpdateNodeStatus(index uint64, nodeID, status string, updatedAt int64, event *structs.NodeEvent) error {
	_, err := s.NodeUpdateStatus(index, &structs.NodeUpdateStatusRequest{NodeID: nodeID, Status: status,
		Timestamp: time.Unix(updatedAt, 0).UnixNano(), Event: event})
	return err
}

// NodeUpdateStatus applies a NodeUpdateStatusRequestType entry: the node's
// new status at the request's Timestamp (stored in unix seconds), its event
// and the evaluations that follow. An unknown node is a 404 CodedError.
func (s *Store) NodeUpdateStatus(index uint64, req *structs.NodeUpdateStatusRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: update node status at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		return updateNodeWithEvalsTxn(txn, index, req.NodeID, "status", time.Unix(0, req.Timestamp).Unix(), req.Event, req.Evals, func(n *structs.Node) error {
			n.Status = req.Status
			return nil
		})
	})
}

// UpdateNodeEligibility sets a node's scheduling eligibility ("eligible" or
// "ineligible") at updatedAt (unix seconds), appending event if not nil.
// An unknown node is a 404 CodedError; an unknown eligibility a 400.
func (s *Store) UpdateNodeEligibility(index uint64, nodeID, eligibility string, updatedAt int64, event *structs.NodeEvent) error {
	if err := checkEligibility(nodeID, eligibility); err != nil {
		return err
	}
	_, err := s.write(index, func(txn *memdb.Txn) error {
		return updateNodeWithEvalsTxn(txn, index, nodeID, "eligibility", updatedAt, event, nil, func(n *structs.Node) error {
			n.SchedulingEligibility = eligibility
			return nil
		})
	})
	return err
}

// checkEligibility returns a 400 CodedError for an unknown eligibility.
func checkEligibility(nodeID, eligibility string) error {
	switch eligibility {
	case structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible:
		return nil
	}
	return structs.NewBadRequest("node %q: unknown scheduling eligibility %q (use %q or %q)",
		nodeID, eligibility, structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible)
}

// UpdateNodeDrain sets whether a node is draining at updatedAt (unix seconds),
// appending event if not nil. A draining node is also marked ineligible; ending
// a drain leaves eligibility alone (set it with UpdateNodeEligibility).
// An unknown node is a 404 CodedError.
func (s *Store) UpdateNodeDrain(index uint64, nodeID string, drain bool, updatedAt int64, event *structs.NodeEvent) error {
	_, err := s.write(index, func(txn *memdb.Txn) error {
		return updateNodeWithEvalsTxn(txn, index, nodeID, "drain", updatedAt, event, nil, func(n *structs.Node) error {
			n.Drain = drain
			if drain {
				n.SchedulingEligibility = structs.NodeSchedulingIneligible
			}
			return nil
		})
	})
	return err
}

// updateNodeWithEvalsTxn stores a copy of a node changed by change, with
// StatusUpdatedAt = updatedAt (unix seconds) and event (if not nil)
// appended, then evals; what names the change for errors. An error from
// change refuses the update. An unknown node is a 404 CodedError.
func updateNodeWithEvalsTxn(txn *memdb.Txn, index uint64, nodeID, what string, updatedAt int64, event *structs.NodeEvent,
	evals []*structs.Evaluation, change func(*structs.Node) error) error {
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
	n.StatusUpdatedAt = updatedAt
	if event != nil {
		n.Events = appendNodeEvent(n.Events, index, event)
	}
	n.ModifyIndex = index
	if err := txn.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("state: update %s of node %q: %w", what, nodeID, err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	_, err = upsertEvalsTxn(txn, index, evals)
	return err
}

// DeleteNodes removes nodes. An unknown node ID is a 404 CodedError and
// nothing is removed.
func (s *Store) DeleteNodes(index uint64, nodeIDs []string) error {
	_, err := s.NodeDeregister(index, &structs.NodeDeregisterRequest{NodeIDs: nodeIDs})
	return err
}

// NodeDeregister applies a NodeDeregisterRequestType entry, as DeleteNodes.
func (s *Store) NodeDeregister(index uint64, req *structs.NodeDeregisterRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete nodes at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		if len(req.NodeIDs) == 0 {
			return nil
		}
		for _, id := range req.NodeIDs {
			n, err := nodeByIDTxn(txn, nil, id)
			if err != nil {
				return err
			}
			if n == nil {
				return structs.NewNotFound("delete node %q: node not found", id)
			}
			if err := txn.Delete(tableNodes, n); err != nil {
				return fmt.Errorf("state: delete node %q: %w", id, err)
			}
		}
		if len(req.Evals) > 0 {
			if _, err := upsertEvalsTxn(txn, index, req.Evals); err != nil {
				return err
			}
		}
		return setIndex(txn, tableNodes, index)
	})
}

func nodeByIDTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Node, error) {
	raw, err := first(txn, ws, tableNodes, indexID, id)
	if err != nil {
		return nil, err
	}
	n, _ := raw.(*structs.Node)
	return n, nil
}

// NodeByID returns the node or nil.
func (s *reader) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	return nodeByIDTxn(s.readTxn(), ws, id)
}

// Nodes returns every node, sorted by ID.
func (s *reader) Nodes(ws memdb.WatchSet) ([]*structs.Node, error) {
	return s.NodesByIDPrefix(ws, "")
}

// NodesByIDPrefix returns the nodes whose ID starts with prefix, sorted by ID.
func (s *reader) NodesByIDPrefix(ws memdb.WatchSet, prefix string) ([]*structs.Node, error) {
	it, err := get(s.readTxn(), ws, tableNodes, indexIDPrefix, prefix)
	if err != nil {
		return nil, err
	}
	return collect[*structs.Node](it, nil), nil
}
