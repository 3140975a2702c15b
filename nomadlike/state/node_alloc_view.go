package state

import (
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableNodeAllocView holds one nodeAllocView per node with allocations:
// the last index at which the set of the node's allocations a client sees
// changed, and its size. The client protocol's delta watch reads this one
// row to learn that nothing the client holds changed, instead of reading
// every allocation of the node on each wake-up; and it waits on the row,
// which the node's own status reports do not touch (they change no
// AllocModifyIndex), where it waited on the node's allocations, which each
// report woke. Every write transaction updates it from its own changes to
// the allocs table (Store.write) and a restore rebuilds it; it is derived,
// so never in a snapshot.
const tableNodeAllocView = "node_alloc_view"

// nodeAllocView is a row of tableNodeAllocView.
type nodeAllocView struct {
	NodeID string
	// Index is at least the index of the last write that created or
	// removed one of the node's allocations or changed its
	// AllocModifyIndex (a restore sets the highest ModifyIndex of the
	// node's allocations).
	Index uint64
	// Count is how many allocations the node has, terminal ones included.
	Count int
}

func nodeAllocViewTableSchema() *memdb.TableSchema {
	return tableSchema(tableNodeAllocView, stringIndex(indexID, "NodeID", true, false))
}

// updateNodeAllocViews applies the transaction's changes to the allocs
// table (txn.Changes()) to the node_alloc_view rows, at index.
func updateNodeAllocViews(txn *memdb.Txn, index uint64, changes memdb.Changes) error {
	var delta perNode[int]
	touch := func(nodeID string, d int) {
		if nodeID == "" {
			return
		}
		*delta.at(nodeID, 0) += d
	}
	forAllocChanges(changes, func(before, after *structs.Allocation) {
		switch {
		case before != nil && after != nil && before.NodeID == after.NodeID:
			if before.AllocModifyIndex != after.AllocModifyIndex {
				touch(after.NodeID, 0)
			}
		default:
			if before != nil {
				touch(before.NodeID, -1)
			}
			if after != nil {
				touch(after.NodeID, 1)
			}
		}
	})
	for _, id := range delta.order {
		err := writeNodeRow(txn, tableNodeAllocView, "the allocation view", id, func(raw any) (any, bool) {
			v := nodeAllocView{NodeID: id}
			if raw != nil {
				v = *raw.(*nodeAllocView)
			}
			v.Index, v.Count = index, v.Count+*delta.by[id]
			return &v, v.Count > 0
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// allocViews gathers node_alloc_view rows from restored allocations.
type allocViews struct{ perNode[nodeAllocView] }

func (v *allocViews) add(a *structs.Allocation) {
	if a.NodeID == "" {
		return
	}
	r := v.at(a.NodeID, nodeAllocView{NodeID: a.NodeID})
	r.Count++
	r.Index = max(r.Index, a.ModifyIndex, a.AllocModifyIndex, a.CreateIndex)
}

// NodeAllocsChanged returns the last index at which the set of the node's
// allocations a client sees changed (one created or removed, or its
// AllocModifyIndex changed; never a client's status report) and how many
// allocations the node has; 0, 0 for a node without any. It adds the
// node's row to ws, which then fires on exactly those changes.
func (s *reader) NodeAllocsChanged(ws memdb.WatchSet, nodeID string) (index uint64, count int, err error) {
	raw, err := first(s.readTxn(), ws, tableNodeAllocView, indexID, nodeID)
	if err != nil || raw == nil {
		return 0, 0, err
	}
	v := raw.(*nodeAllocView)
	return v.Index, v.Count, nil
}
