package structs

import "slices"

// RootKeyState is where a root key is in its lifecycle (Nomad's states).
type RootKeyState string

// Root key states.
const (
	// RootKeyStateActive encrypts new variables and signs new identities;
	// a keyring has exactly one active key.
	RootKeyStateActive RootKeyState = "active"
	// RootKeyStateInactive still decrypts and verifies what it made.
	RootKeyStateInactive RootKeyState = "inactive"
	// RootKeyStateRekeying is an inactive key whose variables a full
	// rotation is re-encrypting with the active key.
	RootKeyStateRekeying RootKeyState = "rekeying"
	// RootKeyStateDeprecated is a key a full rotation has emptied.
	RootKeyStateDeprecated RootKeyState = "deprecated"
)

// EncryptionAlgorithmAES256GCM is the only root key algorithm (Nomad's name).
const EncryptionAlgorithmAES256GCM = "aes256-gcm"

// RootKeyMeta is a root key as the API shows it (Nomad's api.RootKeyMeta):
// never its material.
type RootKeyMeta struct {
	KeyID       string
	Algorithm   string
	CreateTime  int64
	CreateIndex uint64
	ModifyIndex uint64
	State       RootKeyState
	PublishTime int64
}

// RootKey is one key of the keyring as the state store and Raft hold it:
// its metadata and its material wrapped once per key-encryption key (one
// per server). The material (an AES-256 key and an Ed25519 seed) is never
// stored unwrapped.
type RootKey struct {
	KeyID       string
	Algorithm   string
	CreateTime  int64
	CreateIndex uint64
	ModifyIndex uint64
	State       RootKeyState
	PublishTime int64
	// WrappedKeys are the material encrypted for each server's KEK.
	WrappedKeys []*WrappedRootKey
}

// WrappedRootKey is a root key's material encrypted with one
// key-encryption key.
type WrappedRootKey struct {
	// Provider names the wrapper that made it ("x25519": a server's
	// keystore file).
	Provider string
	// KEKID identifies the key-encryption key (a fingerprint of its public key).
	KEKID string
	// EphemeralPublicKey, Nonce and Ciphertext are the wrapper's output.
	EphemeralPublicKey []byte
	Nonce              []byte
	Ciphertext         []byte
}

// Meta returns the key's API view.
func (k *RootKey) Meta() *RootKeyMeta {
	return &RootKeyMeta{KeyID: k.KeyID, Algorithm: k.Algorithm, CreateTime: k.CreateTime, CreateIndex: k.CreateIndex,
		ModifyIndex: k.ModifyIndex, State: k.State, PublishTime: k.PublishTime}
}

// Active reports whether the key is the active one.
func (k *RootKey) Active() bool { return k.State == RootKeyStateActive }

// WrappedFor returns the copy wrapped for KEK kekID, or nil.
func (k *RootKey) WrappedFor(kekID string) *WrappedRootKey {
	for _, w := range k.WrappedKeys {
		if w != nil && w.KEKID == kekID {
			return w
		}
	}
	return nil
}

// Copy returns a deep copy.
func (k *RootKey) Copy() *RootKey {
	if k == nil {
		return nil
	}
	c := *k
	c.WrappedKeys = make([]*WrappedRootKey, 0, len(k.WrappedKeys))
	for _, w := range k.WrappedKeys {
		c.WrappedKeys = append(c.WrappedKeys, w.Copy())
	}
	return &c
}

// Copy returns a deep copy.
func (w *WrappedRootKey) Copy() *WrappedRootKey {
	if w == nil {
		return nil
	}
	c := *w
	c.EphemeralPublicKey = slices.Clone(w.EphemeralPublicKey)
	c.Nonce = slices.Clone(w.Nonce)
	c.Ciphertext = slices.Clone(w.Ciphertext)
	return &c
}

// KeyringUpsertRequest stores root keys (KeyringUpsertRequestType): a new
// key, a rotation (the new active key and the old one made inactive in one
// entry), more wrapped copies for new servers, or a state change.
type KeyringUpsertRequest struct {
	Keys []*RootKey
}

// KeyringDeleteRequest removes inactive root keys (KeyringDeleteRequestType).
type KeyringDeleteRequest struct {
	KeyIDs []string
}
