package server

import (
	"context"
	"log/slog"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// blockedEvals tracks the evaluations the scheduler could not fully place:
// at most one per job. When capacity appears (a node becomes ready, an
// allocation becomes terminal) every tracked evaluation is handed back to the
// broker. It is enabled only on the leader. Safe for concurrent use.
type blockedEvals struct {
	logger *slog.Logger
	broker *evalBroker

	mu      sync.Mutex
	enabled bool
	byJob   map[jobKey]*structs.Evaluation
	// capacityIndex is the state index of the last capacity change. An eval
	// planned against an older snapshot missed it and is released at once.
	capacityIndex uint64
	// duplicates are blocked evals superseded by a newer one for the same
	// job; the leader marks them cancelled.
	duplicates []*structs.Evaluation
	dupCh      chan struct{}
}

func newBlockedEvals(logger *slog.Logger, broker *evalBroker) *blockedEvals {
	return &blockedEvals{logger: logger, broker: broker, byJob: map[jobKey]*structs.Evaluation{}, dupCh: make(chan struct{})}
}

// setEnabled turns tracking on or off; off forgets every tracked eval.
func (b *blockedEvals) setEnabled(enabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = enabled
	if !enabled {
		b.byJob = map[jobKey]*structs.Evaluation{}
		b.duplicates = nil
		b.capacityIndex = 0
	}
}

// block tracks a blocked evaluation, replacing (and cancelling) an older one
// for the same job. If capacity changed after the eval's snapshot it is
// released immediately.
func (b *blockedEvals) block(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	key := evalJobKey(eval)
	if cur, ok := b.byJob[key]; ok {
		if cur.ID == eval.ID {
			b.byJob[key] = eval
			return
		}
		if cur.CreateIndex > eval.CreateIndex {
			b.addDuplicateLocked(eval)
			return
		}
		b.addDuplicateLocked(cur)
		delete(b.byJob, key)
	}
	if eval.SnapshotIndex < b.capacityIndex {
		b.broker.enqueue(eval)
		return
	}
	b.byJob[key] = eval
}

func (b *blockedEvals) addDuplicateLocked(e *structs.Evaluation) {
	b.duplicates = append(b.duplicates, e)
	close(b.dupCh)
	b.dupCh = make(chan struct{})
}

// untrack forgets the job's blocked evaluation (the job was stopped, or an
// evaluation placed everything); it is marked cancelled.
func (b *blockedEvals) untrack(namespace, jobID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	key := jobKey{namespace, jobID}
	if cur, ok := b.byJob[key]; ok {
		delete(b.byJob, key)
		b.addDuplicateLocked(cur)
	}
}

// unblock records a capacity change at index and releases every tracked
// evaluation to the broker.
func (b *blockedEvals) unblock(index uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	if index > b.capacityIndex {
		b.capacityIndex = index
	}
	for key, e := range b.byJob {
		delete(b.byJob, key)
		b.broker.enqueue(e)
	}
}

// takeDuplicates waits for superseded blocked evals and returns them.
func (b *blockedEvals) takeDuplicates(ctx context.Context) ([]*structs.Evaluation, error) {
	for {
		b.mu.Lock()
		if len(b.duplicates) > 0 {
			out := b.duplicates
			b.duplicates = nil
			b.mu.Unlock()
			return out, nil
		}
		ch := b.dupCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// count returns the number of tracked blocked evaluations.
func (b *blockedEvals) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byJob)
}
