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

// usageDeltas gathers per-node changes of usage, in the order nodes are met.
type usageDeltas struct {
	order []string
	by    map[string]*structs.NodeUsage
}

func (d *usageDeltas) apply(a *structs.Allocation, sign int) {
	if a == nil || a.NodeID == "" {
		return
	}
	if d.by == nil {
		d.by = map[string]*structs.NodeUsage{}
	}
	u := d.by[a.NodeID]
	if u == nil {
		u = &structs.NodeUsage{NodeID: a.NodeID}
		d.by[a.NodeID] = u
		d.order = append(d.order, a.NodeID)
	}
	u.Apply(a, sign)
}

// updateNodeUsage applies the transaction's changes to the allocs table to
// the node_usage rows. changes are txn.Changes(): one per allocation, from
// its version before the transaction to its version after.
func updateNodeUsage(txn *memdb.Txn, changes memdb.Changes) error {
	var d usageDeltas
	for _, c := range changes {
		if c.Table != tableAllocs {
			continue
		}
		before, _ := c.Before.(*structs.Allocation)
		after, _ := c.After.(*structs.Allocation)
		d.apply(before, -1)
		d.apply(after, 1)
	}
	for _, id := range d.order {
		delta := d.by[id]
		if delta.Used == (structs.ComparableResources{}) && delta.Live == 0 && delta.Exclusive == 0 {
			continue // nothing live changed on this node (a client's report of a running allocation)
		}
		raw, err := txn.First(tableNodeUsage, indexID, id)
		if err != nil {
			return fmt.Errorf("state: read usage of node %s: %w", id, err)
		}
		u := structs.NodeUsage{NodeID: id}
		if raw != nil {
			u = *raw.(*structs.NodeUsage)
		}
		u.Used.Add(delta.Used)
		u.Live += delta.Live
		u.Exclusive += delta.Exclusive
		if u.Live == 0 && u.Exclusive == 0 && u.Used == (structs.ComparableResources{}) {
			if raw != nil {
				if err := txn.Delete(tableNodeUsage, raw); err != nil {
					return fmt.Errorf("state: delete usage of node %s: %w", id, err)
				}
			}
			continue
		}
		if err := txn.Insert(tableNodeUsage, &u); err != nil {
			return fmt.Errorf("state: write usage of node %s: %w", id, err)
		}
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
