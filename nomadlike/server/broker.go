package server

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// errBrokerDisabled is returned by Dequeue when this server stops being the leader.
var errBrokerDisabled = errors.New("eval broker is disabled: this server is not the leader")

// jobKey names a job across namespaces.
type jobKey struct{ namespace, id string }

func evalJobKey(e *structs.Evaluation) jobKey { return jobKey{e.Namespace, e.JobID} }

// unackedEval is an evaluation handed to a worker and not yet acknowledged.
type unackedEval struct {
	eval  *structs.Evaluation
	token string
	timer *time.Timer
	since time.Time // when a worker dequeued it
}

// evalBroker queues pending evaluations for the scheduler workers. It is
// enabled only on the leader; while disabled every call is a no-op and
// Dequeue fails. At most one evaluation per job is ready or outstanding at
// a time; later ones for the same job wait in the job's pending queue. All
// methods are safe for concurrent use.
type evalBroker struct {
	logger        *slog.Logger
	now           func() time.Time
	newToken      func() string
	nackTimeout   time.Duration
	nackDelay     time.Duration
	deliveryLimit int

	mu      sync.Mutex
	enabled bool
	// paused is the operator's PauseEvalBroker: a paused broker queues and
	// hands out nothing (workers wait) until it is resumed.
	paused     bool
	ready      map[string]*evalHeap           // by scheduler (job) type
	readySince map[string]time.Time           // by eval ID: when it entered a ready queue
	pending    map[jobKey]*evalHeap           // waiting behind jobEvals
	jobEvals   map[jobKey]string              // the job's ready, delayed-by-nack or unacked eval
	unack      map[string]*unackedEval        // by eval ID
	requeue    map[string]*structs.Evaluation // enqueued again while unacked
	queued     map[string]bool                // IDs in ready, pending or delayed
	delayed    delayHeap
	deliveries map[string]int
	failed     []*structs.Evaluation // reached the delivery limit
	// cancelable are pending evaluations superseded by a newer one of the
	// same job (coalesce.go); the leader cancels them in batches.
	cancelable []canceledEval
	cancelCh   chan struct{} // closed when cancelable grows
	readyCh    chan struct{} // closed when evals become ready or the broker is disabled
	delayCh    chan struct{} // closed when the delay heap changes
	failedCh   chan struct{} // closed when an eval fails
}

func newEvalBroker(logger *slog.Logger, nackTimeout, nackDelay time.Duration, deliveryLimit int) *evalBroker {
	b := &evalBroker{
		logger: logger, now: time.Now, newToken: structs.GenerateUUID,
		nackTimeout: nackTimeout, nackDelay: nackDelay, deliveryLimit: deliveryLimit,
	}
	b.resetLocked()
	return b
}

// resetLocked empties every queue and stops nack timers.
func (b *evalBroker) resetLocked() {
	for _, u := range b.unack {
		u.timer.Stop()
	}
	b.ready = map[string]*evalHeap{}
	b.readySince = map[string]time.Time{}
	b.pending = map[jobKey]*evalHeap{}
	b.jobEvals = map[jobKey]string{}
	b.unack = map[string]*unackedEval{}
	b.requeue = map[string]*structs.Evaluation{}
	b.queued = map[string]bool{}
	b.delayed = nil
	b.deliveries = map[string]int{}
	b.failed = nil
	if b.readyCh != nil {
		close(b.readyCh)
	}
	b.readyCh = make(chan struct{})
	if b.delayCh != nil {
		close(b.delayCh)
	}
	b.delayCh = make(chan struct{})
	if b.failedCh != nil {
		close(b.failedCh)
	}
	b.failedCh = make(chan struct{})
	b.cancelable = nil
	if b.cancelCh != nil {
		close(b.cancelCh)
	}
	b.cancelCh = make(chan struct{})
}

// setEnabled turns the broker on (leadership gained) or off (lost); turning
// it off drops every queued evaluation, which the next leader restores from state.
func (b *evalBroker) setEnabled(enabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enabled = enabled
	if !enabled {
		b.resetLocked()
	}
}

// enqueue adds a pending evaluation (or a blocked one being released).
func (b *evalBroker) enqueue(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled || b.paused {
		return
	}
	b.enqueueLocked(eval)
}

