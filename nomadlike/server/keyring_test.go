package server

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// plaintextMarker is a variable value the tests look for in every byte
// the server writes.
const plaintextMarker = "plaintext-marker-4f1c9"

func waitActiveKey(t testing.TB, s *Server) *structs.RootKey {
	t.Helper()
	var k *structs.RootKey
	waitFor(t, 10*time.Second, "an active root key", func() (bool, string) {
		k, _ = s.state.ActiveRootKey(nil)
		return k != nil, "none yet"
	})
	return k
}

// grepDir fails the test when any file under dir holds needle.
func grepDir(t *testing.T, dir, needle string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			t.Errorf("%s holds the variable's plaintext", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeyringSnapshotRestoreNeedsKeystore is the documented restore
// procedure: a snapshot holds root keys only wrapped, so another cluster
// reads its variables once a KEK file of the old cluster's keystore is
// copied into the new server's keystore dir; the leader then wraps the
// keys for its own KEK. Neither the snapshot nor the data dir holds the
// plaintext.
func TestKeyringSnapshotRestoreNeedsKeystore(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a := newTestServer(t, func(c *Config) { c.DataDir = dirA; c.RaftBindAddr = "127.0.0.1:0" })
	keyA := waitActiveKey(t, a)
	ctx := context.Background()
	in := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "app/config"},
		Items: map[string]string{"password": plaintextMarker}}
	if _, err := a.ApplyVariable(ctx, structs.VarOpSet, in, nil); err != nil {
		t.Fatalf("ApplyVariable: %v", err)
	}
	var snap bytes.Buffer
	if _, err := a.SaveSnapshot(&snap); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	if bytes.Contains(snap.Bytes(), []byte(plaintextMarker)) {
		t.Fatal("the snapshot holds the variable's plaintext")
	}
	grepDir(t, dirA, plaintextMarker)

	b := newTestServer(t, func(c *Config) { c.DataDir = dirB; c.RaftBindAddr = "127.0.0.1:0" })
	waitActiveKey(t, b)
	if err := b.RestoreSnapshot(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	waitLeader(t, b)
	stored, err := b.state.VariableByPath(nil, "default", "app/config")
	if err != nil || stored == nil || stored.KeyID != keyA.KeyID {
		t.Fatalf("restored variable = %+v, %v; want it encrypted with %s", stored, err, keyA.KeyID)
	}
	_, err = b.DecryptVariable(stored)
	if err == nil || !strings.Contains(err.Error(), "kek-<id>.json") {
		t.Fatalf("decrypt without the old cluster's KEK: got %v, want the error naming the keystore procedure", err)
	}

	// The procedure: copy a KEK file of the old cluster into the keystore.
	kekFiles, _ := filepath.Glob(filepath.Join(dirA, "server", "keystore", "kek-*.json"))
	if len(kekFiles) != 1 {
		t.Fatalf("old cluster's keystore holds %v, want one KEK file", kekFiles)
	}
	raw, err := os.ReadFile(kekFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "server", "keystore", filepath.Base(kekFiles[0])), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.DecryptVariable(stored)
	if err != nil || got.Items["password"] != plaintextMarker {
		t.Fatalf("decrypt with the copied KEK = %+v, %v", got, err)
	}
	waitFor(t, 10*time.Second, "the leader to wrap the restored key for its own KEK", func() (bool, string) {
		k, _ := b.state.RootKeyByID(nil, keyA.KeyID)
		return k != nil && k.WrappedFor(b.keystore.own.ID()) != nil, "not wrapped yet"
	})
	grepDir(t, dirB, plaintextMarker)
}

// TestKeystoreWrapUnwrap wraps material for one KEK and checks that only
// that KEK unwraps it.
func TestKeystoreWrapUnwrap(t *testing.T) {
	ks1, err := openKeystore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ks2, err := openKeystore("")
	if err != nil {
		t.Fatal(err)
	}
	material := bytes.Repeat([]byte{7}, rootKeyMaterialLen)
	w, err := wrapKey(ks1.publicKey(), material)
	if err != nil {
		t.Fatal(err)
	}
	k := &structs.RootKey{KeyID: "k", WrappedKeys: []*structs.WrappedRootKey{w}}
	got, err := ks1.unwrap(k)
	if err != nil || !bytes.Equal(got, material) {
		t.Fatalf("unwrap with its KEK = %x, %v", got, err)
	}
	if _, err := ks2.unwrap(k); err == nil {
		t.Fatal("another KEK unwrapped the key")
	}
	w.Ciphertext[0] ^= 1
	if _, err := ks1.unwrap(k); err == nil {
		t.Fatal("a tampered wrapped key unwrapped")
	}
	// The KEK survives a restart of the keystore.
	again, err := openKeystore(ks1.dir)
	if err != nil || again.own.ID() != ks1.own.ID() {
		t.Fatalf("reopened keystore: own %v, %v; want %s", again, err, ks1.own.ID())
	}
}

// BenchmarkVariables measures one variable write (encrypt on the leader,
// Raft apply, FSM) and one read (state lookup and decrypt) on a single
// in-memory server; make bench-cluster measures them on three servers
// through the HTTP API.
func BenchmarkVariables(b *testing.B) {
	s := newTestServer(b, func(c *Config) { c.NumSchedulers = 0 })
	waitActiveKey(b, s)
	ctx := context.Background()
	v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "bench/db"},
		Items: map[string]string{"user": "admin", "password": "0123456789abcdef0123456789abcdef"}}
	b.Run("write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.ApplyVariable(ctx, structs.VarOpSet, v, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			enc, err := s.state.VariableByPath(nil, "default", "bench/db")
			if err != nil || enc == nil {
				b.Fatalf("read: %v", err)
			}
			if _, err := s.DecryptVariable(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRemoveRootKeyKeepsKeysOfRunningAllocs: a key is kept while an
// allocation created since it was made runs (unless forced).
func TestRemoveRootKeyKeepsKeysOfRunningAllocs(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.NumSchedulers = 0 })
	old := waitActiveKey(t, s)
	job := mockJob("web", 1, 100, 64)
	job.Canonicalize()
	if err := s.state.UpsertAllocs(1000, []*structs.Allocation{{ID: structs.GenerateUUID(), Namespace: "default", JobID: "web", Job: job,
		TaskGroup: job.TaskGroups[0].Name, NodeID: "n1", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		CreateTime: time.Now().UnixNano()}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.RotateRootKey(ctx, false); err != nil {
		t.Fatal(err)
	}
	_, err := s.RemoveRootKey(ctx, old.KeyID, false)
	if err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Fatalf("remove a key of a running allocation: got %v", err)
	}
	if _, err := s.RemoveRootKey(ctx, old.KeyID, true); err != nil {
		t.Fatalf("forced remove: %v", err)
	}
}
