package state

import (
	"slices"
	"sync/atomic"
	"unsafe"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableNodeAllocView holds one nodeAllocView per node with allocations:
// the last index at which the set of the node's allocations a client sees
// changed, and a compact list of those allocations (NodeAlloc: ID,
// AllocModifyIndex, CreateIndex and job version). The client protocol's
// delta watch reads this one row to learn whether anything the client
// holds changed and which allocations did, then reads only those: a wake
// costs what changed, not every allocation of the node (a radix iteration
// and a fresh slice of up to hundreds, once per allocation placed on the
// node). It waits on the row, which the node's own status reports do not
// touch (they change no AllocModifyIndex), where it waited on the node's
// allocations, which each report woke. Every write transaction updates it
// from its own changes to the allocs table (Store.write), copying a
// node's list once per transaction that changes it, and a restore
// rebuilds it; it is derived, so never in a snapshot.
const tableNodeAllocView = "node_alloc_view"

// nodeAllocView is a row of tableNodeAllocView. Rows are never changed in
// place: a write replaces the row and its Allocs.
type nodeAllocView struct {
	NodeID string
	// Index is at least the index of the last write that created or
	// removed one of the node's allocations or changed its
	// AllocModifyIndex (a restore sets the highest ModifyIndex of the
	// node's allocations).
	Index uint64
	// Allocs are the node's allocations, terminal ones included, in no
	// particular order.
	Allocs []NodeAlloc
	// claim is shared by every row whose Allocs use the same array: how
	// many of the array's entries some transaction has written. nil for a
	// list no transaction may append to in place (a restored one).
	claim *listClaim
}

// listClaim counts the entries of a node list's array that are taken (see
// viewChanges.apply).
type listClaim struct{ n atomic.Int64 }

// NodeAlloc is what the client protocol's watch reads of one of a node's
// allocations without reading the allocation: its fields are the stored
// allocation's, and Job is the stored allocation's job version (shared,
// not a copy).
type NodeAlloc struct {
	ID                            string
	AllocModifyIndex, CreateIndex uint64
	Job                           *structs.Job
}

func nodeAllocOf(a *structs.Allocation) NodeAlloc {
	return NodeAlloc{ID: a.ID, AllocModifyIndex: a.AllocModifyIndex, CreateIndex: a.CreateIndex, Job: a.Job}
}

// same reports whether e still describes a, down to the memory it shares
// with it (an entry keeps no older version's job or ID string alive).
func (e *NodeAlloc) same(a *structs.Allocation) bool {
	return e.AllocModifyIndex == a.AllocModifyIndex && e.CreateIndex == a.CreateIndex && e.Job == a.Job &&
		unsafe.StringData(e.ID) == unsafe.StringData(a.ID) && len(e.ID) == len(a.ID)
}

func nodeAllocViewTableSchema() *memdb.TableSchema {
	return tableSchema(tableNodeAllocView, stringIndex(indexID, "NodeID", true, false))
}

// viewChanges are one transaction's changes to one node's allocations.
type viewChanges struct {
	// bump: an allocation was created or removed or its AllocModifyIndex
	// changed (the row's Index moves; otherwise only an entry's shared
	// memory did).
	bump bool
	// set holds the allocations created or changed, by ID order of
	// arrival; gone the IDs removed (deleted or moved to another node).
	set  []*structs.Allocation
	gone []string
	// added counts the allocations in set that are new to the node.
	added int
}

// updateNodeAllocViews applies the transaction's changes to the allocs
// table (txn.Changes()) to the node_alloc_view rows, at index: each node
// whose allocations changed gets a new row, its list copied once.
func updateNodeAllocViews(txn *memdb.Txn, index uint64, changes memdb.Changes) error {
	var delta perNode[viewChanges]
	forAllocChanges(changes, func(before, after *structs.Allocation) {
		switch {
		case before != nil && after != nil && before.NodeID == after.NodeID:
			if after.NodeID == "" {
				return
			}
			if e := nodeAllocOf(before); !e.same(after) {
				c := delta.at(after.NodeID, viewChanges{})
				c.set = append(c.set, after)
				c.bump = c.bump || before.AllocModifyIndex != after.AllocModifyIndex || before.CreateIndex != after.CreateIndex
			}
		default:
			if before != nil && before.NodeID != "" {
				c := delta.at(before.NodeID, viewChanges{})
				c.gone = append(c.gone, before.ID)
				c.bump = true
			}
			if after != nil && after.NodeID != "" {
				c := delta.at(after.NodeID, viewChanges{})
				c.set = append(c.set, after)
				c.added++
				c.bump = true
			}
		}
	})
	for _, id := range delta.order {
		c := delta.by[id]
		err := writeNodeRow(txn, tableNodeAllocView, "the allocation view", id, func(raw any) (any, bool) {
			v := nodeAllocView{NodeID: id}
			if raw != nil {
				v = *raw.(*nodeAllocView)
			}
			if c.bump {
				v.Index = index
			}
			v.Allocs, v.claim = c.apply(v.Allocs, v.claim)
			return &v, len(v.Allocs) > 0
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// apply returns a new list and its array's claim: old without the
// allocations gone, with those changed replaced in place and those added
// at the end. The entries of old are not changed (older snapshots read
// them).
//
// A transaction that only adds allocations to the node (a placement, the
// usual write) appends them to old's array when it has room and it is
// the first to write past old's length: it claims those entries (claim
// counts them) before it writes them. Readers of older rows never look
// past their own lengths, so a node's list is copied about twice over
// its life, not once per placement (what made a placement's cost grow
// with the node's count). The claim is what keeps two writers off the
// same entries: after an aborted transaction (its entries stay claimed,
// unseen), and between a store and a fork of one of its snapshots
// (Snapshot.Fork), which share the arrays of the rows they share and
// write each in its own transactions. The one that loses the claim
// copies.
func (c *viewChanges) apply(old []NodeAlloc, claim *listClaim) ([]NodeAlloc, *listClaim) {
	if len(c.gone) == 0 && c.added == len(c.set) && claim != nil && cap(old)-len(old) >= len(c.set) &&
		claim.n.CompareAndSwap(int64(len(old)), int64(len(old)+len(c.set))) {
		for _, a := range c.set {
			old = append(old, nodeAllocOf(a))
		}
		return old, claim
	}
	// Most transactions change one or two allocations of a node: look
	// those up in a slice; a map only for many (a drain, a job stop).
	var byID map[string]int // index in set, or -1 for gone
	if len(c.set)+len(c.gone) > 8 {
		byID = make(map[string]int, len(c.set)+len(c.gone))
		for _, id := range c.gone {
			byID[id] = -1
		}
		for i, a := range c.set {
			byID[a.ID] = i
		}
	}
	find := func(id string) (int, bool) {
		if byID != nil {
			i, ok := byID[id]
			return i, ok
		}
		for _, g := range c.gone {
			if g == id {
				return -1, true
			}
		}
		for i, a := range c.set {
			if a.ID == id {
				return i, true
			}
		}
		return 0, false
	}
	n := max(0, len(old)+c.added-len(c.gone))
	room := n
	if len(c.gone) == 0 && c.added == len(c.set) {
		room = n + n/2 + 1 // placements come in a row: leave room for the next
	}
	out := make([]NodeAlloc, 0, room)
	placed := make([]bool, len(c.set))
	for _, e := range old {
		i, ok := find(e.ID)
		switch {
		case !ok:
			out = append(out, e)
		case i >= 0:
			out = append(out, nodeAllocOf(c.set[i]))
			placed[i] = true
		}
	}
	for i, a := range c.set {
		if !placed[i] {
			out = append(out, nodeAllocOf(a))
		}
	}
	if cap(out) == len(out) {
		return out, nil
	}
	claim = &listClaim{}
	claim.n.Store(int64(len(out)))
	return out, claim
}

// allocViews gathers node_alloc_view rows from restored allocations.
type allocViews struct{ perNode[nodeAllocView] }

func (v *allocViews) add(a *structs.Allocation) {
	if a.NodeID == "" {
		return
	}
	r := v.at(a.NodeID, nodeAllocView{NodeID: a.NodeID})
	r.Allocs = append(r.Allocs, nodeAllocOf(a))
	r.Index = max(r.Index, a.ModifyIndex, a.AllocModifyIndex, a.CreateIndex)
}

// row returns node id's gathered row, its list trimmed to its length (a
// row's list is never appended to in the store).
func (v *allocViews) row(id string) *nodeAllocView {
	r := v.by[id]
	r.Allocs = append([]NodeAlloc(nil), r.Allocs...)
	return r
}

// NodeAllocs returns the last index at which the set of the node's
// allocations a client sees changed (one created or removed, or its
// AllocModifyIndex changed; never a client's status report) and those
// allocations, as NodeAlloc entries in no particular order; 0 and none for
// a node without any. The entries are the store's: read, never change
// them. It adds the node's row to ws, which then fires on those changes.
func (s *reader) NodeAllocs(ws memdb.WatchSet, nodeID string) (index uint64, allocs []NodeAlloc, err error) {
	raw, err := first(s.readTxn(), ws, tableNodeAllocView, indexID, nodeID)
	if err != nil || raw == nil {
		return 0, nil, err
	}
	v := raw.(*nodeAllocView)
	return v.Index, slices.Clip(v.Allocs), nil // an append by the caller copies
}
