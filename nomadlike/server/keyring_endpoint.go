package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// keyringInterval is how often the leader checks the keyring: a first key,
// wrapped copies for new servers, a full rotation's progress, lock expiry.
const keyringInterval = 2 * time.Second

// rekeyBatch is how many variables one rekey entry re-encrypts.
const rekeyBatch = 64

// kekPublicKeys returns the KEK public keys of this server and of every
// server of the region in the serf pool, by KEK ID.
func (s *Server) kekPublicKeys() map[string][]byte {
	out := map[string][]byte{}
	own := s.keystore.publicKey()
	out[kekID(own)] = own
	if s.serf == nil {
		return out
	}
	for _, m := range s.serf.Members() {
		sm, ok := parseServer(m)
		if !ok || sm.region != s.cfg.Region {
			continue
		}
		pub, err := decodeKEKTag(m.Tags[tagKEK])
		if err != nil || pub == nil {
			continue
		}
		out[kekID(pub)] = pub
	}
	return out
}

// newRootKey makes a root key with fresh material, wrapped for pubs.
func newRootKey(pubs map[string][]byte, now time.Time) (*structs.RootKey, error) {
	raw := make([]byte, rootKeyMaterialLen)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	defer clear(raw)
	k := &structs.RootKey{KeyID: structs.GenerateUUID(), Algorithm: structs.EncryptionAlgorithmAES256GCM,
		CreateTime: now.UnixNano(), State: structs.RootKeyStateActive}
	for _, pub := range sortedPubs(pubs) {
		w, err := wrapKey(pub, raw)
		if err != nil {
			return nil, err
		}
		k.WrappedKeys = append(k.WrappedKeys, w)
	}
	return k, nil
}

// ListRootKeys returns the keyring's keys (metadata only) and the index.
func (s *Server) ListRootKeys() ([]*structs.RootKeyMeta, uint64, error) {
	keys, err := s.state.RootKeys(nil)
	if err != nil {
		return nil, 0, err
	}
	idx, err := s.state.Index("root_keys")
	if err != nil {
		return nil, 0, err
	}
	out := make([]*structs.RootKeyMeta, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Meta())
	}
	return out, idx, nil
}

// RotateRootKey makes a new active key and the active one inactive, in one
// entry. full also re-encrypts every variable of the older keys in the
// background (the leader's keyring pass); they are "rekeying" meanwhile
// and "deprecated" once empty.
func (s *Server) RotateRootKey(ctx context.Context, full bool) (*structs.RootKeyMeta, uint64, error) {
	if !s.IsLeader() {
		return nil, 0, s.notLeaderError()
	}
	keys, err := s.state.RootKeys(nil)
	if err != nil {
		return nil, 0, err
	}
	k, err := newRootKey(s.kekPublicKeys(), time.Now())
	if err != nil {
		return nil, 0, err
	}
	req := &structs.KeyringUpsertRequest{Keys: []*structs.RootKey{k}}
	for _, old := range keys {
		next := old.State
		switch {
		case old.Active():
			next = structs.RootKeyStateInactive
			if full {
				next = structs.RootKeyStateRekeying
			}
		case full && old.State == structs.RootKeyStateInactive:
			next = structs.RootKeyStateRekeying
		}
		if next != old.State {
			c := old.Copy()
			c.State = next
			req.Keys = append(req.Keys, c)
		}
	}
	index, err := s.raftApply(ctx, structs.KeyringUpsertRequestType, req)
	if err != nil {
		return nil, 0, err
	}
	meta := k.Meta()
	meta.CreateIndex, meta.ModifyIndex = index, index
	return meta, index, nil
}

// RemoveRootKey removes an inactive key that encrypts no variable. Unless
// force, a key is also kept while an allocation created since the key was
// made still runs: its tasks' workload identities may be signed with it
// (identities carry no record of their key, so this errs on keeping).
func (s *Server) RemoveRootKey(ctx context.Context, id string, force bool) (uint64, error) {
	if !force {
		k, err := s.state.RootKeyByID(nil, id)
		if err != nil {
			return 0, err
		}
		if k != nil && !k.Active() {
			allocs, err := s.state.Allocs(nil, "*")
			if err != nil {
				return 0, err
			}
			for _, a := range allocs {
				if !a.ClientTerminalStatus() && a.CreateTime >= k.CreateTime {
					return 0, structs.NewBadRequest("root key %s may have signed the workload identities of allocation %s (job %q), which still runs: remove the key once the allocations created since %s are replaced, or pass force=true (their tasks' identities then stop working)",
						id, structs.ShortID(a.ID), a.JobID, time.Unix(0, k.CreateTime).UTC().Format(time.RFC3339))
				}
			}
		}
	}
	index, err := s.raftApply(ctx, structs.KeyringDeleteRequestType, &structs.KeyringDeleteRequest{KeyIDs: []string{id}})
	if err == nil {
		s.enc.forget(id)
	}
	return index, err
}

