package server

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// defaultSegmentSize is raft-wal's segment size when none is configured.
var defaultSegmentSize = wal.DefaultSegmentSize

// openWAL opens the raft-wal log and stable store in dir. A filesystem too
// small for a segment file is named as such, with the key that helps.
// rotations counts the log's segment rotations.
func openWAL(dir string, segmentSize int, hl hclog.Logger, rotations *walRotations) (*wal.WAL, *metadb.BoltMetaDB, error) {
	// WAL.Close leaves its meta database open (and locked): own it here.
	meta := &metadb.BoltMetaDB{}
	size := segmentSize
	if size <= 0 {
		size = defaultSegmentSize
	}
	w, err := wal.Open(dir, wal.WithLogger(hl), wal.WithMetaStore(meta), wal.WithSegmentSize(size), wal.WithMetricsCollector(rotations))
	if err != nil {
		_ = meta.Close()
		if errors.Is(err, syscall.ENOSPC) {
			return nil, nil, fmt.Errorf("open raft log in %s: no space left on the data_dir's filesystem: each Raft log segment file is preallocated at %d MiB; free space there, or set a smaller segment with server { raft_segment_size_mb = N } (e.g. 4 on a small disk): %w", dir, size>>20, err)
		}
		return nil, nil, fmt.Errorf("open raft log in %s (is another server using this data_dir?): %w", dir, err)
	}
	return w, meta, nil
}

// healingLog is the Raft log and stable store on raft-wal that recovers from
// a failed write by itself. raft-wal cannot write again after a failed
// append (a full disk): its tail segment stays "sealed" and a server would
// loop in elections until restarted. After a failed write, the next call
// closes and reopens the WAL, which re-reads what was durably written and
// drops the partial batch, so the server goes on once space returns. Safe
// for concurrent use (Raft calls it from several goroutines).
//
// It also reopens the WAL after each segment rotation (once per segment of
// log written, 64 MiB by default): raft-wal keeps a sealed segment's writer
// as its reader, with the write buffer grown to the largest batch it took
// (a batch of plan results is megabytes), until the segment is deleted
// after a snapshot. A reopened WAL reads sealed segments with plain
// readers. At a million allocations those buffers were ~90 MB of the
// server's heap.
type healingLog struct {
	dir         string
	segmentSize int
	hl          hclog.Logger
	logger      *slog.Logger
	rotations   *walRotations

	mu     sync.RWMutex
	w      *wal.WAL
	meta   *metadb.BoltMetaDB
	broken error  // the write error that needs a reopen; nil when healthy
	opened uint64 // rotations when w was opened: more means a reopen is due
}

// walRotations is the raft-wal metrics collector of a healingLog: it counts
// segment rotations and ignores the rest.
type walRotations struct{ n atomic.Uint64 }

func (r *walRotations) IncrementCounter(name string, delta uint64) {
	if name == "segment_rotations" {
		r.n.Add(delta)
	}
}

func (r *walRotations) SetGauge(string, uint64) {}

var (
	_ raft.LogStore          = (*healingLog)(nil)
	_ raft.StableStore       = (*healingLog)(nil)
	_ raft.MonotonicLogStore = (*healingLog)(nil)
)

// IsMonotonic tells Raft that raft-wal takes no gap in indexes, so Raft
// deletes the old log after a snapshot restore instead of leaving a gap.
func (h *healingLog) IsMonotonic() bool { return true }

func newHealingLog(dir string, segmentSize int, hl hclog.Logger, logger *slog.Logger) (*healingLog, error) {
	rot := &walRotations{}
	w, meta, err := openWAL(dir, segmentSize, hl, rot)
	if err != nil {
		return nil, err
	}
	return &healingLog{dir: dir, segmentSize: segmentSize, hl: hl, logger: logger, rotations: rot, w: w, meta: meta, opened: rot.n.Load()}, nil
}

