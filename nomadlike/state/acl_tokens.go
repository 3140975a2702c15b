package state

import (
	"fmt"
	"net/http"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func hashOf(obj any) ([]byte, bool) {
	t, ok := obj.(*structs.ACLToken)
	if !ok {
		return nil, false
	}
	return t.Hash, true
}

// ACLTokens returns the tokens whose accessor IDs start with prefix.
func (s *reader) ACLTokens(ws memdb.WatchSet, prefix string) ([]*structs.ACLToken, error) {
	it, err := get(s.readTxn(), ws, tableACLTokens, indexID+"_prefix", prefix)
	if err != nil {
		return nil, err
	}
	return collect[*structs.ACLToken](it, nil), nil
}

// ACLTokenByAccessorID returns one token or nil.
func (s *reader) ACLTokenByAccessorID(ws memdb.WatchSet, id string) (*structs.ACLToken, error) {
	return aclTokenTxn(s.readTxn(), ws, id)
}

func aclTokenTxn(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.ACLToken, error) {
	raw, err := first(txn, ws, tableACLTokens, indexID, id)
	if err != nil {
		return nil, err
	}
	t, _ := raw.(*structs.ACLToken)
	return t, nil
}

// ACLTokenBySecret returns the token whose secret is secret, or nil. The
// store holds only hashes: the lookup is by hash, confirmed by a
// constant-time comparison.
func (s *reader) ACLTokenBySecret(ws memdb.WatchSet, secret string) (*structs.ACLToken, error) {
	if secret == "" {
		return nil, nil
	}
	raw, err := first(s.readTxn(), ws, tableACLTokens, indexSecretHash, structs.HashSecret(secret))
	if err != nil {
		return nil, err
	}
	t, _ := raw.(*structs.ACLToken)
	if t == nil || !t.MatchesSecret(secret) {
		return nil, nil
	}
	return t, nil
}

// ACLBootstrapIndex returns the Raft index of the last ACL bootstrap, 0 if none.
func (s *reader) ACLBootstrapIndex() (uint64, error) {
	return tableIndexOf(s.readTxn(), nil, indexACLBootstrap)
}

func upsertTokenTxn(txn *memdb.Txn, index uint64, t *structs.ACLToken) error {
	if t == nil || t.AccessorID == "" {
		return structs.NewBadRequest("state: upsert ACL token at index %d: a token has no AccessorID", index)
	}
	existing, err := aclTokenTxn(txn, nil, t.AccessorID)
	if err != nil {
		return err
	}
	n := t.Copy()
	n.SecretID = ""
	n.CreateIndex, n.ModifyIndex = index, index
	if existing != nil {
		n.CreateIndex = existing.CreateIndex
		if len(n.Hash) == 0 {
			n.Hash = existing.Hash
		}
	}
	if len(n.Hash) == 0 {
		return structs.NewBadRequest("state: upsert ACL token %s at index %d: the token has no secret hash", n.AccessorID, index)
	}
	if err := txn.Insert(tableACLTokens, n); err != nil {
		return fmt.Errorf("state: insert ACL token %s: %w", n.AccessorID, err)
	}
	return nil
}

// ACLTokenUpsert applies an ACLTokenUpsertRequestType entry: it stores
// tokens at index. Tokens carry the hash of their secret; an update without
// one keeps the stored hash.
func (s *Store) ACLTokenUpsert(index uint64, req *structs.ACLTokenUpsertRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: upsert ACL tokens at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		for _, t := range req.Tokens {
			if err := upsertTokenTxn(txn, index, t); err != nil {
				return err
			}
		}
		return setIndex(txn, tableACLTokens, index)
	})
}

// ACLTokenDelete applies an ACLTokenDeleteRequestType entry: it removes
// tokens by accessor ID; all must exist, or nothing is deleted.
func (s *Store) ACLTokenDelete(index uint64, req *structs.ACLTokenDeleteRequest) (Result, error) {
	if req == nil {
		return Result{}, structs.NewBadRequest("state: delete ACL tokens at index %d: request is nil", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		var missing []string
		for _, id := range req.AccessorIDs {
			existing, err := aclTokenTxn(txn, nil, id)
			if err != nil {
				return err
			}
			if existing == nil {
				missing = append(missing, id)
				continue
			}
			if err := txn.Delete(tableACLTokens, existing); err != nil {
				return fmt.Errorf("state: delete ACL token %s: %w", id, err)
			}
		}
		if len(missing) > 0 {
			return structs.NewNotFound("ACL token not found: %s", strings.Join(missing, ", "))
		}
		return setIndex(txn, tableACLTokens, index)
	})
}

// ErrACLBootstrapDone returns Nomad's refusal of a second bootstrap, with
// the reset index an operator writes to the reset file to allow one more.
func ErrACLBootstrapDone(resetIndex uint64) error {
	return &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("ACL bootstrap already done (reset index: %d)", resetIndex), Err: structs.ErrPermissionDenied}
}

// ACLTokenBootstrap applies an ACLTokenBootstrapRequestType entry: it
// stores the bootstrap management token. It is refused when a bootstrap was
// done, unless req.ResetIndex equals that bootstrap's index (the reset
// procedure).
func (s *Store) ACLTokenBootstrap(index uint64, req *structs.ACLTokenBootstrapRequest) (Result, error) {
	if req == nil || req.Token == nil || req.Token.Type != structs.ACLManagementToken {
		return Result{}, structs.NewBadRequest("state: ACL bootstrap at index %d needs a management token", index)
	}
	return s.write(index, func(txn *memdb.Txn) error {
		done, err := tableIndexOf(txn, nil, indexACLBootstrap)
		if err != nil {
			return err
		}
		if done != 0 && done != req.ResetIndex {
			return ErrACLBootstrapDone(done)
		}
		if err := upsertTokenTxn(txn, index, req.Token); err != nil {
			return err
		}
		if err := setIndex(txn, tableACLTokens, index); err != nil {
			return err
		}
		return setIndex(txn, indexACLBootstrap, index)
	})
}