// runKeyring is the leader's keyring duty (see keyringPass).
func (s *Server) runKeyring(ctx context.Context) {
	t := time.NewTicker(keyringInterval)
	defer t.Stop()
	for {
		if err := s.keyringPass(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("keyring upkeep failed; retrying", "error", err, "retry_in", keyringInterval)
		}
		s.expireVariableLocks(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keyringPass makes the first root key, wraps every key for servers that
// have no copy yet, and moves a full rotation on by one batch.
func (s *Server) keyringPass(ctx context.Context) error {
	keys, err := s.state.RootKeys(nil)
	if err != nil {
		return err
	}
	pubs := s.kekPublicKeys()
	var active *structs.RootKey
	for _, k := range keys {
		if k.Active() {
			active = k
		}
	}
	if active == nil {
		k, err := newRootKey(pubs, time.Now())
		if err != nil {
			return err
		}
		if _, err := s.raftApply(ctx, structs.KeyringUpsertRequestType, &structs.KeyringUpsertRequest{Keys: []*structs.RootKey{k}}); err != nil {
			return fmt.Errorf("create the first root key: %w", err)
		}
		s.logger.Info("created the cluster's root key", "key_id", k.KeyID, "servers", len(pubs))
		return nil
	}
	var rewrapped []*structs.RootKey
	for _, k := range keys {
		var missing [][]byte
		for _, pub := range sortedPubs(pubs) {
			if k.WrappedFor(kekID(pub)) == nil {
				missing = append(missing, pub)
			}
		}
		if len(missing) == 0 {
			continue
		}
		raw, err := s.keystore.unwrap(k)
		if err != nil {
			return err
		}
		c := k.Copy()
		for _, pub := range missing {
			w, err := wrapKey(pub, raw)
			if err != nil {
				clear(raw)
				return err
			}
			c.WrappedKeys = append(c.WrappedKeys, w)
		}
		clear(raw)
		rewrapped = append(rewrapped, c)
	}
	if len(rewrapped) > 0 {
		if _, err := s.raftApply(ctx, structs.KeyringUpsertRequestType, &structs.KeyringUpsertRequest{Keys: rewrapped}); err != nil {
			return fmt.Errorf("wrap root keys for new servers: %w", err)
		}
		s.logger.Info("wrapped root keys for new servers", "keys", len(rewrapped))
	}
	return s.rekeyPass(ctx, keys, active)
}

// rekeyPass re-encrypts one batch of the variables of each rekeying key
// with the active key, and deprecates a rekeying key left without any.
func (s *Server) rekeyPass(ctx context.Context, keys []*structs.RootKey, active *structs.RootKey) error {
	m, err := s.enc.key(active.KeyID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.State != structs.RootKeyStateRekeying {
			continue
		}
		vars, err := s.state.VariablesByKeyID(nil, k.KeyID)
		if err != nil {
			return err
		}
		if len(vars) == 0 {
			c := k.Copy()
			c.State = structs.RootKeyStateDeprecated
			if _, err := s.raftApply(ctx, structs.KeyringUpsertRequestType, &structs.KeyringUpsertRequest{Keys: []*structs.RootKey{c}}); err != nil {
				return err
			}
			s.logger.Info("full rotation done: root key re-encrypts nothing anymore", "key_id", k.KeyID)
			continue
		}
		req := &structs.VariablesRekeyRequest{}
		for _, v := range vars[:min(len(vars), rekeyBatch)] {
			plain, err := s.enc.decryptVariable(v)
			if err != nil {
				return err
			}
			enc, err := m.encrypt(plain)
			if err != nil {
				return err
			}
			req.Vars = append(req.Vars, enc)
		}
		if _, err := s.raftApply(ctx, structs.VariablesRekeyRequestType, req); err != nil {
			return err
		}
	}
	return nil
}
