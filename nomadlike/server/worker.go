package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// workerIndexWait bounds how long a worker waits for the state to reach an
// evaluation's index before giving the evaluation back.
const workerIndexWait = 10 * time.Second

// worker is one scheduler goroutine on the leader: it dequeues an
// evaluation, runs the scheduler on a fresh snapshot and acks or nacks it.
//
// An evaluation's own writes (its status, the blocked or follow-up
// evaluations it creates) go to Raft without the worker waiting for them
// to commit: it hands the evaluation to its acker and goes on to the next.
// The acker acks an evaluation once all its writes are applied, or nacks
// it when one failed, in the order the worker finished them. Waiting for
// each commit (fsyncs on a quorum of servers) kept a worker idle most of
// the time: 2 workers drained about 150 evaluations a second at a
// fraction of the CPU, so a burst of registrations left the scheduler
// behind for minutes. Now up to maxUnackedWrites evaluations per worker
// are in flight, and Raft commits their writes together. The broker still
// hands out a job's next evaluation only after the ack, so evaluations of
// one job never overlap; a plan is submitted only after the evaluation's
// earlier writes are applied (evalPlanner.settle).
type worker struct {
	srv    *Server
	id     int
	logger *slog.Logger
	// rng seeds the worker's scheduler runs, one after another. Seeding a
	// math/rand source for each run (newRand) cost 1% of the servers' CPU
	// per job registration (a 4.9 KB table filled each time).
	rng *rand.Rand
}

// maxUnackedWrites bounds the evaluations one worker has finished but not
// yet acked (their writes in flight).
const maxUnackedWrites = 32

// finished is an evaluation the worker has processed, waiting for its
// writes to be applied before the acker acks it.
type finished struct {
	eval   *structs.Evaluation
	token  string
	writes []raft.ApplyFuture
	start  time.Time
}

// run processes evaluations until ctx ends (leadership lost or shutdown).
func (w *worker) run(ctx context.Context) {
	done := make(chan finished, maxUnackedWrites)
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for f := range done {
			w.ack(f)
		}
	}()
	defer func() {
		close(done)
		<-acked
	}()
	for {
		eval, token, err := w.srv.broker.dequeue(ctx, schedulerTypes)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, errBrokerDisabled) {
				w.logger.Error("dequeue evaluation", "error", err)
			}
			return
		}
		start := time.Now()
		w.logger.Debug("processing evaluation", "eval_id", eval.ID, "job_id", eval.JobID, "status", eval.Status, "triggered_by", eval.TriggeredBy)
		writes, err := w.process(ctx, eval, token)
		if err != nil {
			w.nack(eval, token, start, err)
			continue
		}
		done <- finished{eval: eval, token: token, writes: writes, start: start}
	}
}

// ack acks f's evaluation once its writes are applied, or nacks it.
func (w *worker) ack(f finished) {
	for _, fut := range f.writes {
		if _, err := w.srv.raftApplyResult(structs.EvalUpdateRequestType, fut); err != nil {
			w.nack(f.eval, f.token, f.start, fmt.Errorf("write evals: %w", err))
			return
		}
	}
	if aerr := w.srv.broker.ack(f.eval.ID, f.token); aerr != nil {
		w.logger.Warn("ack evaluation", "eval_id", f.eval.ID, "error", aerr)
	}
	observeSince(w.srv.metrics.workerEval.WithLabelValues(f.eval.Type, "ack"), f.start)
}

// nack gives eval back to the broker after err.
func (w *worker) nack(eval *structs.Evaluation, token string, start time.Time, err error) {
	w.logger.Error("evaluation failed; giving it back to the broker", "eval_id", eval.ID, "job_id", eval.JobID, "error", err)
	if nerr := w.srv.broker.nack(eval.ID, token); nerr != nil {
		w.logger.Warn("nack evaluation", "eval_id", eval.ID, "error", nerr)
	}
	observeSince(w.srv.metrics.workerEval.WithLabelValues(eval.Type, "nack"), start)
}

// process runs the scheduler for one evaluation. It returns the Raft
// writes of the evaluation still in flight, which must be applied before
// it is acked.
func (w *worker) process(ctx context.Context, eval *structs.Evaluation, token string) ([]raft.ApplyFuture, error) {
	wctx, cancel := context.WithTimeout(ctx, workerIndexWait)
	err := w.srv.fsm.waitForIndex(wctx, eval.ModifyIndex)
	cancel()
	if err != nil {
		return nil, err
	}
	snap, err := w.srv.state.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot state: %w", err)
	}
	snapIndex, err := snap.LatestIndex()
	if err != nil {
		return nil, fmt.Errorf("read snapshot index: %w", err)
	}
	p := &evalPlanner{w: w, ctxDone: ctx.Done(), eval: eval, token: token, snapIndex: snapIndex}
	sched, err := w.srv.cfg.newScheduler(eval.Type, w.logger, snap, p, w.rng, time.Now)
	if err != nil {
		if err := p.failEval(eval, fmt.Sprintf("no scheduler for this evaluation: %v", err)); err != nil {
			return nil, err
		}
		return p.writes, nil
	}
	if err := sched.Process(eval.Copy()); err != nil {
		return nil, errors.Join(fmt.Errorf("scheduler: %w", err), p.settle())
	}
	if len(p.blocked) > 0 {
		if err := p.writeEvals(); err != nil {
			return nil, err
		}
	}
	return p.writes, nil
}

