package server

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// openTestWAL opens a raft-wal log in dir the way setupRaft does.
func openTestWAL(t *testing.T, dir string) (*wal.WAL, *metadb.BoltMetaDB) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta))
	if err != nil {
		t.Fatalf("open wal: %v", err)
	}
	return w, meta
}

func storeRange(t *testing.T, w *wal.WAL, from, to uint64, term uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: term, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry %d term %d", i, term))})
	}
	if err := w.StoreLogs(logs); err != nil {
		t.Fatalf("store logs %d-%d: %v", from, to, err)
	}
}

// TestRaftLogSurvivesTailTruncationAndRestart: a follower whose
// uncommitted tail is replaced by a new leader's entries (Raft deletes the
// log suffix) must reopen its log after a restart. raft-wal before v0.4.1
// marked the truncated segment sealed without an index, and the restarted
// server then panicked with "sealed segment has no index block" (found by
// the cluster history test; hashicorp/raft-wal#31).
func TestRaftLogSurvivesTailTruncationAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w, meta := openTestWAL(t, dir)
	storeRange(t, w, 1, 10, 1)
	if err := w.DeleteRange(8, 10); err != nil {
		t.Fatalf("truncate the tail: %v", err)
	}
	storeRange(t, w, 8, 12, 2)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := meta.Close(); err != nil {
		t.Fatal(err)
	}

	w, meta = openTestWAL(t, dir)
	defer meta.Close()
	defer w.Close()
	for i := uint64(1); i <= 12; i++ {
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("after a restart, entry %d cannot be read: %v", i, err)
		}
		want := uint64(1)
		if i >= 8 {
			want = 2
		}
		if l.Term != want {
			t.Errorf("entry %d has term %d, want %d", i, l.Term, want)
		}
	}
}
