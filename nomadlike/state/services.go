package state

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tableServiceRegistrations holds the services registered by allocations
// with Nomad's built-in service discovery, indexed by {Namespace, ID}, by
// {Namespace, ServiceName}, by allocation and by node.
const tableServiceRegistrations = "service_registrations"

const (
	indexServiceName = "service_name"
	indexAllocID     = "alloc_id"
)

func serviceRegistrationsTableSchema() *memdb.TableSchema {
	return tableSchema(tableServiceRegistrations,
		namespaceIDIndex(indexID, "ID", true, false),
		namespaceIDIndex(indexServiceName, "ServiceName", false, false),
		stringIndex(indexAllocID, "AllocID", false, false),
		stringIndex(indexNode, "NodeID", false, false),
	)
}

// byServiceOrder orders registrations by service name, then ID.
func byServiceOrder(a, b *structs.ServiceRegistration) int {
	if c := cmp.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.ServiceName, b.ServiceName); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

func sortedRegistrations(it memdb.ResultIterator, keep func(*structs.ServiceRegistration) bool) []*structs.ServiceRegistration {
	out := collect(it, keep)
	slices.SortFunc(out, byServiceOrder)
	return out
}

// ServiceRegistrations returns the registrations of namespace ("*" or ""
// for every namespace), ordered by namespace, service name and ID.
func (s *reader) ServiceRegistrations(ws memdb.WatchSet, namespace string) ([]*structs.ServiceRegistration, error) {
	it, err := get(s.readTxn(), ws, tableServiceRegistrations, indexID)
	if err != nil {
		return nil, err
	}
	return sortedRegistrations(it, func(r *structs.ServiceRegistration) bool {
		return allNamespaces(namespace) || r.Namespace == namespace
	}), nil
}

// ServiceRegistrationsByName returns the registrations of one service in a
// namespace ("" is the default one), ordered by ID.
func (s *reader) ServiceRegistrationsByName(ws memdb.WatchSet, namespace, name string) ([]*structs.ServiceRegistration, error) {
	it, err := get(s.readTxn(), ws, tableServiceRegistrations, indexServiceName, objectNamespace(namespace), name)
	if err != nil {
		return nil, err
	}
	return sortedRegistrations(it, nil), nil
}

// ServiceRegistrationByID returns one registration or nil.
func (s *reader) ServiceRegistrationByID(ws memdb.WatchSet, namespace, id string) (*structs.ServiceRegistration, error) {
	return serviceRegistrationTxn(s.readTxn(), ws, namespace, id)
}

func serviceRegistrationTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, id string) (*structs.ServiceRegistration, error) {
	raw, err := first(txn, ws, tableServiceRegistrations, indexID, objectNamespace(namespace), id)
	if err != nil {
		return nil, err
	}
	r, _ := raw.(*structs.ServiceRegistration)
	return r, nil
}

// ServiceRegistrationsByAlloc returns the registrations of an allocation.
func (s *reader) ServiceRegistrationsByAlloc(ws memdb.WatchSet, allocID string) ([]*structs.ServiceRegistration, error) {
	it, err := get(s.readTxn(), ws, tableServiceRegistrations, indexAllocID, allocID)
	if err != nil {
		return nil, err
	}
	return sortedRegistrations(it, nil), nil
}

// ServiceRegistrationsByNode returns the registrations of a node's allocations.
func (s *reader) ServiceRegistrationsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.ServiceRegistration, error) {
	it, err := get(s.readTxn(), ws, tableServiceRegistrations, indexNode, nodeID)
	if err != nil {
		return nil, err
	}
	return sortedRegistrations(it, nil), nil
}

// UpsertServiceRegistrations stores registrations at index, as ServiceRegistrationUpsert.
func (s *Store) UpsertServiceRegistrations(index uint64, regs []*structs.ServiceRegistration) error {
	_, err := s.ServiceRegistrationUpsert(index, &structs.ServiceRegistrationUpsertRequest{Services: regs})
	return err
}

// ServiceRegistrationUpsert applies a ServiceRegistrationUpsertRequestType
// entry: it stores registrations at index. A registration equal to the
// stored one is left alone (its watchers do not wake); a new one gets
// CreateIndex = index.
func (s *Store) ServiceRegistrationUpsert(index uint64, req *structs.ServiceRegistrationUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert service registrations at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		changed := false
		for _, r := range req.Services {
			if r == nil {
				continue
			}
			if r.ID == "" || r.ServiceName == "" {
				return structs.NewBadRequest("state: upsert service registration at index %d: registration %q of service %q needs an ID and a ServiceName", index, r.ID, r.ServiceName)
			}
			n := r.Copy()
			n.Namespace = objectNamespace(n.Namespace)
			existing, err := serviceRegistrationTxn(txn, nil, n.Namespace, n.ID)
			if err != nil {
				return err
			}
			if existing != nil && existing.Equal(n) {
				continue
			}
			n.CreateIndex = index
			if existing != nil {
				n.CreateIndex = existing.CreateIndex
			}
			n.ModifyIndex = index
			if err := txn.Insert(tableServiceRegistrations, n); err != nil {
				return fmt.Errorf("state: insert service registration %q: %w", n.ID, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
		return setIndex(txn, tableServiceRegistrations, index)
	})
}

// DeleteServiceRegistrations removes registrations, as ServiceRegistrationDelete.
func (s *Store) DeleteServiceRegistrations(index uint64, req *structs.ServiceRegistrationDeleteRequest) error {
	_, err := s.ServiceRegistrationDelete(index, req)
	return err
}

// ServiceRegistrationDelete applies a ServiceRegistrationDeleteRequestType
// entry: it removes the registrations req names (by ID in its namespace, by
// allocation, by node). Unknown ones are skipped, so a race with another
// delete never fails an entry.
func (s *Store) ServiceRegistrationDelete(index uint64, req *structs.ServiceRegistrationDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete service registrations at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var victims []*structs.ServiceRegistration
		for _, id := range req.IDs {
			r, err := serviceRegistrationTxn(txn, nil, req.Namespace, id)
			if err != nil {
				return err
			}
			if r != nil {
				victims = append(victims, r)
			}
		}
		for _, allocID := range req.AllocIDs {
			it, err := get(txn, nil, tableServiceRegistrations, indexAllocID, allocID)
			if err != nil {
				return err
			}
			victims = append(victims, collect[*structs.ServiceRegistration](it, nil)...)
		}
		if req.NodeID != "" {
			it, err := get(txn, nil, tableServiceRegistrations, indexNode, req.NodeID)
			if err != nil {
				return err
			}
			victims = append(victims, collect[*structs.ServiceRegistration](it, nil)...)
		}
		deleted := 0
		for _, r := range victims {
			if err := txn.Delete(tableServiceRegistrations, r); err != nil {
				if err == memdb.ErrNotFound { // named twice
					continue
				}
				return fmt.Errorf("state: delete service registration %q: %w", r.ID, err)
			}
			deleted++
		}
		if deleted == 0 {
			return nil
		}
		return setIndex(txn, tableServiceRegistrations, index)
	})
}
