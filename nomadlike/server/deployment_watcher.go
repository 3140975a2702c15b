package server

import (
	"container/heap"
	"context"
	"log/slog"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// deploymentWatcherRetry is how soon the watcher looks again after a failed step.
const deploymentWatcherRetry = 5 * time.Second

// deploymentWatcherSweep is how often the watcher drops the deployments it
// tracks that are no longer active without it having seen them change:
// deleted ones (a deletion leaves nothing to read as a change).
const deploymentWatcherSweep = 5 * time.Minute

// deploymentWatcher drives the active deployments on the leader. It is
// made anew on every leadership change and rebuilds its state from the
// state store on its first pass (and again when a restore replaces the
// store's contents): the active deployments and what their last step
// returned. After that a pass reads only the deployments written since the
// table index it last saw, steps those, and re-steps the ones whose
// progress deadline came (a heap of deadlines, not a scan) or whose step
// failed: its cost follows what changed, not how many deployments are
// active (the benchmark's jobs each leave one that never finishes).
type deploymentWatcher struct {
	srv    *Server
	logger *slog.Logger
	// healthy is, per deployment, the healthy allocation count the last
	// evaluation was created for.
	healthy map[string]int
	// tracked is, per active deployment, what its last step left: until
	// the deployment changes or the deadline passes, a step would do the
	// same nothing.
	tracked map[string]trackedStep
	// built is set once tracked was built from the active deployments,
	// reading the store whose AbandonCh was abandon; since is the
	// deployment table index up to which tracked is current.
	built   bool
	abandon <-chan struct{}
	since   uint64
	// deadlines holds the progress deadlines steps returned, nearest
	// first; an entry whose deployment was stepped again since is stale.
	deadlines deadlineHeap
	// retry holds the deployments whose last step failed.
	retry map[string]bool
	// swept is when tracked was last checked against the active
	// deployments (deploymentWatcherSweep).
	swept time.Time
	// pass numbers the passes; examined counts the deployments the last
	// one stepped or read to step.
	pass     uint64
	examined int
}

// trackedStep is what deploymentWatcher.tracked keeps of a step.
type trackedStep struct {
	modifyIndex uint64
	next        time.Time // the progress deadline it returned (zero: none)
	pass        uint64    // the pass that made it
}

// deadlineAt is one entry of deploymentWatcher.deadlines.
type deadlineAt struct {
	at time.Time
	id string
}

// deadlineHeap is a min-heap of deadlines (container/heap).
type deadlineHeap []deadlineAt

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadlineAt)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newDeploymentWatcher(s *Server) *deploymentWatcher {
	return &deploymentWatcher{srv: s, logger: s.logger.With("component", "deployment_watcher"),
		healthy: map[string]int{}, tracked: map[string]trackedStep{}, retry: map[string]bool{}}
}

// runDeploymentWatcher watches the deployment table until ctx ends. Every
// write of a deployment (placements, health counts, status) and every
// progress deadline wakes it.
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	w := newDeploymentWatcher(s)
	for {
		ws := memdb.NewWatchSet()
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
	// core however much changes (every registration of a service job
	// writes a deployment).
	watcherRestFactor = 50
	// maxWatcherRest bounds the rest (Nomad's deployment watcher batches
	// its updates for 250 ms).
	maxWatcherRest = 250 * time.Millisecond
)