// evalPlanner is the scheduler.Planner for one evaluation. It is used from
// the worker's goroutine only and lives as long as one Process call.
type evalPlanner struct {
	w       *worker
	ctxDone <-chan struct{}
	eval    *structs.Evaluation
	token   string
	// snapIndex is the index of the snapshot the scheduler works on.
	snapIndex uint64
	// blocked holds blocked evals created by CreateEval until UpdateEval,
	// which writes them in the same entry and gives them the placement
	// failures of the evaluation that created them.
	blocked []*structs.Evaluation
	// writes are the evaluation's Raft entries handed to Raft and not yet
	// waited for (see worker).
	writes []raft.ApplyFuture
}

// settle waits until the evaluation's writes so far are applied, so that
// what follows (a plan) commits after them.
func (p *evalPlanner) settle() error {
	for len(p.writes) > 0 {
		f := p.writes[0]
		p.writes = p.writes[1:]
		if _, err := p.w.srv.raftApplyResult(structs.EvalUpdateRequestType, f); err != nil {
			return fmt.Errorf("write evals (eval %s): %w", p.eval.ID, err)
		}
	}
	return nil
}

var _ scheduler.Planner = (*evalPlanner)(nil)

// opContext returns a context that ends when the worker's does, bounded by
// raftApplyTimeout: the Planner interface has no context parameter.
func (p *evalPlanner) opContext() (context.Context, context.CancelFunc) {
	return doneContext(p.ctxDone, raftApplyTimeout)
}

// SubmitPlan implements scheduler.Planner: the plan goes through the
// leader's plan queue; after a partial commit the scheduler gets a snapshot
// at least as fresh as the result's RefreshIndex.
func (p *evalPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	ctx, cancel := p.opContext()
	defer cancel()
	if err := p.settle(); err != nil {
		return nil, nil, err
	}
	if plan.SnapshotIndex == 0 {
		plan.SnapshotIndex = p.snapIndex
	}
	result, err := p.w.srv.planQ.submit(ctx, p.token, plan)
	if err != nil {
		return nil, nil, fmt.Errorf("submit plan for eval %s: %w", plan.EvalID, err)
	}
	if result.RefreshIndex == 0 {
		return result, nil, nil
	}
	if err := p.w.srv.fsm.waitForIndex(ctx, result.RefreshIndex); err != nil {
		return nil, nil, err
	}
	snap, err := p.w.srv.state.Snapshot()
	if err != nil {
		return nil, nil, fmt.Errorf("refresh snapshot: %w", err)
	}
	if idx, err := snap.LatestIndex(); err == nil {
		p.snapIndex = idx
	}
	return result, snap, nil
}

// UpdateEval implements scheduler.Planner. A blocked evaluation being
// retried that still cannot place everything arrives with its status left
// "blocked": writing it re-blocks it (the FSM hands it to the blocked
// tracker, which releases it at once if capacity changed meanwhile). Blocked evaluations created
// earlier in this run are written in the same Raft entry, carrying this
// evaluation's placement failures.
func (p *evalPlanner) UpdateEval(eval *structs.Evaluation) error {
	for _, b := range p.blocked {
		if len(b.FailedTGAllocs) == 0 && len(eval.FailedTGAllocs) > 0 {
			b.FailedTGAllocs = eval.Copy().FailedTGAllocs
			b.QueuedAllocations = eval.Copy().QueuedAllocations
		}
	}
	return p.writeEvals(eval)
}

// CreateEval implements scheduler.Planner. A blocked evaluation is written
// with the next UpdateEval (or when Process returns).
func (p *evalPlanner) CreateEval(eval *structs.Evaluation) error {
	if eval.CreateTime == 0 {
		eval.CreateTime = time.Now().UnixNano()
	}
	if eval.Status == structs.EvalStatusBlocked {
		p.blocked = append(p.blocked, eval.Copy())
		return nil
	}
	return p.writeEvals(eval)
}

// writeEvals hands the pending blocked evals and evals to Raft in one
// entry, without waiting for it to commit (see worker).
func (p *evalPlanner) writeEvals(evals ...*structs.Evaluation) error {
	ctx, cancel := p.opContext()
	defer cancel()
	now := time.Now().UnixNano()
	all := make([]*structs.Evaluation, 0, len(p.blocked)+len(evals))
	for _, e := range append(p.blocked, evals...) {
		c := e.Copy()
		if c.SnapshotIndex < p.snapIndex {
			c.SnapshotIndex = p.snapIndex
		}
		c.ModifyTime = now
		all = append(all, c)
	}
	f, err := p.w.srv.raftApplyAsync(ctx, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: all})
	if err != nil {
		return fmt.Errorf("write %d evals (eval %s): %w", len(all), p.eval.ID, err)
	}
	p.writes = append(p.writes, f)
	p.blocked = nil
	return nil
}

// failEval records an evaluation that can never succeed as failed.
func (p *evalPlanner) failEval(eval *structs.Evaluation, why string) error {
	e := eval.Copy()
	e.Status = structs.EvalStatusFailed
	e.StatusDescription = why
	return p.writeEvals(e)
}