func (b *evalBroker) enqueueLocked(eval *structs.Evaluation) {
	if _, ok := b.unack[eval.ID]; ok {
		b.requeue[eval.ID] = eval
		return
	}
	if b.queued[eval.ID] {
		return
	}
	if eval.WaitUntil.After(b.now()) {
		b.delayLocked(eval, eval.WaitUntil)
		return
	}
	b.makeReadyLocked(eval)
}

// delayLocked holds eval until readyAt.
func (b *evalBroker) delayLocked(eval *structs.Evaluation, readyAt time.Time) {
	b.queued[eval.ID] = true
	heap.Push(&b.delayed, delayedEval{eval: eval, readyAt: readyAt})
	close(b.delayCh)
	b.delayCh = make(chan struct{})
}

// makeReadyLocked puts eval in its type's ready queue, or behind the job's
// outstanding evaluation.
func (b *evalBroker) makeReadyLocked(eval *structs.Evaluation) {
	b.queued[eval.ID] = true
	key := evalJobKey(eval)
	if eval.JobID != "" {
		if cur, ok := b.jobEvals[key]; ok && cur != eval.ID {
			h := b.pending[key]
			if h == nil {
				h = &evalHeap{}
				b.pending[key] = h
			}
			h.push(eval)
			return
		}
		b.jobEvals[key] = eval.ID
	}
	h := b.ready[eval.Type]
	if h == nil {
		h = &evalHeap{}
		b.ready[eval.Type] = h
	}
	h.push(eval)
	b.readySince[eval.ID] = b.now()
	close(b.readyCh)
	b.readyCh = make(chan struct{})
}

// dequeue returns the highest-priority ready evaluation of one of the given
// scheduler types and a token for Ack/Nack, waiting until one is ready, ctx
// ends or the broker is disabled.
func (b *evalBroker) dequeue(ctx context.Context, types []string) (*structs.Evaluation, string, error) {
	for {
		b.mu.Lock()
		if !b.enabled {
			b.mu.Unlock()
			return nil, "", errBrokerDisabled
		}
		if b.paused {
			ch := b.readyCh
			b.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, "", ctx.Err()
			}
		}
		var best *evalHeap
		for _, t := range types {
			h := b.ready[t]
			if h == nil || h.Len() == 0 {
				continue
			}
			if best == nil || (evalHeap{h.peek(), best.peek()}).Less(0, 1) {
				best = h
			}
		}
		if best != nil {
			eval := best.pop()
			token := b.newToken()
			delete(b.queued, eval.ID)
			delete(b.readySince, eval.ID)
			b.deliveries[eval.ID]++
			id := eval.ID
			b.unack[id] = &unackedEval{eval: eval, token: token, since: b.now(), timer: time.AfterFunc(b.nackTimeout, func() {
				if err := b.nack(id, token); err == nil {
					b.logger.Warn("evaluation not acknowledged in time; redelivering", "eval_id", id, "timeout", b.nackTimeout)
				}
			})}
			b.mu.Unlock()
			return eval, token, nil
		}
		ch := b.readyCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

// outstanding reports whether the evaluation is held by a worker under token.
func (b *evalBroker) outstanding(evalID, token string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.unack[evalID]
	return ok && u.token == token
}

// takeUnackLocked removes and returns the outstanding eval if token matches.
func (b *evalBroker) takeUnackLocked(evalID, token string) (*unackedEval, error) {
	u, ok := b.unack[evalID]
	if !ok {
		return nil, fmt.Errorf("evaluation %s is not outstanding (it was redelivered or leadership changed)", evalID)
	}
	if u.token != token {
		return nil, fmt.Errorf("evaluation %s token does not match: another worker holds it now", evalID)
	}
	u.timer.Stop()
	delete(b.unack, evalID)
	return u, nil
}

// ack marks an evaluation done and releases the job's next evaluation.
func (b *evalBroker) ack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.takeUnackLocked(evalID, token)
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	delete(b.deliveries, evalID)
	b.coalesceLocked(evalJobKey(u.eval))
	b.releaseJobLocked(u.eval)
	if again, ok := b.requeue[evalID]; ok {
		delete(b.requeue, evalID)
		b.enqueueLocked(again)
	}
	return nil
}

// releaseJobLocked frees the job's slot and promotes its next pending eval.
func (b *evalBroker) releaseJobLocked(eval *structs.Evaluation) {
	key := evalJobKey(eval)
	if b.jobEvals[key] != eval.ID {
		return
	}
	delete(b.jobEvals, key)
	if h := b.pending[key]; h != nil && h.Len() > 0 {
		next := h.pop()
		if h.Len() == 0 {
			delete(b.pending, key)
		}
		b.makeReadyLocked(next)
	}
}

