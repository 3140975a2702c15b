package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// rootKeyMaterialLen is a root key's material: an AES-256 key, then the
// seed of the Ed25519 key that signs workload identities.
const rootKeyMaterialLen = 32 + ed25519.SeedSize

// rootKeyMaterial is an unwrapped root key, only ever in memory.
type rootKeyMaterial struct {
	id     string
	aead   cipher.AEAD
	signer ed25519.PrivateKey
}

func newRootKeyMaterial(id string, raw []byte) (*rootKeyMaterial, error) {
	if len(raw) != rootKeyMaterialLen {
		return nil, fmt.Errorf("root key %s: material is %d bytes, want %d", id, len(raw), rootKeyMaterialLen)
	}
	block, err := aes.NewCipher(raw[:32])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &rootKeyMaterial{id: id, aead: aead, signer: ed25519.NewKeyFromSeed(raw[32:])}, nil
}

// encrypter encrypts and decrypts variables and signs identities with the
// keyring's keys, unwrapping each key once with the keystore.
type encrypter struct {
	ks    *keystore
	state *state.Store

	mu    sync.Mutex
	cache map[string]*rootKeyMaterial
}

func newEncrypter(ks *keystore, st *state.Store) *encrypter {
	return &encrypter{ks: ks, state: st, cache: map[string]*rootKeyMaterial{}}
}

// errNoActiveKey is returned before the leader has made the first key.
func errNoActiveKey() error {
	return &structs.CodedError{Code: http.StatusServiceUnavailable,
		Msg: "the keyring has no active root key yet (the leader creates one when it takes office); retry shortly"}
}

// key returns root key id's material.
func (e *encrypter) key(id string) (*rootKeyMaterial, error) {
	e.mu.Lock()
	m, ok := e.cache[id]
	e.mu.Unlock()
	if ok {
		return m, nil
	}
	k, err := e.state.RootKeyByID(nil, id)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("root key %s is not in the keyring (removed?)", id)
	}
	raw, err := e.ks.unwrap(k)
	if err != nil {
		return nil, err
	}
	if m, err = newRootKeyMaterial(id, raw); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cache[id] = m
	e.mu.Unlock()
	return m, nil
}

// active returns the active root key's material.
func (e *encrypter) active() (*rootKeyMaterial, error) {
	k, err := e.state.ActiveRootKey(nil)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errNoActiveKey()
	}
	return e.key(k.KeyID)
}

// variableAAD binds a ciphertext to its variable: moved to another path
// it does not decrypt.
func variableAAD(namespace, path string) []byte { return []byte(namespace + "\x00" + path) }

// encryptVariable encrypts v's items with the active key; the result has
// v's metadata.
func (e *encrypter) encryptVariable(v *structs.VariableDecrypted) (*structs.VariableEncrypted, error) {
	m, err := e.active()
	if err != nil {
		return nil, err
	}
	return m.encrypt(v)
}

func (m *rootKeyMaterial) encrypt(v *structs.VariableDecrypted) (*structs.VariableEncrypted, error) {
	plain, err := json.Marshal(v.Items)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := &structs.VariableEncrypted{VariableMetadata: *v.VariableMetadata.Copy(), KeyID: m.id, Nonce: nonce,
		Data: m.aead.Seal(nil, nonce, plain, variableAAD(v.Namespace, v.Path))}
	clear(plain)
	if len(out.Data) > structs.MaxVariableBytes {
		return nil, structs.NewBadRequest("variable %q is %d bytes encrypted, more than the limit of %d: store less in one variable", v.Path, len(out.Data), structs.MaxVariableBytes)
	}
	return out, nil
}

// decryptVariable returns v with its items in plain text.
func (e *encrypter) decryptVariable(v *structs.VariableEncrypted) (*structs.VariableDecrypted, error) {
	m, err := e.key(v.KeyID)
	if err != nil {
		return nil, fmt.Errorf("decrypt variable %q: %w", v.Path, err)
	}
	plain, err := m.aead.Open(nil, v.Nonce, v.Data, variableAAD(v.Namespace, v.Path))
	if err != nil {
		return nil, fmt.Errorf("decrypt variable %q with root key %s: %w", v.Path, v.KeyID, err)
	}
	out := &structs.VariableDecrypted{VariableMetadata: *v.Metadata()}
	if err := json.Unmarshal(plain, &out.Items); err != nil {
		return nil, fmt.Errorf("decrypt variable %q: items: %w", v.Path, err)
	}
	clear(plain)
	if out.Items == nil {
		out.Items = map[string]string{}
	}
	return out, nil
}

// forget drops a removed key's material.
func (e *encrypter) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.cache, id)
}
