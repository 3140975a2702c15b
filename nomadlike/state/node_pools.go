package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableNodePools holds the node pools users and nodes created; the
// built-in pools "all" and "default" are never stored (readers add them).
const tableNodePools = "node_pools"

func nodePoolsTableSchema() *memdb.TableSchema {
	return tableSchema(tableNodePools, stringIndex(indexID, "Name", true, false))
}

// NodePools returns every node pool, the built-in ones included, sorted by name.
func (s *reader) NodePools(ws memdb.WatchSet) ([]*structs.NodePool, error) {
	it, err := get(s.readTxn(), ws, tableNodePools, indexID)
	if err != nil {
		return nil, err
	}
	out := append(structs.BuiltInNodePools(), collect[*structs.NodePool](it, nil)...)
	slices.SortFunc(out, func(a, b *structs.NodePool) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// NodePoolByName returns one node pool (built-in ones included) or nil.
func (s *reader) NodePoolByName(ws memdb.WatchSet, name string) (*structs.NodePool, error) {
	return nodePoolTxn(s.readTxn(), ws, name)
}

func nodePoolTxn(txn *memdb.Txn, ws memdb.WatchSet, name string) (*structs.NodePool, error) {
	for _, p := range structs.BuiltInNodePools() {
		if p.Name == name {
			return p, nil
		}
	}
	raw, err := first(txn, ws, tableNodePools, indexID, name)
	if err != nil {
		return nil, err
	}
	p, _ := raw.(*structs.NodePool)
	return p, nil
}

// NodePoolUpsert applies a NodePoolUpsertRequestType entry: it creates or
// replaces node pools at index. The built-in pools cannot be written.
func (s *Store) NodePoolUpsert(index uint64, req *structs.NodePoolUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert node pools at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, p := range req.NodePools {
			if err := p.Validate(); err != nil {
				return err
			}
			if structs.IsBuiltInNodePool(p.Name) {
				return structs.NewBadRequest("node pool %q is built in and cannot be modified", p.Name)
			}
			if err := upsertNodePoolTxn(txn, index, p.Copy()); err != nil {
				return err
			}
		}
		return nil
	})
}

// upsertNodePoolTxn stores p (owned by the caller) at index, keeping the
// CreateIndex of the pool it replaces.
func upsertNodePoolTxn(txn *memdb.Txn, index uint64, p *structs.NodePool) error {
	raw, err := first(txn, nil, tableNodePools, indexID, p.Name)
	if err != nil {
		return err
	}
	p.CreateIndex, p.ModifyIndex = index, index
	if existing, ok := raw.(*structs.NodePool); ok {
		p.CreateIndex = existing.CreateIndex
	}
	if p.Meta == nil {
		p.Meta = map[string]string{}
	}
	if err := txn.Insert(tableNodePools, p); err != nil {
		return fmt.Errorf("state: insert node pool %q: %w", p.Name, err)
	}
	return setIndex(txn, tableNodePools, index)
}

// ensureNodePoolTxn creates the pool a registering node names when it does
// not exist yet (as Nomad does); built-in pools always exist.
func ensureNodePoolTxn(txn *memdb.Txn, index uint64, name string) error {
	if name == "" || structs.IsBuiltInNodePool(name) {
		return nil
	}
	p, err := nodePoolTxn(txn, nil, name)
	if err != nil || p != nil {
		return err
	}
	return upsertNodePoolTxn(txn, index, &structs.NodePool{Name: name})
}

// NodePoolDelete applies a NodePoolDeleteRequestType entry: it removes node
// pools by name. Built-in pools, pools that still hold nodes and pools of
// jobs that are not dead cannot be deleted; all must exist, or nothing
// is deleted.
func (s *Store) NodePoolDelete(index uint64, req *structs.NodePoolDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete node pools at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var missing []string
		for _, name := range req.Names {
			if structs.IsBuiltInNodePool(name) {
				return structs.NewBadRequest("node pool %q is built in and cannot be deleted", name)
			}
			raw, err := first(txn, nil, tableNodePools, indexID, name)
			if err != nil {
				return err
			}
			if raw == nil {
				missing = append(missing, name)
				continue
			}
			if err := nodePoolInUseTxn(txn, name); err != nil {
				return err
			}
			if err := txn.Delete(tableNodePools, raw); err != nil {
				return fmt.Errorf("state: delete node pool %q: %w", name, err)
			}
		}
		if len(missing) > 0 {
			return structs.NewNotFound("node pool not found: %s (list them with node pool list)", strings.Join(missing, ", "))
		}
		return setIndex(txn, tableNodePools, index)
	})
}

// nodePoolInUseTxn is a 409 naming the nodes or the jobs that keep pool
// name from being deleted, nil when none do.
func nodePoolInUseTxn(txn *memdb.Txn, name string) error {
	it, err := get(txn, nil, tableNodes, indexID)
	if err != nil {
		return err
	}
	nodes := collect(it, func(n *structs.Node) bool { return n.NodePool == name })
	if len(nodes) > 0 {
		ids := make([]string, 0, 3)
		for _, n := range nodes[:min(3, len(nodes))] {
			ids = append(ids, structs.ShortID(n.ID))
		}
		return structs.NewConflict("node pool %q still has %d node(s) (%s): move them to another pool (client node_pool) or purge them (PUT /v1/node/:id/purge) first",
			name, len(nodes), strings.Join(ids, ", "))
	}
	it, err = get(txn, nil, tableJobs, indexID)
	if err != nil {
		return err
	}
	jobs := collect(it, func(j *structs.Job) bool { return j.NodePool == name && j.Status != structs.JobStatusDead })
	if len(jobs) > 0 {
		ids := make([]string, 0, 3)
		for _, j := range jobs[:min(3, len(jobs))] {
			ids = append(ids, fmt.Sprintf("%q in namespace %q", j.ID, j.Namespace))
		}
		return structs.NewConflict("node pool %q still has %d job(s) that are not dead (%s): stop them (DELETE /v1/job/:id) and wait until they are dead, or move them to another node_pool first",
			name, len(jobs), strings.Join(ids, ", "))
	}
	return nil
}
