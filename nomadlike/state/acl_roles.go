package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ACLRoles returns the roles whose names start with prefix, by name.
func (s *reader) ACLRoles(ws memdb.WatchSet, prefix string) ([]*structs.ACLRole, error) {
	it, err := get(s.readTxn(), ws, tableACLRoles, indexName+"_prefix", prefix)
	if err != nil {
		return nil, err
	}
	return collect[*structs.ACLRole](it, nil), nil
}

// ACLRoleByID returns one role or nil.
func (s *reader) ACLRoleByID(ws memdb.WatchSet, id string) (*structs.ACLRole, error) {
	return aclRoleTxn(s.readTxn(), ws, indexID, id)
}

// ACLRoleByName returns one role or nil.
func (s *reader) ACLRoleByName(ws memdb.WatchSet, name string) (*structs.ACLRole, error) {
	return aclRoleTxn(s.readTxn(), ws, indexName, name)
}

func aclRoleTxn(txn *memdb.Txn, ws memdb.WatchSet, index, key string) (*structs.ACLRole, error) {
	raw, err := first(txn, ws, tableACLRoles, index, key)
	if err != nil {
		return nil, err
	}
	r, _ := raw.(*structs.ACLRole)
	return r, nil
}

// ACLRoleUpsert applies an ACLRoleUpsertRequestType entry: it stores roles
// at index. A role's name must be unique and its policies must exist.
func (s *Store) ACLRoleUpsert(index uint64, req *structs.ACLRoleUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert ACL roles at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, r := range req.Roles {
			if err := upsertRoleTxn(txn, index, r); err != nil {
				return err
			}
		}
		return setIndex(txn, tableACLRoles, index)
	})
}

func upsertRoleTxn(txn *memdb.Txn, index uint64, r *structs.ACLRole) error {
	if r == nil || r.ID == "" || r.Name == "" {
		return structs.NewBadRequest("state: upsert ACL role at index %d: a role needs an ID and a name", index)
	}
	if other, err := aclRoleTxn(txn, nil, indexName, r.Name); err != nil {
		return err
	} else if other != nil && other.ID != r.ID {
		return structs.NewBadRequest("ACL role name %q is already used by role %s", r.Name, other.ID)
	}
	for _, name := range r.PolicyNames() {
		if p, err := aclPolicyTxn(txn, nil, name); err != nil {
			return err
		} else if p == nil {
			return structs.NewBadRequest("ACL role %q links policy %q, which does not exist; create it first", r.Name, name)
		}
	}
	existing, err := aclRoleTxn(txn, nil, indexID, r.ID)
	if err != nil {
		return err
	}
	n := r.Copy()
	n.CreateIndex, n.ModifyIndex = index, index
	if existing != nil {
		n.CreateIndex = existing.CreateIndex
		if err := txn.Delete(tableACLRoles, existing); err != nil {
			return fmt.Errorf("state: replace ACL role %s: %w", r.ID, err)
		}
	}
	if err := txn.Insert(tableACLRoles, n); err != nil {
		return fmt.Errorf("state: insert ACL role %q: %w", n.Name, err)
	}
	return nil
}

// ACLRoleDelete applies an ACLRoleDeleteRequestType entry: it removes roles
// by ID; all must exist, or nothing is deleted.
func (s *Store) ACLRoleDelete(index uint64, req *structs.ACLRoleDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete ACL roles at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var missing []string
		for _, id := range req.IDs {
			existing, err := aclRoleTxn(txn, nil, indexID, id)
			if err != nil {
				return err
			}
			if existing == nil {
				missing = append(missing, id)
				continue
			}
			if err := txn.Delete(tableACLRoles, existing); err != nil {
				return fmt.Errorf("state: delete ACL role %s: %w", id, err)
			}
		}
		if len(missing) > 0 {
			return structs.NewNotFound("ACL role not found: %s", strings.Join(missing, ", "))
		}
		return setIndex(txn, tableACLRoles, index)
	})
}
