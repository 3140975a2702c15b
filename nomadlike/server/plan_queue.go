package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// planRequest is a plan waiting for the applier, with where to send the answer.
type planRequest struct {
	plan  *structs.Plan
	token string
	resp  chan planResponse // buffered (1): the applier never blocks on it
}

type planResponse struct {
	result *structs.PlanResult
	err    error
}

// planQueue hands plans from workers to the single plan applier. An
// unbuffered channel: a worker waits until the applier takes its plan.
type planQueue struct {
	ch chan *planRequest
	// queued counts plans submitted and not yet taken (a metric; may be nil).
	queued *atomic.Int64
	// wait observes how long each plan waited for the applier to take it
	// (a metric; may be nil).
	wait prometheus.Observer
}

func newPlanQueue() *planQueue { return &planQueue{ch: make(chan *planRequest)} }

// submit waits for the applier to evaluate and commit plan, submitted under
// the evaluation's broker token.
func (q *planQueue) submit(ctx context.Context, token string, plan *structs.Plan) (*structs.PlanResult, error) {
	req := &planRequest{plan: plan, token: token, resp: make(chan planResponse, 1)}
	if q.queued != nil {
		q.queued.Add(1)
		defer q.queued.Add(-1)
	}
	start := time.Now()
	select {
	case q.ch <- req:
		if q.wait != nil {
			observeSince(q.wait, start)
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("plan queue: %w (is this server still the leader?)", ctx.Err())
	}
	select {
	case r := <-req.resp:
		return r.result, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for plan result: %w", ctx.Err())
	}
}
