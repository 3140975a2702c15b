package server

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// planRequest is a plan waiting for the applier, with where to send the answer.
type planRequest struct {
	plan  *structs.Plan
	token string
	// seq orders plans of equal priority first come, first served.
	seq uint64
	// queuedAt is when the plan was submitted.
	queuedAt time.Time
	// gone is closed when the submitter stopped waiting (its context
	// ended): the applier drops the plan instead of committing it.
	gone <-chan struct{}
	resp chan planResponse // buffered (1): the applier never blocks on it
}

type planResponse struct {
	result *structs.PlanResult
	err    error
}

// planQueue hands plans from workers to the single plan applier, highest
// priority first, then in the order they were submitted (as Nomad's plan
// queue does): a system job's plan does not wait behind a batch backlog.
type planQueue struct {
	mu      sync.Mutex
	pending planHeap
	seq     uint64
	// ready receives a token (capacity 1) when a plan is pushed.
	ready chan struct{}
	// queued counts plans submitted and not yet taken (a metric; may be nil).
	queued *atomic.Int64
	// wait observes how long each plan waited for the applier to take it
	// (a metric; may be nil).
	wait prometheus.Observer
}

func newPlanQueue() *planQueue { return &planQueue{ready: make(chan struct{}, 1)} }

// submit waits for the applier to evaluate and commit plan, submitted under
// the evaluation's broker token.
func (q *planQueue) submit(ctx context.Context, token string, plan *structs.Plan) (*structs.PlanResult, error) {
	req := &planRequest{plan: plan, token: token, gone: ctx.Done(), resp: make(chan planResponse, 1)}
	q.push(req)
	select {
	case r := <-req.resp:
		return r.result, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for plan result: %w (is this server still the leader?)", ctx.Err())
	}
}

func (q *planQueue) push(req *planRequest) {
	q.mu.Lock()
	q.seq++
	req.seq, req.queuedAt = q.seq, time.Now()
	heap.Push(&q.pending, req)
	q.mu.Unlock()
	if q.queued != nil {
		q.queued.Add(1)
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop takes the highest-priority plan, or returns nil when none waits.
func (q *planQueue) pop() *planRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	if q.queued != nil {
		q.queued.Add(-1)
	}
	req := heap.Pop(&q.pending).(*planRequest)
	if q.wait != nil {
		observeSince(q.wait, req.queuedAt)
	}
	return req
}

// planHeap orders plans by priority (highest first), then by seq.
type planHeap []*planRequest

func (h planHeap) Len() int { return len(h) }
func (h planHeap) Less(i, j int) bool {
	if h[i].plan.Priority != h[j].plan.Priority {
		return h[i].plan.Priority > h[j].plan.Priority
	}
	return h[i].seq < h[j].seq
}
func (h planHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *planHeap) Push(x any)   { *h = append(*h, x.(*planRequest)) }
func (h *planHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}
