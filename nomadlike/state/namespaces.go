package state

import (
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Namespaces returns every namespace by name; the default namespace is
// always among them (as written, or as it exists before anyone writes it).
func (s *reader) Namespaces(ws memdb.WatchSet) ([]*structs.Namespace, error) {
	it, err := get(s.readTxn(), ws, tableNamespaces, indexID)
	if err != nil {
		return nil, err
	}
	out := collect[*structs.Namespace](it, nil)
	for _, n := range out {
		if n.Name == structs.DefaultNamespace {
			return out, nil
		}
	}
	all := append([]*structs.Namespace{structs.DefaultNamespaceObject()}, out...)
	slices.SortFunc(all, func(a, b *structs.Namespace) int { return strings.Compare(a.Name, b.Name) })
	return all, nil
}

// NamespaceByName returns one namespace or nil ("" is the default one,
// which always exists).
func (s *reader) NamespaceByName(ws memdb.WatchSet, name string) (*structs.Namespace, error) {
	return namespaceTxn(s.readTxn(), ws, objectNamespace(name))
}

func namespaceTxn(txn *memdb.Txn, ws memdb.WatchSet, name string) (*structs.Namespace, error) {
	raw, err := first(txn, ws, tableNamespaces, indexID, name)
	if err != nil {
		return nil, err
	}
	n, _ := raw.(*structs.Namespace)
	if n == nil && name == structs.DefaultNamespace {
		return structs.DefaultNamespaceObject(), nil
	}
	return n, nil
}

// NamespaceUpsert applies a NamespaceUpsertRequestType entry: it stores
// namespaces at index.
func (s *Store) NamespaceUpsert(index uint64, req *structs.NamespaceUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert namespaces at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, ns := range req.Namespaces {
			if err := ns.Validate(); err != nil {
				return err
			}
			raw, err := first(txn, nil, tableNamespaces, indexID, ns.Name)
			if err != nil {
				return err
			}
			n := ns.Copy()
			n.CreateIndex, n.ModifyIndex = index, index
			if existing, ok := raw.(*structs.Namespace); ok {
				n.CreateIndex = existing.CreateIndex
			}
			if err := txn.Insert(tableNamespaces, n); err != nil {
				return fmt.Errorf("state: insert namespace %q: %w", n.Name, err)
			}
		}
		return setIndex(txn, tableNamespaces, index)
	})
}

// NamespaceDelete applies a NamespaceDeleteRequestType entry: it removes
// namespaces by name. The default namespace and namespaces that still hold
// jobs or variables cannot be deleted; all must exist, or nothing is deleted.
func (s *Store) NamespaceDelete(index uint64, req *structs.NamespaceDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete namespaces at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var missing []string
		for _, name := range req.Names {
			if name == structs.DefaultNamespace {
				return structs.NewBadRequest("the default namespace cannot be deleted")
			}
			raw, err := first(txn, nil, tableNamespaces, indexID, name)
			if err != nil {
				return err
			}
			if raw == nil {
				missing = append(missing, name)
				continue
			}
			it, err := get(txn, nil, tableJobs, indexIDPrefix, name, "")
			if err != nil {
				return err
			}
			if jobs := collect[*structs.Job](it, nil); len(jobs) > 0 {
				return structs.NewBadRequest("namespace %q still has %d job(s) (e.g. %q): stop and purge them first (DELETE /v1/job/:id?purge=true)", name, len(jobs), jobs[0].ID)
			}
			if v, err := txn.First(tableVariables, indexID+"_prefix", name, ""); err != nil {
				return fmt.Errorf("state: variables of namespace %q: %w", name, err)
			} else if v != nil {
				return structs.NewBadRequest("namespace %q still has variables (e.g. %q): delete them first (DELETE /v1/var/<path>?namespace=%s)", name, v.(*structs.VariableEncrypted).Path, name)
			}
			if err := txn.Delete(tableNamespaces, raw); err != nil {
				return fmt.Errorf("state: delete namespace %q: %w", name, err)
			}
		}
		if len(missing) > 0 {
			return structs.NewNotFound("namespace not found: %s", strings.Join(missing, ", "))
		}
		return setIndex(txn, tableNamespaces, index)
	})
}
