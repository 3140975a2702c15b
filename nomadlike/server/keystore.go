package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The keystore holds this server's key-encryption keys (KEKs). Root keys
// travel through Raft and snapshots only wrapped: encrypted once for each
// server's KEK. A KEK is an X25519 key pair; its private half never leaves
// the server's data dir (<data_dir>/server/keystore/kek-<id>.json, mode
// 0600) and its public half is gossiped in the serf tag "kek", so the
// leader can wrap root keys for every server without any server sending a
// secret over the network. A -dev server keeps its KEK in memory.
//
// A wrapped key names its KEK by ID (a fingerprint of the public key), not
// by server: a snapshot restored on another cluster is readable there once
// a KEK file of the old cluster is copied into one server's keystore dir
// (the leader then wraps the keys for every current server). Another way
// of wrapping (a KMS, a key file shared by all servers) implements
// keyWrapper under its own Provider name.

const (
	// kekProviderX25519 is the provider of a server's keystore KEK.
	kekProviderX25519 = "x25519"
	// tagKEK is the serf tag holding a server's KEK public key (base64).
	tagKEK = "kek"
	// kekInfo is the HKDF info string that separates this use of X25519.
	kekInfo = "nomadlike root key wrap v1"
)

// keyWrapper unwraps root key material wrapped for one KEK.
type keyWrapper interface {
	Provider() string
	ID() string
	Unwrap(w *structs.WrappedRootKey) ([]byte, error)
}

// x25519KEK is a keystore KEK.
type x25519KEK struct {
	priv *ecdh.PrivateKey
	id   string
}

var _ keyWrapper = (*x25519KEK)(nil)

// kekID is the ID of the KEK with public key pub.
func kekID(pub []byte) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func newX25519KEK(priv *ecdh.PrivateKey) *x25519KEK {
	return &x25519KEK{priv: priv, id: kekID(priv.PublicKey().Bytes())}
}

func (k *x25519KEK) Provider() string { return kekProviderX25519 }
func (k *x25519KEK) ID() string       { return k.id }

// wrapKey encrypts material for the X25519 public key pub: an ephemeral key
// agreement, HKDF-SHA256 and AES-256-GCM.
func wrapKey(pub []byte, material []byte) (*structs.WrappedRootKey, error) {
	peer, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("KEK public key: %w", err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	shared, err := eph.ECDH(peer)
	if err != nil {
		return nil, err
	}
	aead, err := kekAEAD(shared, eph.PublicKey().Bytes(), pub)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	id := kekID(pub)
	return &structs.WrappedRootKey{Provider: kekProviderX25519, KEKID: id, EphemeralPublicKey: eph.PublicKey().Bytes(),
		Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, material, []byte(id))}, nil
}