// current returns the WAL to use, reopening it first after a failed write
// or a segment rotation. The caller must call the returned release.
func (h *healingLog) current() (*wal.WAL, func(), error) {
	h.mu.RLock()
	if h.broken == nil && h.rotations.n.Load() == h.opened {
		return h.w, h.mu.RUnlock, nil
	}
	h.mu.RUnlock()
	h.mu.Lock()
	if h.broken != nil || h.rotations.n.Load() != h.opened {
		if err := h.reopenLocked(); err != nil {
			h.mu.Unlock()
			return nil, func() {}, err
		}
	}
	h.mu.Unlock()
	h.mu.RLock()
	return h.w, h.mu.RUnlock, nil
}

// reopenLocked closes and reopens the WAL: after a failed write, or to drop
// the buffers of the writers of the segments sealed since it was opened.
// Close waits for a rotation in progress. No call of h is in flight (h.mu
// is held), so no write can have sealed the tail since the rotation that
// is due: the WAL is never closed between a seal and its rotation.
func (h *healingLog) reopenLocked() error {
	cause := h.broken
	if h.w != nil {
		_ = h.w.Close()
		_ = h.meta.Close()
		h.w, h.meta = nil, nil
	}
	w, meta, err := openWAL(h.dir, h.segmentSize, h.hl, h.rotations)
	if err != nil {
		if cause == nil {
			// Reopened after a rotation: the next call tries again, as
			// after a failed write.
			cause = errors.New("segment rotation")
			h.broken = cause
		}
		return fmt.Errorf("reopen the raft log (after %v): %w", cause, err)
	}
	h.w, h.meta, h.broken, h.opened = w, meta, nil, h.rotations.n.Load()
	if cause != nil {
		h.logger.Warn("reopened the raft log after a failed write; writing again", "failed_write", cause)
	}
	return nil
}

// failed records a write error so the next call reopens the WAL.
func (h *healingLog) failed(err error) error {
	if err == nil {
		return nil
	}
	h.mu.Lock()
	if h.broken == nil {
		h.broken = err
		h.logger.Error("raft log write failed; the log will be reopened before the next write (free disk space if it is full)", "error", err)
	}
	h.mu.Unlock()
	return err
}

func (h *healingLog) FirstIndex() (uint64, error) {
	w, release, err := h.current()
	if err != nil {
		return 0, err
	}
	defer release()
	return w.FirstIndex()
}

func (h *healingLog) LastIndex() (uint64, error) {
	w, release, err := h.current()
	if err != nil {
		return 0, err
	}
	defer release()
	return w.LastIndex()
}

func (h *healingLog) GetLog(index uint64, log *raft.Log) error {
	w, release, err := h.current()
	if err != nil {
		return err
	}
	defer release()
	return w.GetLog(index, log)
}

func (h *healingLog) StoreLog(log *raft.Log) error { return h.StoreLogs([]*raft.Log{log}) }

func (h *healingLog) StoreLogs(logs []*raft.Log) error {
	w, release, err := h.current()
	if err != nil {
		return err
	}
	err = w.StoreLogs(logs)
	release()
	return h.failed(err)
}

func (h *healingLog) DeleteRange(min, max uint64) error {
	w, release, err := h.current()
	if err != nil {
		return err
	}
	err = w.DeleteRange(min, max)
	release()
	return h.failed(err)
}

func (h *healingLog) Set(key, val []byte) error {
	w, release, err := h.current()
	if err != nil {
		return err
	}
	err = w.Set(key, val)
	release()
	return h.failed(err)
}

func (h *healingLog) Get(key []byte) ([]byte, error) {
	w, release, err := h.current()
	if err != nil {
		return nil, err
	}
	defer release()
	return w.Get(key)
}

func (h *healingLog) SetUint64(key []byte, val uint64) error {
	w, release, err := h.current()
	if err != nil {
		return err
	}
	err = w.SetUint64(key, val)
	release()
	return h.failed(err)
}

func (h *healingLog) GetUint64(key []byte) (uint64, error) {
	w, release, err := h.current()
	if err != nil {
		return 0, err
	}
	defer release()
	return w.GetUint64(key)
}

// Close closes the WAL and its meta database.
func (h *healingLog) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		return nil
	}
	err := errors.Join(h.w.Close(), h.meta.Close())
	h.w, h.meta = nil, nil
	return err
}
