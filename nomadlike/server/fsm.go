package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fsm applies Raft log entries to the state store. Raft calls Apply,
// Snapshot and Restore from its own goroutines, one at a time. Applying is
// deterministic: every ID and timestamp comes from the entry. After a write
// the leader's components are told (they ignore it when disabled, which they
// are on followers).
type fsm struct {
	logger  *slog.Logger
	state   *state.Store
	broker  *evalBroker
	blocked *blockedEvals
	// events receives the events of every applied entry (event_fsm.go).
	events *eventBroker
	// applyTime observes each entry's apply time by message type (metrics.go).
	applyTime *prometheus.HistogramVec
	// observe, when set (tests), is told each applied entry's index and
	// Result, after its notifications.
	observe func(index uint64, res state.Result)

	// applied is the index of the last applied entry; waiters wake on change.
	mu      sync.Mutex
	applied uint64
	waitCh  chan struct{}
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(logger *slog.Logger, st *state.Store, broker *evalBroker, blocked *blockedEvals) *fsm {
	return &fsm{logger: logger, state: st, broker: broker, blocked: blocked, waitCh: make(chan struct{}),
		events: newEventBroker(eventBufferSize, eventQueueSize)}
}

// Apply implements raft.FSM. It returns nil or an error describing why the
// entry could not be applied (then nothing of it was applied).
//
// Every entry is: decode, one state store call (one transaction, see
// entryHandlers), then the leader's components are told from the returned
// change set and its events are published.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	defer f.setApplied(l.Index)
	return f.applyEntry(l)
}

// ApplyBatch implements raft.BatchingFSM: Raft hands the entries it
// committed together (up to MaxAppendEntries) in one call. The command
// entries are applied in log order, as many as applyBatched takes at a
// time in one state store transaction, each with its own change set,
// response, notifications and events at its own index, as if applied
// alone; if one of them fails, nothing of that transaction is committed
// and its entries are applied one by one as Apply does, each in its own
// transaction. Waiters on the applied index wake once, after the batch.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var last uint64
	defer func() {
		if last != 0 {
			f.setApplied(last)
		}
	}()
	for i := 0; i < len(logs); {
		n, ok := f.applyBatched(logs[i:])
		for j := i; j < i+n; j++ {
			if logs[j].Type != raft.LogCommand {
				continue
			}
			if !ok {
				out[j] = f.applyEntry(logs[j])
			}
			last = logs[j].Index
		}
		i += n
	}
	return out
}

// maxBatchChanges bounds a batch transaction: applyBatched adds no entry
// once the entries in it have changed this many objects. The radix tree
// tracks a transaction's nodes to notify up to a bound (32,768) and past
// it notifies by walking the whole trees of every index written, which
// would cost more than batching saves; about 16 nodes of a large table
// are tracked per object changed. A client's batch of 2,000 allocation
// updates is near that bound alone, so the entries before it in its
// transaction must add few: 128 objects is about 13 registrations, whose
// batching already saves most of what it can (a third of their apply CPU
// at 4 entries a transaction, BenchmarkFSMApply).
const maxBatchChanges = 128

// batchable reports whether an entry may join a batch transaction: not an
// empty or unknown one (applyEntry refuses, skips or stops on it), nor a
// scheduler configuration, whose notification reads the store.
func batchable(l *raft.Log) bool {
	if len(l.Data) == 0 {
		return false
	}
	msgType := structs.MessageType(l.Data[0])
	_, ok := entryHandlers[msgType]
	return ok && msgType != structs.SchedulerConfigRequestType
}

// applyBatched applies the command entries of a prefix of logs (n of
// them, non-command entries included) in one state store transaction
// (state.Store.Batch) and, once it is committed, tells the leader's
// components and publishes the events of each entry in log order. It
// stops before an entry that is not batchable and once the entries have
// changed maxBatchChanges objects. It reports ok false, having changed
// nothing, if one of the n fails, or if the first command entry is not
// batchable (then n ends with it).
func (f *fsm) applyBatched(logs []*raft.Log) (n int, ok bool) {
	type applied struct {
		h     entryHandler
		index uint64
		res   state.Result
	}
	for n < len(logs) && logs[n].Type != raft.LogCommand {
		n++
	}
	if n == len(logs) {
		return n, true
	}
	if !batchable(logs[n]) {
		return n + 1, false
	}
	var done []applied
	changes := 0
	err := f.state.Batch(func() error {
		for ; n < len(logs) && changes < maxBatchChanges; n++ {
			l := logs[n]
			if l.Type != raft.LogCommand {
				continue
			}
			if !batchable(l) {
				break
			}
			h := entryHandlers[structs.MessageType(l.Data[0])]
			var t *prometheus.Timer
			if f.applyTime != nil {
				t = prometheus.NewTimer(f.applyTime.WithLabelValues(h.name))
			}
			res, err := h.apply(f.state, l.Index, l.Data[1:])
			if t != nil {
				t.ObserveDuration()
			}
			if err != nil {
				n++ // the failed entry is one of the n
				return err
			}
			done = append(done, applied{h: h, index: l.Index, res: res})
			changes += len(res.Changes)
		}
		return nil
	})
	if err != nil {
		return n, false
	}
	for _, a := range done {
		f.tell(a.index, a.h, a.res)
	}
	return n, true
}

