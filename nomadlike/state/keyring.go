package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Keyring and variables tables.
const (
	tableRootKeys  = "root_keys"
	tableVariables = "variables"
	indexKeyID     = "keyid"
)

func keyringTableSchemas() []*memdb.TableSchema {
	return []*memdb.TableSchema{
		tableSchema(tableRootKeys, stringIndex(indexID, "KeyID", true, false)),
		tableSchema(tableVariables,
			namespaceIDIndex(indexID, "Path", true, false),
			stringIndex(indexKeyID, "KeyID", false, false),
		),
	}
}

// RootKeys returns every root key, by ID.
func (s *reader) RootKeys(ws memdb.WatchSet) ([]*structs.RootKey, error) {
	it, err := get(s.readTxn(), ws, tableRootKeys, indexID)
	if err != nil {
		return nil, err
	}
	return collect[*structs.RootKey](it, nil), nil
}

// RootKeyByID returns one root key or nil.
func (s *reader) RootKeyByID(ws memdb.WatchSet, id string) (*structs.RootKey, error) {
	return rootKeyTxn(s.readTxn(), ws, id)
}

// ActiveRootKey returns the active root key, nil before the leader made one.
func (s *reader) ActiveRootKey(ws memdb.WatchSet) (*structs.RootKey, error) {
	keys, err := s.RootKeys(ws)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Active() {
			return k, nil
		}
	}
	return nil, nil
}

func rootKeyTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.RootKey, error) {
	raw, err := first(txn, ws, tableRootKeys, indexID, id)
	if err != nil {
		return nil, err
	}
	k, _ := raw.(*structs.RootKey)
	return k, nil
}

// KeyringUpsert applies a KeyringUpsertRequestType entry: it stores root
// keys at index. Afterwards at most one key may be active.
func (s *Store) KeyringUpsert(index uint64, req *structs.KeyringUpsertRequest) (Result, error) {
	if req == nil || len(req.Keys) == 0 {
		return Result{}, structs.NewBadRequest("state: upsert root keys at index %d: no key given", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, k := range req.Keys {
			if k == nil || k.KeyID == "" {
				return structs.NewBadRequest("state: upsert root key at index %d: a key has no ID", index)
			}
			existing, err := rootKeyTxn(txn, nil, k.KeyID)
			if err != nil {
				return err
			}
			n := k.Copy()
			n.CreateIndex, n.ModifyIndex = index, index
			if existing != nil {
				n.CreateIndex = existing.CreateIndex
			}
			if err := txn.Insert(tableRootKeys, n); err != nil {
				return fmt.Errorf("state: insert root key %q: %w", n.KeyID, err)
			}
		}
		it, err := txn.Get(tableRootKeys, indexID)
		if err != nil {
			return fmt.Errorf("state: list root keys: %w", err)
		}
		var active []string
		for _, k := range collect[*structs.RootKey](it, (*structs.RootKey).Active) {
			active = append(active, k.KeyID)
		}
		if len(active) > 1 {
			return structs.NewBadRequest("state: upsert root keys at index %d would leave %d active keys (%s); a rotation makes the old key inactive in the same entry", index, len(active), strings.Join(active, ", "))
		}
		return setIndex(txn, tableRootKeys, index)
	})
}

// KeyringDelete applies a KeyringDeleteRequestType entry: it removes root
// keys by ID. The active key and keys that still encrypt a variable are
// refused, and nothing is deleted.
func (s *Store) KeyringDelete(index uint64, req *structs.KeyringDeleteRequest) (Result, error) {
	if req == nil || len(req.KeyIDs) == 0 {
		return Result{}, structs.NewBadRequest("state: delete root keys at index %d: no key ID given", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, id := range req.KeyIDs {
			k, err := rootKeyTxn(txn, nil, id)
			if err != nil {
				return err
			}
			if k == nil {
				return structs.NewNotFound("root key %q not found", id)
			}
			if k.Active() {
				return structs.NewBadRequest("root key %s is the active key: rotate first (PUT /v1/operator/keyring/rotate), then remove it", id)
			}
			used, err := txn.First(tableVariables, indexKeyID, id)
			if err != nil {
				return fmt.Errorf("state: variables of key %q: %w", id, err)
			}
			if used != nil {
				v := used.(*structs.VariableEncrypted)
				return structs.NewBadRequest("root key %s still encrypts variables (e.g. %q in namespace %q): rotate with PUT /v1/operator/keyring/rotate?full=true and wait until the key is deprecated, then remove it", id, v.Path, v.Namespace)
			}
			if err := txn.Delete(tableRootKeys, k); err != nil {
				return fmt.Errorf("state: delete root key %q: %w", id, err)
			}
		}
		return setIndex(txn, tableRootKeys, index)
	})
}
