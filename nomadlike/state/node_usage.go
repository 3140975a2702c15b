package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableNodeUsage holds one structs.NodeUsage per node with live
// allocations: the sum of what they use, so the scheduler ranks a node
// with one read instead of reading each of its allocations (with 100
// allocations a node, an evaluation that looks at every node read the
// whole allocs table). Every write transaction updates it from its own
// changes to the allocs table (Store.write), whatever the write path, and
// a restore rebuilds it; it is derived, so never in a snapshot.
const tableNodeUsage = "node_usage"

// derivedTables are rebuilt from other tables: no snapshot record, and a
// restore refuses rows of them.
var derivedTables = map[string]bool{tableNodeUsage: true, tableNodeAllocView: true}

func nodeUsageTableSchema() *memdb.TableSchema {
	return tableSchema(tableNodeUsage, stringIndex(indexID, "NodeID", true, false))
}

// perNode gathers one T per node, in the order nodes are met (order; by
// holds each node's T).
type perNode[T any] struct {
	order []string
	by    map[string]*T
}

// at returns node id's T, first set to init when the node is new.
func (p *perNode[T]) at(id string, init T) *T {
	if p.by == nil {
		p.by = map[string]*T{}
	}
	v := p.by[id]
	if v == nil {
		v = &init
		p.by[id] = v
		p.order = append(p.order, id)
	}
	return v
}

// usageDeltas gathers per-node changes of usage, in the order nodes are met.
type usageDeltas struct{ perNode[structs.NodeUsage] }

func (d *usageDeltas) apply(a *structs.Allocation, sign int) {
	if a == nil || a.NodeID == "" {
		return
	}
	d.at(a.NodeID, structs.NodeUsage{NodeID: a.NodeID}).Apply(a, sign)
}

// updateNodeUsage applies the transaction's changes to the allocs table to
// the node_usage rows. changes are txn.Changes(): one per allocation, from
// its version before the transaction to its version after.
func updateNodeUsage(txn *memdb.Txn, changes memdb.Changes) error {
	var d usageDeltas
	forAllocChanges(changes, func(before, after *structs.Allocation) {
		d.apply(before, -1)
		d.apply(after, 1)
	})
	for _, id := range d.order {
		delta := d.by[id]
		if delta.Used == (structs.ComparableResources{}) && delta.Live == 0 && delta.Exclusive == 0 {
			continue // nothing live changed on this node (a client's report of a running allocation)
		}
		err := writeNodeRow(txn, tableNodeUsage, "usage", id, func(raw any) (any, bool) {
			u := structs.NodeUsage{NodeID: id}
			if raw != nil {
				u = *raw.(*structs.NodeUsage)
			}
			u.Used.Add(delta.Used)
			u.Live += delta.Live
			u.Exclusive += delta.Exclusive
			return &u, u.Live != 0 || u.Exclusive != 0 || u.Used != (structs.ComparableResources{})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// forAllocChanges calls fn with each change to the allocs table among
// changes (txn.Changes()): the allocation before the transaction and after
// it, either nil when it was created or deleted.
func forAllocChanges(changes memdb.Changes, fn func(before, after *structs.Allocation)) {
	for _, c := range changes {
		if c.Table != tableAllocs {
			continue
		}
		before, _ := c.Before.(*structs.Allocation)
		after, _ := c.After.(*structs.Allocation)
		fn(before, after)
	}
}

// writeNodeRow updates the row of node id in a derived per-node table
// (keyed by NodeID on indexID): next gets the current row (nil when there
// is none) and returns the new one and whether to keep it; a row not kept
// is deleted. what names the row in errors ("state: write <what> of node
// <id>").
func writeNodeRow(txn *memdb.Txn, table, what, id string, next func(raw any) (row any, keep bool)) error {
	raw, err := txn.First(table, indexID, id)
	if err != nil {
		return fmt.Errorf("state: read %s of node %s: %w", what, id, err)
	}
	row, keep := next(raw)
	if !keep {
		if raw != nil {
			if err := txn.Delete(table, raw); err != nil {
				return fmt.Errorf("state: delete %s of node %s: %w", what, id, err)
			}
		}
		return nil
	}
	if err := txn.Insert(table, row); err != nil {
		return fmt.Errorf("state: write %s of node %s: %w", what, id, err)
	}
	return nil
}

// NodeUsage returns what the node's live allocations use (zero when it has none).
func (s *reader) NodeUsage(ws memdb.WatchSet, nodeID string) (*structs.NodeUsage, error) {
	txn := s.readTxn()
	var raw any
	var err error
	if ws == nil {
		// A lower-bound seek makes no watch channel (a lookup makes one
		// for each row it finds, and the scheduler looks up every node's
		// row on each evaluation).
		var it memdb.ResultIterator
		if it, err = txn.LowerBound(tableNodeUsage, indexID, nodeID); err == nil {
			if u, ok := it.Next().(*structs.NodeUsage); ok && u.NodeID == nodeID {
				raw = u
			}
		}
	} else {
		raw, err = first(txn, ws, tableNodeUsage, indexID, nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("state: read usage of node %s: %w", nodeID, err)
	}
	if raw == nil {
		return &structs.NodeUsage{NodeID: nodeID}, nil
	}
	return raw.(*structs.NodeUsage), nil
}
