package server

import (
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// logCache is raft's LogCache bounded by bytes as well as by entries: it
// keeps the newest entries in memory (at most len(ring), and at most
// maxBytes of entry data) so replicating and applying them does not read
// the log file again. raft.LogCache bounds entries only, and a 512-entry
// window of plan results of a hundred placements each held hundreds of MB.
type logCache struct {
	store    raft.LogStore
	maxBytes int64

	mu    sync.RWMutex
	ring  []*raft.Log
	bytes int64  // data of the cached entries
	lo    uint64 // lowest index that may still be cached
	hi    uint64 // highest index cached
}

// newLogCache returns a cache of at most entries entries and maxBytes of
// entry data in front of store.
func newLogCache(store raft.LogStore, entries int, maxBytes int64) (*logCache, error) {
	if entries <= 0 || maxBytes <= 0 {
		return nil, fmt.Errorf("raft log cache: entries (%d) and bytes (%d) must be positive", entries, maxBytes)
	}
	return &logCache{store: store, maxBytes: maxBytes, ring: make([]*raft.Log, entries)}, nil
}

// logSize is what a cached entry holds beyond its fixed fields.
func logSize(l *raft.Log) int64 { return int64(len(l.Data) + len(l.Extensions)) }

// IsMonotonic reports whether the underlying store is monotonic
// (raft.MonotonicLogStore), as raft.LogCache does.
func (c *logCache) IsMonotonic() bool {
	m, ok := c.store.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

// GetLog reads entry idx from the cache, or from the store when not cached.
func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	cached := c.ring[idx%uint64(len(c.ring))]
	c.mu.RUnlock()
	if cached != nil && cached.Index == idx {
		*log = *cached
		return nil
	}
	return c.store.GetLog(idx, log)
}

// StoreLog stores one entry.
func (c *logCache) StoreLog(log *raft.Log) error {
	return c.StoreLogs([]*raft.Log{log})
}

// StoreLogs stores entries, then caches them (only once stored), dropping
// the oldest cached ones past the byte bound.
func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.store.StoreLogs(logs); err != nil {
		return fmt.Errorf("unable to store logs within log store, err: %q", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint64(len(c.ring))
	for _, l := range logs {
		slot := l.Index % n
		if old := c.ring[slot]; old != nil {
			c.bytes -= logSize(old)
		}
		c.ring[slot] = l
		c.bytes += logSize(l)
		if c.hi == 0 || l.Index > c.hi {
			c.hi = l.Index
		}
		if c.lo == 0 || l.Index < c.lo {
			c.lo = l.Index
		}
	}
	if c.hi >= n && c.lo < c.hi-n+1 {
		c.lo = c.hi - n + 1 // older slots were overwritten
	}
	for c.bytes > c.maxBytes && c.lo < c.hi {
		slot := c.lo % n
		if e := c.ring[slot]; e != nil && e.Index == c.lo {
			c.ring[slot] = nil
			c.bytes -= logSize(e)
		}
		c.lo++
	}
	return nil
}

// FirstIndex is the store's.
func (c *logCache) FirstIndex() (uint64, error) { return c.store.FirstIndex() }

// LastIndex is the store's.
func (c *logCache) LastIndex() (uint64, error) { return c.store.LastIndex() }

// DeleteRange empties the cache and deletes the range from the store.
func (c *logCache) DeleteRange(lo, hi uint64) error {
	c.mu.Lock()
	clear(c.ring)
	c.bytes, c.lo, c.hi = 0, 0, 0
	c.mu.Unlock()
	return c.store.DeleteRange(lo, hi)
}
