package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Evaluation coalescing, as Nomad 1.4.3 does: the scheduler reads the
// newest state whichever evaluation of a job it runs, so of the
// evaluations waiting behind the job's outstanding one only one needs to
// run. When the outstanding evaluation is acked, the broker keeps the
// waiting evaluation with the highest priority (the newest among those)
// and hands the others to the leader, which marks them canceled in batched
// Raft entries, each pointing at the evaluation that covers it (NextEval,
// which `job run`'s monitor follows). Without it, 500 nodes joining made
// 500 serial scheduler runs of every system job.

// cancelBatchMax bounds the evaluations canceled by one Raft entry.
const cancelBatchMax = 512

// canceledEval is a superseded evaluation and the one that covers it.
type canceledEval struct {
	eval   *structs.Evaluation
	keptID string
}

// coalesceLocked keeps one of the job's pending evaluations and moves the
// others to cancelable.
func (b *evalBroker) coalesceLocked(key jobKey) {
	h := b.pending[key]
	if h == nil || h.Len() < 2 {
		return
	}
	keep := (*h)[0]
	for _, e := range *h {
		if e.Priority > keep.Priority || e.Priority == keep.Priority && e.CreateIndex > keep.CreateIndex {
			keep = e
		}
	}
	for _, e := range *h {
		if e != keep {
			delete(b.queued, e.ID)
			b.cancelable = append(b.cancelable, canceledEval{eval: e, keptID: keep.ID})
		}
	}
	b.pending[key] = &evalHeap{keep}
	close(b.cancelCh)
	b.cancelCh = make(chan struct{})
}

// takeCancelable waits for superseded evaluations and returns up to
// cancelBatchMax of them.
func (b *evalBroker) takeCancelable(ctx context.Context) ([]canceledEval, error) {
	for {
		b.mu.Lock()
		if n := min(len(b.cancelable), cancelBatchMax); n > 0 {
			out := b.cancelable[:n:n]
			b.cancelable = b.cancelable[n:]
			b.mu.Unlock()
			return out, nil
		}
		ch := b.cancelCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// reapCancelableEvals marks superseded evaluations canceled, a batch per
// Raft entry, until ctx ends. The leader runs it.
func (s *Server) reapCancelableEvals(ctx context.Context) {
	for {
		batch, err := s.broker.takeCancelable(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		var updates []*structs.Evaluation
		for _, c := range batch {
			cur, err := s.state.EvalByID(nil, c.eval.ID)
			if err != nil || cur == nil || cur.Status != structs.EvalStatusPending {
				continue
			}
			e := cur.Copy()
			e.Status = structs.EvalStatusCancelled
			e.StatusDescription = fmt.Sprintf("canceled: evaluation %s of the same job runs after it and covers it (waiting evaluations of one job are coalesced)", structs.ShortID(c.keptID))
			e.NextEval = c.keptID
			e.ModifyTime = now
			updates = append(updates, e)
		}
		if len(updates) == 0 {
			continue
		}
		if _, err := s.raftApply(ctx, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: updates}); err != nil {
			s.logger.Error("could not cancel superseded evaluations; they stay pending until the next leader runs them", "count", len(updates), "error", err)
		}
	}
}
