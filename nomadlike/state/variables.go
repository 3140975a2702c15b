package state

import (
	"errors"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Variables returns the variables of namespace ("*": all) whose paths start
// with prefix, by namespace and path. Their items stay encrypted.
func (s *reader) Variables(ws memdb.WatchSet, namespace, prefix string) ([]*structs.VariableEncrypted, error) {
	txn := s.readTxn()
	var (
		it  memdb.ResultIterator
		err error
	)
	if namespace == "*" {
		it, err = get(txn, ws, tableVariables, indexID)
	} else {
		it, err = get(txn, ws, tableVariables, indexID+"_prefix", namespace, prefix)
	}
	if err != nil {
		return nil, err
	}
	keep := func(v *structs.VariableEncrypted) bool {
		return len(v.Path) >= len(prefix) && v.Path[:len(prefix)] == prefix
	}
	return collect(it, keep), nil
}

// VariablesByKeyID returns the variables encrypted with root key keyID.
func (s *reader) VariablesByKeyID(ws memdb.WatchSet, keyID string) ([]*structs.VariableEncrypted, error) {
	it, err := get(s.readTxn(), ws, tableVariables, indexKeyID, keyID)
	if err != nil {
		return nil, err
	}
	return collect[*structs.VariableEncrypted](it, nil), nil
}

// VariableByPath returns one variable or nil.
func (s *reader) VariableByPath(ws memdb.WatchSet, namespace, path string) (*structs.VariableEncrypted, error) {
	return variableTxn(s.readTxn(), ws, namespace, path)
}

func variableTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, path string) (*structs.VariableEncrypted, error) {
	raw, err := first(txn, ws, tableVariables, indexID, namespace, path)
	if err != nil {
		return nil, err
	}
	v, _ := raw.(*structs.VariableEncrypted)
	return v, nil
}

func conflict(v *structs.VariableEncrypted, reason string, args ...any) error {
	return &structs.ErrVariableConflict{Namespace: v.Namespace, Path: v.Path, Reason: fmt.Sprintf(reason, args...)}
}

// VariableApply applies a VariableApplyRequestType entry: one set, delete,
// lock acquire or lock release of one variable, refused with
// *structs.ErrVariableConflict when the check-and-set index or a lock held
// by someone else forbids it. The items arrive encrypted.
func (s *Store) VariableApply(index uint64, req *structs.VariableApplyRequest) (Result, error) {
	if req == nil || req.Var == nil {
		return Result{}, structs.NewBadRequest("state: variable write at index %d: no variable", index)
	}
	in := req.Var
	return s.write(index, func(txn *memdb.Txn) error {
		ns, err := namespaceTxn(txn, nil, in.Namespace)
		if err != nil {
			return err
		}
		if ns == nil {
			return structs.NewBadRequest("namespace %q does not exist: create it first (POST /v1/namespace/%s)", in.Namespace, in.Namespace)
		}
		cur, err := variableTxn(txn, nil, in.Namespace, in.Path)
		if err != nil {
			return err
		}
		if req.CAS != nil {
			switch {
			case *req.CAS == 0 && cur != nil:
				return conflict(cur, "check-and-set index 0 means it must not exist, but it does (modify index %d)", cur.ModifyIndex)
			case *req.CAS != 0 && (cur == nil || cur.ModifyIndex != *req.CAS):
				have := uint64(0)
				if cur != nil {
					have = cur.ModifyIndex
				}
				return conflict(in, "check-and-set index %d does not match the modify index %d", *req.CAS, have)
			}
		}
		heldByOther := cur != nil && cur.Lock != nil && cur.Lock.ID != req.LockID
		switch req.Op {
		case structs.VarOpSet:
			if heldByOther {
				return conflict(cur, "it is locked; writes must give the holder's lock ID")
			}
			var lock *structs.VariableLock
			if cur != nil {
				lock = cur.Lock
			}
			return putVariable(txn, index, cur, in, lock)
		case structs.VarOpDelete:
			if cur == nil {
				return nil // deleting nothing succeeds, as Nomad's
			}
			if heldByOther {
				return conflict(cur, "it is locked; release the lock first")
			}
			if err := txn.Delete(tableVariables, cur); err != nil {
				return fmt.Errorf("state: delete variable %q: %w", in.Path, err)
			}
			return setIndex(txn, tableVariables, index)
		case structs.VarOpLockAcquire:
			if cur != nil && cur.Lock != nil {
				return conflict(cur, "its lock is held")
			}
			if in.Lock == nil || in.Lock.ID == "" {
				return structs.NewBadRequest("state: lock acquire of %q at index %d has no lock ID", in.Path, index)
			}
			if cur != nil && len(in.Data) == 0 {
				in = &structs.VariableEncrypted{VariableMetadata: in.VariableMetadata, KeyID: cur.KeyID, Nonce: cur.Nonce, Data: cur.Data}
			}
			return putVariable(txn, index, cur, in, in.Lock)
		case structs.VarOpLockRelease:
			if cur == nil || cur.Lock == nil {
				return conflictOrMissing(cur, in, "it holds no lock")
			}
			if !req.ForceRelease && cur.Lock.ID != req.LockID {
				return conflict(cur, "the lock is held by another lock ID")
			}
			n := cur.Copy()
			n.Lock = nil
			n.ModifyIndex, n.ModifyTime = index, in.ModifyTime
			if err := txn.Insert(tableVariables, n); err != nil {
				return fmt.Errorf("state: release lock of %q: %w", in.Path, err)
			}
			return setIndex(txn, tableVariables, index)
		}
		return structs.NewBadRequest("state: variable write at index %d: unknown operation %q", index, req.Op)
	})
}

