package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// updateBatch is how long changes are coalesced before being sent.
const updateBatch = 200 * time.Millisecond

// updater batches allocation status updates to the server: the latest copy
// per allocation, sent every ~200 ms, retried on error without losing any.
type updater struct {
	s       *Session
	mu      sync.Mutex
	pending map[string]*structs.Allocation
	notify  chan struct{} // size 1
	// failed is the batch whose last send failed and failedKey its
	// Idempotency-Key: resending exactly that batch reuses the key, so
	// the servers apply it once even if the failed send was applied.
	failed    map[string]*structs.Allocation
	failedKey string
}

func newUpdater(s *Session) *updater {
	return &updater{s: s, pending: map[string]*structs.Allocation{}, notify: make(chan struct{}, 1)}
}

// enqueue records the latest client view of an allocation, which the
// updater owns from then on. It never blocks.
func (u *updater) enqueue(a *structs.Allocation) {
	u.mu.Lock()
	u.pending[a.ID] = a
	u.mu.Unlock()
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

func (u *updater) run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-u.s.registered:
	}
	var wait time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.notify:
		}
		if !sleep(ctx, updateBatch) {
			return
		}
		if err := u.flush(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = retryIn(wait, err)
			u.s.cfg.Logger.Error("send allocation status failed; will retry", "retry_in", wait, "error", err)
			if !sleep(ctx, jittered(wait)) {
				return
			}
			select {
			case u.notify <- struct{}{}:
			default:
			}
			continue
		}
		wait = 0
	}
}

// flush sends every pending update once. On failure the updates go back,
// unless a newer copy of the same allocation arrived meanwhile.
func (u *updater) flush(ctx context.Context) error {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[string]*structs.Allocation{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	allocs := make([]*structs.Allocation, 0, len(batch))
	for _, a := range batch {
		// Shallow: Enqueue's caller handed a over (the alloc runners give
		// copies); only Job is left out, as the server has the job.
		cp := *a
		cp.Job = nil
		allocs = append(allocs, &cp)
	}
	// One order, so a resent batch is the identical request.
	slices.SortFunc(allocs, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	key := u.keyFor(batch)
	srv := u.s.server()
	u.s.stats.statusUpdates.Add(1)
	if _, err := srv.UpdateAllocations(ctx, u.s.NodeID(), allocs, key); err != nil {
		u.s.serverFailed(srv)
		u.mu.Lock()
		u.failed, u.failedKey = batch, key
		var apiErr *api.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity {
			// The key was used for another body: the next send gets a new one.
			u.failed, u.failedKey = nil, ""
		}
		for id, a := range batch {
			if _, newer := u.pending[id]; !newer {
				u.pending[id] = a
			}
		}
		u.mu.Unlock()
		return fmt.Errorf("update %d allocations on %s: %w", len(allocs), srv.Address(), err)
	}
	u.mu.Lock()
	u.failed, u.failedKey = nil, ""
	u.mu.Unlock()
	return nil
}

// keyFor returns the Idempotency-Key of batch: the failed batch's key when
// batch is that batch again (no newer copy of any allocation), a new one
// otherwise.
func (u *updater) keyFor(batch map[string]*structs.Allocation) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failedKey != "" && len(batch) == len(u.failed) {
		same := true
		for id, a := range batch {
			if u.failed[id] != a {
				same = false
				break
			}
		}
		if same {
			return u.failedKey
		}
	}
	return structs.GenerateUUID()
}
