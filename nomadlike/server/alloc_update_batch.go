package server

import (
	"context"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Client allocation updates from all nodes are coalesced into one Raft
// entry per allocUpdateBatchInterval, as Nomad's Node.UpdateAlloc does:
// with thousands of nodes each reporting every few hundred milliseconds,
// one entry per report queued hundreds of entries (each its own FSM
// transaction and job-summary refresh) in front of the scheduler's plans.
const (
	allocUpdateBatchInterval = 50 * time.Millisecond
	// allocUpdateBatchMax sends a batch early once it holds this many
	// allocations, bounding the entry's size.
	allocUpdateBatchMax = 4096
)

// allocUpdateBatch is the requests collected for one Raft entry; done is
// closed once the entry is applied (or failed), with index and err set.
type allocUpdateBatch struct {
	parts  []*structs.AllocClientUpdateRequest
	allocs int
	sent   bool
	done   chan struct{}
	index  uint64
	err    error
}

// allocUpdateBatcher collects client updates into the pending batch and
// commits it from a timer goroutine (one at a time).
type allocUpdateBatcher struct {
	// interval is allocUpdateBatchInterval unless a test sets it.
	interval time.Duration

	mu      sync.Mutex
	pending *allocUpdateBatch
}

// addAllocUpdates queues a client request's updates and returns the batch
// they will be committed in; the first addition to a batch arms its timer.
func (s *Server) addAllocUpdates(req *structs.AllocClientUpdateRequest) *allocUpdateBatch {
	b := &s.allocUpdates
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pending
	if p == nil {
		p = &allocUpdateBatch{done: make(chan struct{})}
		b.pending = p
		d := b.interval
		if d == 0 {
			d = allocUpdateBatchInterval
		}
		time.AfterFunc(d, func() { s.commitAllocUpdates(p) })
	}
	p.parts = append(p.parts, req)
	p.allocs += len(req.Allocs)
	if p.allocs >= allocUpdateBatchMax {
		b.pending = nil // full: the next update starts another batch
		go s.commitAllocUpdates(p)
	}
	return p
}

// commitAllocUpdates writes batch p as one Raft entry: an
// AllocClientUpdateBatchRequestType entry, or the one request's own
// AllocClientUpdateRequestType entry when it is alone. The timer and a
// full batch may both call it; the first wins.
func (s *Server) commitAllocUpdates(p *allocUpdateBatch) {
	b := &s.allocUpdates
	b.mu.Lock()
	if b.pending == p {
		b.pending = nil
	}
	sent := p.sent
	p.sent = true
	parts := p.parts
	b.mu.Unlock()
	if sent {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), raftApplyTimeout)
	defer cancel()
	if len(parts) == 1 {
		p.index, p.err = s.raftApply(ctx, structs.AllocClientUpdateRequestType, parts[0])
	} else {
		p.index, p.err = s.raftApply(ctx, structs.AllocClientUpdateBatchRequestType, &structs.AllocClientUpdateBatchRequest{Parts: parts})
	}
	close(p.done)
}

// wait returns the batch's index once it is applied, or ctx's error.
func (p *allocUpdateBatch) wait(ctx context.Context) (uint64, error) {
	NoticeWait(ctx)
	select {
	case <-p.done:
		return p.index, p.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