// applyEntry applies one command entry (see Apply).
func (f *fsm) applyEntry(l *raft.Log) any {
	if len(l.Data) == 0 {
		return fmt.Errorf("raft entry %d is empty", l.Index)
	}
	msgType := structs.MessageType(l.Data[0])
	h, ok := entryHandlers[msgType]
	if !ok {
		if msgType&structs.IgnoreUnknownTypeFlag != 0 {
			f.logger.Warn("skipping raft entry of unknown type marked ignorable",
				"type", msgType&^structs.IgnoreUnknownTypeFlag, "index", l.Index)
			return nil
		}
		// Continuing would make this server's state diverge from the
		// others: stop loudly instead.
		panic(fmt.Sprintf("raft entry %d has unknown message type %d: this server is older than the one that wrote the entry; upgrade it", l.Index, msgType))
	}
	if f.applyTime != nil {
		t := prometheus.NewTimer(f.applyTime.WithLabelValues(h.name))
		defer t.ObserveDuration()
	}
	res, err := h.apply(f.state, l.Index, l.Data[1:])
	if err != nil {
		f.logger.Error("applying raft entry failed", "index", l.Index, "type", msgType, "error", err)
		return fmt.Errorf("apply raft entry %d (type %d): %w", l.Index, msgType, err)
	}
	f.tell(l.Index, h, res)
	return nil
}

// tell tells the leader's components what the entry at index changed,
// and publishes its events.
func (f *fsm) tell(index uint64, h entryHandler, res state.Result) {
	f.notify(res)
	if f.observe != nil {
		f.observe(index, res)
	}
	f.events.publish(structs.Events{Index: index, Events: res.Events(h.event)})
}

// notify tells the leader's components what an applied entry changed (they
// ignore it when disabled, as on followers): stopped or purged jobs lose
// their blocked evaluation, pending evaluations go to the broker, blocked
// ones to the blocked tracker, a successful complete one releases its job's
// blocked evaluation, and freed capacity releases blocked evaluations.
func (f *fsm) notify(res state.Result) {
	for _, j := range res.StoppedJobs() {
		f.blocked.untrack(j.Namespace, j.ID)
	}
	for _, e := range res.Evals() {
		switch {
		case e.Status == structs.EvalStatusPending:
			f.broker.enqueue(e)
		case e.Status == structs.EvalStatusBlocked:
			f.blocked.block(e)
		case e.Status == structs.EvalStatusComplete && len(e.FailedTGAllocs) == 0:
			f.blocked.untrack(e.Namespace, e.JobID)
		}
	}
	if res.FreedCapacity() {
		f.blocked.unblock(res.Index)
	}
	// The operator's PauseEvalBroker takes effect with the entry that
	// stores it, so a DELETE /v1/evaluations right after is allowed.
	if c := res.SchedulerConfig(); c != nil && f.broker.setPaused(c.PauseEvalBroker) {
		f.blocked.setEnabled(!c.PauseEvalBroker)
		if !c.PauseEvalBroker {
			if err := restoreEvals(f.state, f.broker, f.blocked); err != nil {
				f.logger.Error("resume the eval broker: could not restore pending evaluations", "error", err)
			}
		}
		f.logger.Info("eval broker paused by the scheduler configuration", "paused", c.PauseEvalBroker)
	}
}

func (f *fsm) setApplied(index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index <= f.applied {
		return
	}
	f.applied = index
	close(f.waitCh)
	f.waitCh = make(chan struct{})
}

// appliedIndex returns the index of the last applied entry.
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// waitForIndex blocks until an entry at index or later is applied, or ctx ends.
func (f *fsm) waitForIndex(ctx context.Context, index uint64) error {
	for {
		f.mu.Lock()
		applied, ch := f.applied, f.waitCh
		f.mu.Unlock()
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for state index %d (at %d): %w", index, applied, ctx.Err())
		}
	}
}

// Snapshot implements raft.FSM: it captures a point-in-time view that
// Persist streams later, concurrently with Apply.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	snap, err := f.state.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot state: %w", err)
	}
	return &fsmSnapshot{snap: snap}, nil
}

// Restore implements raft.FSM: it replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	idx, err := restoreState(f.state, rc)
	if err != nil {
		return err
	}
	f.setApplied(idx)
	return nil
}
