package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/go-hclog"
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

// TestHealingLogDropsSealedSegmentBuffers: the Raft log keeps no write
// buffer of a sealed segment. raft-wal reads a sealed segment through the
// writer that wrote it, which keeps its buffer (grown to the largest batch
// it took) until the segment is deleted: about 90 MB at a million
// allocations. The log reopens after each rotation, and every entry stays
// readable.
func TestHealingLogDropsSealedSegmentBuffers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h, err := newHealingLog(dir, 1<<20, hclog.NewNullLogger(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	// 60 batches of three 100 KB entries: ~3 batches a 1 MiB segment, each
	// segment's buffer grown to 512 KiB.
	const batches, per = 60, 3
	index := uint64(1)
	for range batches {
		var logs []*raft.Log
		for range per {
			logs = append(logs, &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(index)}, 100<<10)})
			index++
		}
		if err := h.StoreLogs(logs); err != nil {
			t.Fatalf("store logs up to %d: %v", index-1, err)
		}
	}
	if h.rotations.n.Load() < 8 {
		t.Fatalf("%d segment rotations; the test needs several", h.rotations.n.Load())
	}
	last, err := h.LastIndex()
	if err != nil || last != index-1 {
		t.Fatalf("LastIndex = %d, %v; want %d", last, err, index-1)
	}
	// Well under one buffer per sealed segment (~512 KiB each).
	if kept := int64(heap()) - int64(before); kept > 2<<20 {
		t.Errorf("the log keeps %d KiB after %d segment rotations, want under 2 MiB", kept>>10, h.rotations.n.Load())
	}
	for i := uint64(1); i < index; i++ {
		var l raft.Log
		if err := h.GetLog(i, &l); err != nil || len(l.Data) != 100<<10 || l.Data[0] != byte(i) {
			t.Fatalf("GetLog(%d) = %d bytes, %v", i, len(l.Data), err)
		}
	}
}