func conflictOrMissing(cur, in *structs.VariableEncrypted, reason string) error {
	if cur == nil {
		return conflict(in, "it does not exist")
	}
	return conflict(cur, "%s", reason)
}

// putVariable stores in (encrypted) with lock, keeping cur's creation.
func putVariable(txn *memdb.Txn, index uint64, cur, in *structs.VariableEncrypted, lock *structs.VariableLock) error {
	if len(in.Data) == 0 || in.KeyID == "" {
		return errors.New("state: a variable must arrive encrypted (KeyID and Data set)")
	}
	n := in.Copy()
	n.Lock = lock.Copy()
	n.CreateIndex, n.ModifyIndex = index, index
	if cur != nil {
		n.CreateIndex, n.CreateTime = cur.CreateIndex, cur.CreateTime
	}
	if err := txn.Insert(tableVariables, n); err != nil {
		return fmt.Errorf("state: insert variable %q: %w", n.Path, err)
	}
	return setIndex(txn, tableVariables, index)
}

// VariablesRekey applies a VariablesRekeyRequestType entry: each variable
// given replaces the stored one with the same namespace, path and modify
// index (re-encrypted with another key, same items); a variable changed
// since it was read is skipped (its writer used the active key already).
func (s *Store) VariablesRekey(index uint64, req *structs.VariablesRekeyRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: rekey variables at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, v := range req.Vars {
			if v == nil || len(v.Data) == 0 || v.KeyID == "" {
				return structs.NewBadRequest("state: rekey variables at index %d: a variable is not encrypted", index)
			}
			cur, err := variableTxn(txn, nil, v.Namespace, v.Path)
			if err != nil {
				return err
			}
			if cur == nil || cur.ModifyIndex != v.ModifyIndex {
				continue
			}
			n := cur.Copy()
			n.KeyID, n.Nonce, n.Data = v.KeyID, v.Nonce, v.Data
			if err := txn.Insert(tableVariables, n); err != nil {
				return fmt.Errorf("state: rekey variable %q: %w", v.Path, err)
			}
		}
		return setIndex(txn, tableVariables, index)
	})
}