// nack gives an evaluation back after a failure: it is redelivered after
// nackDelay, or failed once it reached the delivery limit.
func (b *evalBroker) nack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.takeUnackLocked(evalID, token)
	if err != nil {
		return fmt.Errorf("nack: %w", err)
	}
	eval := u.eval
	if again, ok := b.requeue[evalID]; ok {
		delete(b.requeue, evalID)
		eval = again
	}
	if b.deliveries[evalID] >= b.deliveryLimit {
		delete(b.deliveries, evalID)
		b.releaseJobLocked(eval)
		b.failed = append(b.failed, eval)
		close(b.failedCh)
		b.failedCh = make(chan struct{})
		return nil
	}
	// The job keeps its slot (jobEvals) while the eval waits, so its later
	// evaluations stay behind it.
	b.delayLocked(eval, b.now().Add(b.nackDelay))
	return nil
}

// takeFailed waits for evaluations that reached the delivery limit and
// returns them; the leader marks them failed in the state.
func (b *evalBroker) takeFailed(ctx context.Context) ([]*structs.Evaluation, error) {
	for {
		b.mu.Lock()
		if len(b.failed) > 0 {
			out := b.failed
			b.failed = nil
			b.mu.Unlock()
			return out, nil
		}
		ch := b.failedCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// runDelayed moves delayed evaluations to the ready queues when their time
// comes, until ctx ends. The leader runs it.
func (b *evalBroker) runDelayed(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		now := b.now()
		for len(b.delayed) > 0 && !b.delayed[0].readyAt.After(now) {
			d := heap.Pop(&b.delayed).(delayedEval)
			delete(b.queued, d.eval.ID)
			if b.enabled && !b.paused {
				b.makeReadyLocked(d.eval)
			}
		}
		wait := time.Hour
		if len(b.delayed) > 0 {
			wait = b.delayed[0].readyAt.Sub(now)
		}
		ch := b.delayCh
		b.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-timer.C:
		}
	}
}

// brokerStats counts the broker's queues.
type brokerStats struct {
	Ready, Unacked, Pending, Delayed int
	// OldestReady is, by scheduler type, how long the oldest ready
	// evaluation has waited for a worker; OldestUnacked how long the
	// oldest outstanding one has been held by a worker. Types with none
	// are absent.
	OldestReady, OldestUnacked map[string]time.Duration
}

func (b *evalBroker) stats() brokerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := brokerStats{OldestReady: map[string]time.Duration{}, OldestUnacked: map[string]time.Duration{}}
	now := b.now()
	for typ, h := range b.ready {
		s.Ready += h.Len()
		for _, e := range *h {
			keepOldest(s.OldestReady, typ, now.Sub(b.readySince[e.ID]))
		}
	}
	for _, h := range b.pending {
		s.Pending += h.Len()
	}
	s.Unacked = len(b.unack)
	for _, u := range b.unack {
		keepOldest(s.OldestUnacked, u.eval.Type, now.Sub(u.since))
	}
	s.Delayed = len(b.delayed)
	return s
}

// keepOldest records age for typ in m when it is the first or the oldest.
func keepOldest(m map[string]time.Duration, typ string, age time.Duration) {
	if cur, ok := m[typ]; !ok || age > cur {
		m[typ] = age
	}
}

// isEnabled reports whether the broker is enabled (this server leads).
func (b *evalBroker) isEnabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

// setPaused pauses or resumes the broker (the scheduler configuration's
// PauseEvalBroker). Pausing drops every queued evaluation (they stay pending
// in state); a paused broker accepts none and its workers wait. It reports
// whether the setting changed on an enabled broker (this server leads): the
// caller then pauses or resumes blocked-eval tracking and, on resume,
// restores the pending evaluations from state.
func (b *evalBroker) setPaused(paused bool) (changedOnLeader bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.paused == paused {
		return false
	}
	b.paused = paused
	// Reset on pause; on resume only wake the waiting workers.
	if paused {
		b.resetLocked()
	} else {
		close(b.readyCh)
		b.readyCh = make(chan struct{})
	}
	return b.enabled
}

// isPaused reports whether the operator paused the broker.
func (b *evalBroker) isPaused() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.paused
}
