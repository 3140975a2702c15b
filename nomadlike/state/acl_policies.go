package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ACLPolicies returns the policies whose names start with prefix, by name.
func (s *reader) ACLPolicies(ws memdb.WatchSet, prefix string) ([]*structs.ACLPolicy, error) {
	it, err := get(s.readTxn(), ws, tableACLPolicies, indexID+"_prefix", prefix)
	if err != nil {
		return nil, err
	}
	return collect[*structs.ACLPolicy](it, nil), nil
}

// ACLPolicyByName returns one policy or nil.
func (s *reader) ACLPolicyByName(ws memdb.WatchSet, name string) (*structs.ACLPolicy, error) {
	return aclPolicyTxn(s.readTxn(), ws, name)
}

func aclPolicyTxn(txn *memdb.Txn, ws memdb.WatchSet, name string) (*structs.ACLPolicy, error) {
	raw, err := first(txn, ws, tableACLPolicies, indexID, name)
	if err != nil {
		return nil, err
	}
	p, _ := raw.(*structs.ACLPolicy)
	return p, nil
}

// ACLPolicyUpsert applies an ACLPolicyUpsertRequestType entry: it stores
// policies at index.
func (s *Store) ACLPolicyUpsert(index uint64, req *structs.ACLPolicyUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert ACL policies at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, p := range req.Policies {
			if p == nil || p.Name == "" {
				return structs.NewBadRequest("state: upsert ACL policy at index %d: a policy has no name", index)
			}
			existing, err := aclPolicyTxn(txn, nil, p.Name)
			if err != nil {
				return err
			}
			n := p.Copy()
			n.CreateIndex, n.ModifyIndex = index, index
			if existing != nil {
				n.CreateIndex = existing.CreateIndex
			}
			if err := txn.Insert(tableACLPolicies, n); err != nil {
				return fmt.Errorf("state: insert ACL policy %q: %w", n.Name, err)
			}
		}
		return setIndex(txn, tableACLPolicies, index)
	})
}

// ACLPolicyDelete applies an ACLPolicyDeleteRequestType entry: it removes
// policies by name; all must exist, or nothing is deleted.
func (s *Store) ACLPolicyDelete(index uint64, req *structs.ACLPolicyDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete ACL policies at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var missing []string
		for _, name := range req.Names {
			existing, err := aclPolicyTxn(txn, nil, name)
			if err != nil {
				return err
			}
			if existing == nil {
				missing = append(missing, name)
				continue
			}
			if err := txn.Delete(tableACLPolicies, existing); err != nil {
				return fmt.Errorf("state: delete ACL policy %q: %w", name, err)
			}
		}
		if len(missing) > 0 {
			return structs.NewNotFound("ACL policy not found: %s", strings.Join(missing, ", "))
		}
		return setIndex(txn, tableACLPolicies, index)
	})
}