// watcherRest is how long the deployment watcher rests after a pass that
// took spent: a pass over a few deployments (microseconds) rests not at
// all; a long one (the first after a leadership change reads every active
// deployment) at most maxWatcherRest, during which the changes it would
// have woken for gather into the next pass.
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

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// once is one pass: it steps the deployments written since the last pass
// (every active one on the first), those whose progress deadline came and
// those whose last step failed, reading into ws, and returns the nearest
// progress deadline still ahead (zero when none).
func (w *deploymentWatcher) once(ctx context.Context, ws memdb.WatchSet, now time.Time) (time.Time, error) {
	st := w.srv.state
	if !w.built || closed(w.abandon) {
		w.reset(st.AbandonCh(), now)
	}
	ws.Add(w.abandon)
	w.pass++
	w.examined = 0
	var changed []*structs.Deployment
	var index uint64
	var err error
	if !w.built {
		// The index first: a deployment written after it is read again
		// as a change by the next pass.
		if index, err = st.WatchIndex(ws, "deployment"); err != nil {
			return time.Time{}, err
		}
		if changed, err = st.ActiveDeployments(nil); err != nil {
			return time.Time{}, err
		}
		w.built = true
	} else if changed, index, err = st.DeploymentsModifiedSince(ws, w.since); err != nil {
		return time.Time{}, err
	}
	w.since = max(w.since, index)
	var firstErr error
	stepOne := func(d *structs.Deployment) {
		if err := w.stepTracked(ctx, d, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, d := range changed {
		if t, ok := w.tracked[d.ID]; ok && t.modifyIndex == d.ModifyIndex && !w.retry[d.ID] {
			continue // stepped as it is (read again after a rebuild)
		}
		stepOne(d)
	}
	// Deadlines that came, then failed steps: re-read and step again.
	for len(w.deadlines) > 0 && !now.Before(w.deadlines[0].at) {
		due := heap.Pop(&w.deadlines).(deadlineAt)
		if t, ok := w.tracked[due.id]; ok && t.next.Equal(due.at) && t.pass != w.pass {
			w.restep(due.id, stepOne)
		}
	}
	for id := range w.retry {
		if w.tracked[id].pass != w.pass {
			w.restep(id, stepOne)
		}
	}
	if now.Sub(w.swept) >= deploymentWatcherSweep {
		if err := w.sweep(now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return w.nextDeadline(), firstErr
}

// reset forgets everything: the next pass rebuilds from the store whose
// AbandonCh is abandon.
func (w *deploymentWatcher) reset(abandon <-chan struct{}, now time.Time) {
	clear(w.healthy)
	clear(w.tracked)
	clear(w.retry)
	w.deadlines = nil
	w.built, w.abandon, w.since, w.swept = false, abandon, 0, now
}

// restep reads deployment id again and steps it with stepOne, or forgets
// it when it is gone or no longer active.
func (w *deploymentWatcher) restep(id string, stepOne func(*structs.Deployment)) {
	d, err := w.srv.state.DeploymentByID(nil, id)
	if err == nil && d != nil && d.Active() {
		stepOne(d)
		return
	}
	if err != nil {
		w.logger.Warn("deployment watcher could not read a deployment", "deployment_id", id, "error", err)
		return // kept in retry (or tracked) for the next pass
	}
	w.forget(id)
}

// stepTracked steps d (or forgets it when no longer active) and records
// what the step returned.
func (w *deploymentWatcher) stepTracked(ctx context.Context, d *structs.Deployment, now time.Time) error {
	if !d.Active() {
		w.forget(d.ID)
		return nil
	}
	w.examined++
	at, err := w.step(ctx, d, now)
	if err != nil {
		w.logger.Warn("deployment step failed", "deployment_id", d.ID, "job_id", d.JobID, "error", err)
		w.retry[d.ID] = true
		w.tracked[d.ID] = trackedStep{modifyIndex: d.ModifyIndex, pass: w.pass}
		return err
	}
	delete(w.retry, d.ID)
	w.tracked[d.ID] = trackedStep{modifyIndex: d.ModifyIndex, next: at, pass: w.pass}
	if !at.IsZero() {
		heap.Push(&w.deadlines, deadlineAt{at: at, id: d.ID})
	}
	return nil
}

// forget drops what the watcher keeps of deployment id.
func (w *deploymentWatcher) forget(id string) {
	delete(w.tracked, id)
	delete(w.healthy, id)
	delete(w.retry, id)
}

// sweep forgets the tracked deployments that are no longer active (the
// deleted ones: every other change is read as one).
func (w *deploymentWatcher) sweep(now time.Time) error {
	w.swept = now
	ds, err := w.srv.state.ActiveDeployments(nil)
	if err != nil {
		return err
	}
	active := make(map[string]bool, len(ds))
	for _, d := range ds {
		active[d.ID] = true
	}
	for id := range w.tracked {
		if !active[id] {
			w.forget(id)
		}
	}
	return nil
}

// nextDeadline drops the stale entries on top of the deadline heap and
// returns the nearest deadline (zero when none). When stale entries make
// up most of the heap it is rebuilt from tracked.
func (w *deploymentWatcher) nextDeadline() time.Time {
	if len(w.deadlines) > 2*len(w.tracked)+64 {
		w.deadlines = w.deadlines[:0]
		for id, t := range w.tracked {
			if !t.next.IsZero() {
				w.deadlines = append(w.deadlines, deadlineAt{at: t.next, id: id})
			}
		}
		heap.Init(&w.deadlines)
	}
	for len(w.deadlines) > 0 {
		top := w.deadlines[0]
		if t, ok := w.tracked[top.id]; ok && t.next.Equal(top.at) {
			return top.at
		}
		heap.Pop(&w.deadlines)
	}
	return time.Time{}
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
