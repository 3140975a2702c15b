package server

import (
	"context"
	"log/slog"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// deploymentWatcherRetry is how soon the watcher looks again after a failed step.
const deploymentWatcherRetry = 5 * time.Second

// deploymentWatcher drives the active deployments on the leader. It keeps no
// state but which health counts it has already answered with an evaluation
// and which deployments were stepped unchanged (settled), so it is rebuilt
// from the state store on every leadership change.
type deploymentWatcher struct {
	srv    *Server
	logger *slog.Logger
	// healthy is, per deployment, the healthy allocation count the last
	// evaluation was created for.
	healthy map[string]int
	// settled is, per deployment, the ModifyIndex it had when a step last
	// succeeded and the progress deadline that step returned: until the
	// deployment changes or the deadline passes, a step would do the same
	// nothing, so a wake-up by another deployment's change skips it. A
	// cluster with thousands of running deployments then pays one map
	// lookup per deployment per change, not two job reads and a step.
	settled map[string]settledStep
	// live is once's scratch set of the active deployments' IDs, kept
	// between passes so a pass over thousands allocates nothing.
	live map[string]bool
}

// settledStep is what deploymentWatcher.settled keeps of a step.
type settledStep struct {
	modifyIndex uint64
	next        time.Time
}

// runDeploymentWatcher watches the deployment table until ctx ends. Every
// change of a deployment (placements, health counts, status) and every
// progress deadline wakes it.
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	w := &deploymentWatcher{srv: s, logger: s.logger.With("component", "deployment_watcher"), healthy: map[string]int{}, settled: map[string]settledStep{}, live: map[string]bool{}}
	for {
		ws := memdb.NewWatchSet()
		ws.Add(s.state.AbandonCh())
		start := time.Now()
		next, err := w.once(ctx, ws, start)
		rest := watcherRest(time.Since(start))
		if ctx.Err() != nil {
			return
		}
		wait := time.Duration(-1)
		if err != nil {
			w.logger.Error("deployment watcher step failed; retrying", "error", err, "retry_in", deploymentWatcherRetry)
			wait = deploymentWatcherRetry
		}
		if !next.IsZero() {
			if d := time.Until(next); wait < 0 || d < wait {
				wait = max(d, 0)
			}
		}
		waitForChange(ctx, ws, wait)
		if rest > 0 {
			sleepCtx(ctx, rest)
		}
	}
}

const (
	// watcherRestFactor is how many times the time of its last pass the
	// deployment watcher rests before the next: it uses at most 1/51 of a
	// core however many deployments are active (a pass reads them all, and
	// every registration of a service job changes one).
	watcherRestFactor = 50
	// maxWatcherRest bounds the rest (Nomad's deployment watcher batches
	// its updates for 250 ms).
	maxWatcherRest = 250 * time.Millisecond
)

// watcherRest is how long the deployment watcher rests after a pass that
// took spent: a pass over a few deployments (microseconds) rests not at
// all; one over thousands (milliseconds) at most maxWatcherRest, during
// which the changes it would have woken for gather into the next pass.
func watcherRest(spent time.Duration) time.Duration {
	rest := min(watcherRestFactor*spent, maxWatcherRest)
	if rest < time.Millisecond {
		return 0
	}
	return rest
}

