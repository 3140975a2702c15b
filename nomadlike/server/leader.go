package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// evalFailedFollowUpDelay is how long after an evaluation fails (delivery
// limit reached) its follow-up evaluation runs.
const evalFailedFollowUpDelay = 30 * time.Second

// leaderTerm is one period of leadership: its goroutines and how to stop them.
type leaderTerm struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// monitorLeadership starts the leader duties when this server gains
// leadership and stops them when it loses it, until ctx ends.
func (s *Server) monitorLeadership(ctx context.Context, leaderCh <-chan bool) {
	var term *leaderTerm
	stop := func() {
		if term == nil {
			return
		}
		s.leaderReady.Store(false)
		term.cancel()
		s.hb.clear() // pending timers hold wg slots
		term.wg.Wait()
		term = nil
		s.revokeLeadership()
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.reestablish:
			// The state was replaced (snapshot restore): rebuild the
			// broker, blocked evals and heartbeat timers from it.
			if term == nil {
				continue
			}
			s.logger.Info("state restored from a snapshot; restarting leader duties")
			stop()
			if !s.isRaftLeader() {
				continue
			}
			lctx, cancel := context.WithCancel(ctx)
			term = &leaderTerm{cancel: cancel}
			if err := s.establishLeadership(lctx, &term.wg); err != nil {
				s.logger.Error("could not re-establish leadership after a restore; stepping down", "error", err)
				stop()
				if f := s.raft.LeadershipTransfer(); f.Error() != nil {
					s.logger.Warn("leadership transfer failed", "error", f.Error())
				}
			}
		case isLeader := <-leaderCh:
			if !isLeader {
				if term != nil {
					s.logger.Info("lost leadership; stopping leader duties")
				}
				stop()
				continue
			}
			if term != nil {
				continue
			}
			lctx, cancel := context.WithCancel(ctx)
			term = &leaderTerm{cancel: cancel}
			if err := s.establishLeadership(lctx, &term.wg); err != nil {
				s.logger.Error("could not establish leadership; stepping down", "error", err)
				stop()
				if f := s.raft.LeadershipTransfer(); f.Error() != nil {
					s.logger.Warn("leadership transfer failed", "error", f.Error())
				}
				continue
			}
			s.logger.Info("gained leadership; leader duties started")
		}
	}
}

// establishLeadership waits until the FSM has applied every committed
// entry, restores the broker and blocked evals from state, and starts the
// leader's goroutines under ctx (tracked by wg).
func (s *Server) establishLeadership(ctx context.Context, wg *sync.WaitGroup) error {
	if err := s.raft.Barrier(raftApplyTimeout).Error(); err != nil {
		return fmt.Errorf("raft barrier: %w", err)
	}
	config, err := s.state.SchedulerConfig()
	if err != nil {
		return fmt.Errorf("read the scheduler configuration: %w", err)
	}
	paused := config != nil && config.PauseEvalBroker
	s.broker.setPaused(paused)
	s.broker.setEnabled(true)
	s.blocked.setEnabled(!paused)
	if !paused {
		if err := restoreEvals(s.state, s.broker, s.blocked); err != nil {
			return err
		}
	}
	// Every entry committed before this term is applied: serve reads and
	// accept writes from here on (the leader goroutines below write too).
	s.leaderReady.Store(true)
	start := func(name string, fn func(ctx context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
			s.logger.Debug("leader goroutine stopped", "name", name)
		}()
	}
	start("delayed_evals", s.broker.runDelayed)
	start("plan_applier", s.runPlanApplier)
	start("failed_evals", s.reapFailedEvals)
	start("canceled_evals", s.reapCancelableEvals)
	start("duplicate_blocked", s.reapDuplicateBlocked)
	start("reconcile", s.runReconcile)
	start("drainer", s.runDrainer)
	start("deployment_watcher", s.runDeploymentWatcher)
	start("periodic", s.runPeriodicDispatcher)
	start("gc", s.runGC)
	start("service_reaper", s.runServiceReaper)
	start("autoscaler", s.runAutoscaler)
	s.varLocks.reset(s.state, time.Now())
	start("keyring", s.runKeyring)
	if s.cfg.Backup.Interval > 0 {
		start("backups", s.runBackups)
	}
	for i := 0; i < s.cfg.NumSchedulers; i++ {
		w := &worker{srv: s, id: i, logger: s.logger.With("component", "worker", "worker", i), rng: s.newRand()}
		start("worker", w.run)
	}
	return s.hb.initialize(ctx, wg)
}

// revokeLeadership drops what only the leader keeps in memory.
func (s *Server) revokeLeadership() {
	s.broker.setEnabled(false)
	s.blocked.setEnabled(false)
	s.hb.clear()
}

// restoreEvals hands every pending evaluation in st to the broker and
// every blocked one to the blocked tracker (when leadership is gained or
// the operator resumes the broker).
func restoreEvals(st *state.Store, broker *evalBroker, blocked *blockedEvals) error {
	evals, err := st.Evals(nil, "*")
	if err != nil {
		return fmt.Errorf("restore evaluations: %w", err)
	}
	for _, e := range evals {
		switch e.Status {
		case structs.EvalStatusPending:
			broker.enqueue(e)
		case structs.EvalStatusBlocked:
			blocked.block(e)
		}
	}
	return nil
}

// reapFailedEvals marks evaluations that reached the broker's delivery limit
// failed, with a delayed follow-up evaluation so the job is retried later.
func (s *Server) reapFailedEvals(ctx context.Context) {
	for {
		failed, err := s.broker.takeFailed(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		var updates []*structs.Evaluation
		for _, e := range failed {
			f := e.Copy()
			f.Status = structs.EvalStatusFailed
			f.StatusDescription = fmt.Sprintf("evaluation failed %d times in the scheduler (see the server log for each error); a follow-up evaluation retries in %s", s.broker.deliveryLimit, evalFailedFollowUpDelay)
			f.ModifyTime = now.UnixNano()
			followUp := &structs.Evaluation{
				ID: structs.GenerateUUID(), Namespace: e.Namespace, Priority: e.Priority, Type: e.Type,
				TriggeredBy: structs.EvalTriggerFailedFollowUp, JobID: e.JobID, Status: structs.EvalStatusPending,
				Wait: evalFailedFollowUpDelay, WaitUntil: now.Add(evalFailedFollowUpDelay), PreviousEval: e.ID,
				CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
			}
			f.NextEval = followUp.ID
			updates = append(updates, f, followUp)
		}
		if _, err := s.raftApply(ctx, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: updates}); err != nil {
			s.logger.Error("could not mark evaluations failed", "count", len(failed), "error", err)
		}
	}
}

// reapDuplicateBlocked cancels blocked evaluations that were superseded or
// untracked and are still blocked in state.
func (s *Server) reapDuplicateBlocked(ctx context.Context) {
	for {
		dups, err := s.blocked.takeDuplicates(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		var updates []*structs.Evaluation
		for _, d := range dups {
			cur, err := s.state.EvalByID(nil, d.ID)
			if err != nil || cur == nil || cur.Status != structs.EvalStatusBlocked {
				continue
			}
			c := cur.Copy()
			c.Status = structs.EvalStatusCancelled
			c.StatusDescription = "canceled: a newer evaluation of the job replaced this blocked evaluation"
			c.ModifyTime = now
			updates = append(updates, c)
		}
		if len(updates) == 0 {
			continue
		}
		if _, err := s.raftApply(ctx, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: updates}); err != nil {
			s.logger.Error("could not cancel superseded blocked evaluations", "count", len(updates), "error", err)
		}
	}
}
