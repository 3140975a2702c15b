package server

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

// TestLogCacheBoundedByBytes: the cache answers the newest entries from
// memory, keeps no more than its byte bound (but always the newest entry),
// reads older ones from the store, and forgets everything on DeleteRange.
func TestLogCacheBoundedByBytes(t *testing.T) {
	store := raft.NewInmemStore()
	c, err := newLogCache(store, 8, 1000)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i uint64, size int) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(i)}, size)}
	}
	for i := uint64(1); i <= 6; i++ {
		if err := c.StoreLog(entry(i, 300)); err != nil {
			t.Fatal(err)
		}
		if c.bytes > 1000 {
			t.Fatalf("after entry %d the cache holds %d bytes, bound 1000", i, c.bytes)
		}
	}
	cached := func(i uint64) bool {
		e := c.ring[i%uint64(len(c.ring))]
		return e != nil && e.Index == i
	}
	for i := uint64(1); i <= 6; i++ {
		if want := i >= 4; cached(i) != want {
			t.Errorf("entry %d cached = %v, want %v (the newest that fit in 1000 bytes)", i, cached(i), want)
		}
		var got raft.Log
		if err := c.GetLog(i, &got); err != nil || got.Index != i || len(got.Data) != 300 || got.Data[0] != byte(i) {
			t.Errorf("GetLog(%d) = %d, %d bytes, %v", i, got.Index, len(got.Data), err)
		}
	}
	// An entry larger than the bound is still cached (alone).
	if err := c.StoreLogs([]*raft.Log{entry(7, 5000)}); err != nil {
		t.Fatal(err)
	}
	if !cached(7) || cached(6) || c.bytes != 5000 {
		t.Errorf("after a 5000-byte entry: cached(7)=%v cached(6)=%v bytes=%d", cached(7), cached(6), c.bytes)
	}
	// The entry bound still applies: 20 small entries keep the newest 8.
	for i := uint64(8); i <= 27; i++ {
		if err := c.StoreLog(entry(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if c.bytes != 80 || !cached(20) || cached(19) {
		t.Errorf("after 20 small entries: bytes=%d cached(20)=%v cached(19)=%v", c.bytes, cached(20), cached(19))
	}
	if err := c.DeleteRange(20, 27); err != nil {
		t.Fatal(err)
	}
	if c.bytes != 0 || cached(19) || cached(20) {
		t.Errorf("DeleteRange left %d bytes cached", c.bytes)
	}
	var got raft.Log
	if err := c.GetLog(25, &got); err != raft.ErrLogNotFound {
		t.Errorf("GetLog of a deleted entry: %v, want ErrLogNotFound", err)
	}
	if err := c.GetLog(3, &got); err != nil || got.Index != 3 {
		t.Errorf("GetLog(3) from the store: %d, %v", got.Index, err)
	}
	if _, err := newLogCache(store, 0, 1); err == nil {
		t.Error("a cache of 0 entries was accepted")
	}
}