// waitForChange blocks until something read into ws changes, ctx ends or,
// when wait >= 0, wait has passed: the loop step of the leader's watchers.
func waitForChange(ctx context.Context, ws memdb.WatchSet, wait time.Duration) {
	if wait < 0 {
		_ = ws.WatchCtx(ctx)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_ = ws.WatchCtx(wctx)
}

// once steps every active deployment, reading into ws, and returns the
// nearest progress deadline still ahead (zero when none).
func (w *deploymentWatcher) once(ctx context.Context, ws memdb.WatchSet, now time.Time) (time.Time, error) {
	ds, err := w.srv.state.ActiveDeployments(ws)
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	var firstErr error
	live := w.live
	clear(live)
	for _, d := range ds {
		if !d.Active() {
			continue
		}
		live[d.ID] = true
		var at time.Time
		if st, ok := w.settled[d.ID]; ok && st.modifyIndex == d.ModifyIndex && (st.next.IsZero() || now.Before(st.next)) {
			at = st.next
		} else {
			var err error
			at, err = w.step(ctx, d, now)
			if err != nil {
				w.logger.Warn("deployment step failed", "deployment_id", d.ID, "job_id", d.JobID, "error", err)
				if firstErr == nil {
					firstErr = err
				}
				delete(w.settled, d.ID)
			} else {
				w.settled[d.ID] = settledStep{modifyIndex: d.ModifyIndex, next: at}
			}
		}
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	for id := range w.healthy {
		if !live[id] {
			delete(w.healthy, id)
		}
	}
	for id := range w.settled {
		if !live[id] {
			delete(w.settled, id)
		}
	}
	return next, firstErr
}

// step takes the next action a running deployment calls for: fail it on an
// unhealthy allocation or a missed progress deadline, promote its canaries
// automatically, mark it successful, or ask the scheduler to continue when
// more allocations became healthy. It returns its next progress deadline.
func (w *deploymentWatcher) step(ctx context.Context, d *structs.Deployment, now time.Time) (time.Time, error) {
	s := w.srv
	if d.Status != structs.DeploymentStatusRunning {
		return time.Time{}, nil
	}
	job, err := s.state.JobByIDAndVersion(nil, d.Namespace, d.JobID, d.JobVersion)
	if err != nil {
		return time.Time{}, err
	}
	if job == nil {
		// The version is gone (purged): the scheduler cancels the deployment.
		return time.Time{}, nil
	}
	cur, err := s.state.JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return time.Time{}, err
	}
	if cur == nil || cur.Version != d.JobVersion || cur.Stop {
		// A newer version or a stop: the scheduler cancels this deployment.
		return time.Time{}, nil
	}
	// Unhealthy allocations fail the deployment, unless health is manual
	// (then the allocation-health endpoint fails it).
	failedGroups := map[string]bool{}
	for name, g := range d.TaskGroups {
		tg := job.LookupTaskGroup(name)
		manual := tg != nil && tg.Update != nil && tg.Update.HealthCheck == structs.UpdateStrategyHealthCheckManual
		if g.UnhealthyAllocs > 0 && !manual {
			failedGroups[name] = true
		}
	}
	if len(failedGroups) > 0 {
		revert := anyAutoRevert(d, func(name string, _ *structs.DeploymentState) bool { return failedGroups[name] })
		w.logger.Info("deployment failed: unhealthy allocations", "deployment_id", d.ID, "job_id", d.JobID, "auto_revert", revert)
		_, err := s.failDeployment(ctx, d, structs.DeploymentStatusDescriptionFailedAllocations, revert)
		return time.Time{}, err
	}
	// Progress deadline of the groups not done yet.
	var next time.Time
	for _, g := range d.TaskGroups {
		if g.GroupDone() || g.ProgressDeadline == 0 || g.RequireProgressBy.IsZero() {
			continue
		}
		if !now.Before(g.RequireProgressBy) {
			revert := anyAutoRevert(d, nil)
			w.logger.Info("deployment failed: progress deadline", "deployment_id", d.ID, "job_id", d.JobID, "auto_revert", revert)
			_, err := s.failDeployment(ctx, d, structs.DeploymentStatusDescriptionProgressDeadline, revert)
			return time.Time{}, err
		}
		if next.IsZero() || g.RequireProgressBy.Before(next) {
			next = g.RequireProgressBy
		}
	}
	if d.Done() {
		return time.Time{}, w.succeed(ctx, d)
	}
	if autoPromotable(d) {
		allocs, err := s.state.AllocsByDeployment(nil, d.ID)
		if err != nil {
			return next, err
		}
		if _, err := state.PromotableGroups(d, allocs, true, nil); err == nil {
			w.logger.Info("promoting canaries automatically", "deployment_id", d.ID, "job_id", d.JobID)
			_, err := s.promote(ctx, d, true, nil)
			return next, err
		}
	}
	healthy := 0
	for _, g := range d.TaskGroups {
		healthy += g.HealthyAllocs
	}
	if seen, ok := w.healthy[d.ID]; healthy > 0 && (!ok || healthy > seen) {
		eval := deploymentEval(d, cur, now) // cur is d's version
		if _, err := s.raftApply(ctx, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{eval}}); err != nil {
			return next, err
		}
		w.healthy[d.ID] = healthy
	} else if !ok {
		w.healthy[d.ID] = healthy
	}
	return next, nil
}

// autoPromotable reports whether d waits for a promotion that every such
// group lets happen automatically.
func autoPromotable(d *structs.Deployment) bool {
	waiting := false
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted {
			if !g.AutoPromote {
				return false
			}
			waiting = true
		}
	}
	return waiting
}

// succeed marks d successful and its job version stable.
func (w *deploymentWatcher) succeed(ctx context.Context, d *structs.Deployment) error {
	s := w.srv
	w.logger.Info("deployment successful", "deployment_id", d.ID, "job_id", d.JobID, "job_version", d.JobVersion)
	req := &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusSuccessful,
			StatusDescription: structs.DeploymentStatusDescriptionSuccessful},
		UpdatedAt: time.Now().UnixNano(),
	}
	if _, err := s.raftApply(ctx, structs.DeploymentStatusUpdateRequestType, req); err != nil {
		return err
	}
	stable := &structs.JobStabilityRequest{Namespace: d.Namespace, JobID: d.JobID, JobVersion: d.JobVersion, Stable: true}
	if _, err := s.raftApply(ctx, structs.JobStabilityRequestType, stable); err != nil {
		w.logger.Warn("could not mark job version stable", "job_id", d.JobID, "job_version", d.JobVersion, "error", err)
	}
	return nil
}