func kekAEAD(shared, ephPub, pub []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, shared, append(append([]byte{}, ephPub...), pub...), kekInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Unwrap implements keyWrapper.
func (k *x25519KEK) Unwrap(w *structs.WrappedRootKey) ([]byte, error) {
	eph, err := ecdh.X25519().NewPublicKey(w.EphemeralPublicKey)
	if err != nil {
		return nil, fmt.Errorf("wrapped key: ephemeral public key: %w", err)
	}
	shared, err := k.priv.ECDH(eph)
	if err != nil {
		return nil, err
	}
	aead, err := kekAEAD(shared, w.EphemeralPublicKey, k.priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	if len(w.Nonce) != aead.NonceSize() {
		return nil, errors.New("wrapped key: bad nonce length")
	}
	out, err := aead.Open(nil, w.Nonce, w.Ciphertext, []byte(k.id))
	if err != nil {
		return nil, fmt.Errorf("unwrap with KEK %s: %w", k.id, err)
	}
	return out, nil
}

// kekFile is a KEK's file in the keystore dir.
type kekFile struct {
	Provider   string
	ID         string
	PrivateKey string // base64
}

// keystore is this server's KEKs: its own (which new keys are wrapped
// for) and any copied in from another cluster's keystore for a restore.
type keystore struct {
	dir string // "" in memory (-dev)
	own *x25519KEK

	mu   sync.Mutex
	keks map[string]keyWrapper
}

// openKeystore loads the KEKs of dir, creating this server's own KEK on
// first start (dir "": an in-memory KEK).
func openKeystore(dir string) (*keystore, error) {
	ks := &keystore{dir: dir, keks: map[string]keyWrapper{}}
	if dir == "" {
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		ks.own = newX25519KEK(priv)
		ks.keks[ks.own.id] = ks.own
		return ks, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keystore %s: %w", dir, err)
	}
	ownPath := filepath.Join(dir, "own")
	b, err := os.ReadFile(ownPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		k := newX25519KEK(priv)
		f := kekFile{Provider: kekProviderX25519, ID: k.id, PrivateKey: base64.StdEncoding.EncodeToString(priv.Bytes())}
		if err := writeFileAtomic(filepath.Join(dir, "kek-"+k.id+".json"), mustJSON(f)); err != nil {
			return nil, fmt.Errorf("keystore: write KEK: %w", err)
		}
		if err := writeFileAtomic(ownPath, []byte(k.id+"\n")); err != nil {
			return nil, fmt.Errorf("keystore: write %s: %w", ownPath, err)
		}
		b = []byte(k.id)
	case err != nil:
		return nil, fmt.Errorf("keystore: read %s: %w", ownPath, err)
	}
	if err := ks.load(); err != nil {
		return nil, err
	}
	own, ok := ks.keks[strings.TrimSpace(string(b))].(*x25519KEK)
	if !ok {
		return nil, fmt.Errorf("keystore %s: file \"own\" names KEK %q but kek-%s.json is missing or unreadable: restore it from a backup of this server's data dir", dir, strings.TrimSpace(string(b)), strings.TrimSpace(string(b)))
	}
	ks.own = own
	return ks, nil
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// load reads every kek-*.json of the keystore dir.
func (ks *keystore) load() error {
	if ks.dir == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(ks.dir, "kek-*.json"))
	if err != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("keystore: read %s: %w", p, err)
		}
		var f kekFile
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("keystore: %s is not a KEK file: %w", p, err)
		}
		if f.Provider != kekProviderX25519 {
			return fmt.Errorf("keystore: %s has provider %q; this server knows only %q", p, f.Provider, kekProviderX25519)
		}
		raw, err := base64.StdEncoding.DecodeString(f.PrivateKey)
		if err != nil {
			return fmt.Errorf("keystore: %s: private key: %w", p, err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(raw)
		if err != nil {
			return fmt.Errorf("keystore: %s: private key: %w", p, err)
		}
		k := newX25519KEK(priv)
		ks.keks[k.id] = k
	}
	return nil
}

// publicKey is the own KEK's public key, which others wrap for.
func (ks *keystore) publicKey() []byte { return ks.own.priv.PublicKey().Bytes() }

// unwrap returns a root key's material from a copy wrapped for one of
// the keystore's KEKs, reading the keystore dir again when none matches
// (an operator may have copied a KEK in for a restore).
func (ks *keystore) unwrap(k *structs.RootKey) ([]byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		ks.mu.Lock()
		for _, w := range k.WrappedKeys {
			if kek, ok := ks.keks[w.KEKID]; ok && w.Provider == kek.Provider() {
				ks.mu.Unlock()
				return kek.Unwrap(w)
			}
		}
		ks.mu.Unlock()
		if attempt == 0 {
			if err := ks.load(); err != nil {
				return nil, err
			}
		}
	}
	ids := make([]string, 0, len(k.WrappedKeys))
	for _, w := range k.WrappedKeys {
		ids = append(ids, w.KEKID)
	}
	where := "this -dev server's memory"
	if ks.dir != "" {
		where = ks.dir
	}
	return nil, fmt.Errorf("root key %s is wrapped only for KEKs %s, none of which is in %s: if this state comes from a snapshot of another cluster, copy a kek-<id>.json of that cluster's keystore into %s (see the snapshot restore procedure in README.md)",
		k.KeyID, strings.Join(ids, ", "), where, where)
}

// kekTag is the serf tag value of a KEK public key.
func kekTag(pub []byte) string { return base64.StdEncoding.EncodeToString(pub) }

// decodeKEKTag parses a serf KEK tag (nil when absent).
func decodeKEKTag(tag string) ([]byte, error) {
	if tag == "" {
		return nil, nil
	}
	pub, err := base64.StdEncoding.DecodeString(tag)
	if err != nil || len(pub) != 32 {
		return nil, fmt.Errorf("serf tag %q is not an X25519 public key", tagKEK)
	}
	return pub, nil
}

// sortedPubs returns the public keys of pubs ordered by KEK ID.
func sortedPubs(pubs map[string][]byte) [][]byte {
	ids := make([]string, 0, len(pubs))
	for id := range pubs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		out = append(out, pubs[id])
	}
	return out
}
