package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/client/restarts"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// taskRunner runs one task: prestart hooks, start, wait, and the restart
// policy's decision, until the task is dead or its ctx ends (client
// shutdown, which leaves the task running). Its run loop is the only writer
// of the driver handle; state is guarded by mu.
type taskRunner struct {
	task     *structs.Task
	allocID  string
	driver   drivers.Driver // nil: the node has no such driver
	drvNames []string
	dir      *allocdir.AllocDir
	stateDir string
	region   string
	jobType  string
	current  func() (*structs.Allocation, *structs.Node)
	store    stateStore
	hooks    []prestartHook
	tracker  *restarts.Tracker
	metrics  *Metrics
	logger   *slog.Logger
	now      func() time.Time
	// changed is called (without mu held) after every state change.
	changed func()
	// gate is closed when the task's lifecycle phase may start.
	gate <-chan struct{}
	// network is the allocation's own network namespace (nil: the host's);
	// set by the alloc runner before the task runs.
	network *drivers.NetworkIsolation
	// networkReady (nil: nothing to wait for) waits for the rest of the
	// allocation's network (bridge mode's firewall and port mappings),
	// which is set up while the task is prepared and started; the task is
	// reported running only once it is in place.
	networkReady func(context.Context) error
	// withdrawServices (set by the alloc runner) deregisters the task's
	// services (all of the allocation's when it is stopped) before the
	// kill; with wait, it returns once the servers have them removed (or
	// after deregisterTimeout, or ctx ends).
	withdrawServices func(ctx context.Context, wait bool)

	mu       sync.Mutex
	state    *structs.TaskState
	handle   *drivers.TaskHandle // restored or started handle
	killOnce sync.Once
	killCh   chan struct{}
	killEv   *structs.TaskEvent // event explaining the kill (e.g. sibling failed)
	// nowOnce closes nowCh: the kill is to skip the shutdown_delay (dev
	// agent shutdown, allocation removed), even one already being waited.
	nowOnce sync.Once
	nowCh   chan struct{}
	// restartCh carries user restart requests to the run loop while it
	// waits on a running task (task_ops.go); unbuffered.
	restartCh chan *restartRequest
}

// stateStore is the part of the client state DB a task runner writes.
type stateStore interface {
	PutTaskHandle(allocID, task string, h *drivers.TaskHandle) error
	DeleteTaskHandle(allocID, task string) error
	PutTaskState(allocID, task string, s *structs.TaskState) error
}

func (tr *taskRunner) id() string { return tr.allocID + "/" + tr.task.Name }

// State returns a copy of the task's state.
func (tr *taskRunner) State() *structs.TaskState {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.state.Copy()
}

// killNow asks the task to stop at once, without its shutdown_delay.
func (tr *taskRunner) killNow(ev *structs.TaskEvent) {
	tr.nowOnce.Do(func() { close(tr.nowCh) })
	tr.Kill(ev)
}

// Kill asks the task to stop, after its shutdown_delay; ev (optional) is
// recorded first to say why.
func (tr *taskRunner) Kill(ev *structs.TaskEvent) {
	tr.killOnce.Do(func() {
		tr.mu.Lock()
		tr.killEv = ev
		tr.mu.Unlock()
		close(tr.killCh)
	})
}

func (tr *taskRunner) killed() bool {
	select {
	case <-tr.killCh:
		return true
	default:
		return false
	}
}

// update changes the state under mu, persists it and notifies the alloc runner.
func (tr *taskRunner) update(f func(s *structs.TaskState), events ...*structs.TaskEvent) {
	tr.mu.Lock()
	if f != nil {
		f(tr.state)
	}
	for _, ev := range events {
		tr.state.Events = append(tr.state.Events, ev)
	}
	if n := len(tr.state.Events); n > structs.MaxTaskEvents {
		tr.state.Events = append([]*structs.TaskEvent(nil), tr.state.Events[n-structs.MaxTaskEvents:]...)
	}
	s := tr.state.Copy()
	tr.mu.Unlock()
	if err := tr.store.PutTaskState(tr.allocID, tr.task.Name, s); err != nil {
		tr.logger.Error("persist task state", "error", err)
	}
	tr.changed()
}

func (tr *taskRunner) event(ev *structs.TaskEvent) { tr.update(nil, ev) }

// dead marks the task dead; failed marks it failed.
func (tr *taskRunner) dead(failed bool, events ...*structs.TaskEvent) {
	now := tr.now()
	tr.update(func(s *structs.TaskState) {
		s.State = structs.TaskStateDead
		s.Failed = s.Failed || failed
		s.FinishedAt = now
	}, events...)
}

// run is the task's loop. It returns when the task is dead, or when ctx ends.
func (tr *taskRunner) run(ctx context.Context) {
	st := tr.State()
	if st.State == structs.TaskStateDead {
		return
	}
	if tr.driver == nil {
		err := fmt.Errorf("driver %q is not available on this node (node has: %v); check the job's driver name or enable the driver in the client config",
			tr.task.Driver, tr.drvNames)
		tr.dead(true, driverFailureEvent(tr.now(), err))
		return
	}
	tr.mu.Lock()
	restored := tr.handle
	tr.mu.Unlock()
	if restored != nil {
		err := tr.driver.RecoverTask(ctx, restored)
		if err == nil {
			tr.logger.Info("re-attached to running task")
			tr.waitLoop(ctx, true)
			return
		}
		if ctx.Err() != nil {
			return
		}
		tr.logger.Warn("could not re-attach to task; restarting it per its restart policy", "error", err)
		tr.setHandle(nil)
		msg := fmt.Sprintf("failed to re-attach to the task after a client restart: %v", err)
		tr.event(structs.NewTaskEvent(structs.TaskDriverMessage, tr.now(), msg))
		if !tr.decide(ctx, tr.tracker.OnStartError(true, tr.now())) {
			return
		}
	} else {
		if st.State == structs.TaskStatePending && len(st.Events) == 0 {
			tr.event(structs.NewTaskEvent(structs.TaskReceived, tr.now(), "Task received by client"))
		}
		if st.StartedAt.IsZero() && !tr.waitGate(ctx) {
			return
		}
	}
	tr.waitLoop(ctx, false)
}

// waitGate waits until the task's lifecycle phase may start (prestart tasks
// done, main tasks running, ...). It returns false when the task is killed
// first (it is then dead, with the event that says why) or ctx ends.
func (tr *taskRunner) waitGate(ctx context.Context) bool {
	if tr.gate == nil {
		return true
	}
	select {
	case <-tr.gate:
	default:
		tr.logger.Debug("task waits for its lifecycle phase")
		select {
		case <-tr.gate:
		case <-ctx.Done():
			return false
		case <-tr.killCh:
		}
	}
	if !tr.killed() {
		return true
	}
	tr.mu.Lock()
	ev := tr.killEv
	tr.mu.Unlock()
	if ev == nil {
		ev = structs.NewTaskEvent(structs.TaskKilled, tr.now(), "Task not started: the allocation was stopped")
	}
	tr.dead(false, ev)
	return false
}

// waitLoop starts the task (unless attached) and waits on it, restarting
// per policy, until it is dead or ctx ends.
func (tr *taskRunner) waitLoop(ctx context.Context, attached bool) {
	for {
		if ctx.Err() != nil {
			return
		}
		if tr.killed() {
			tr.dead(false, tr.killedEvents()...)
			return
		}
		if !attached {
			ok, cont := tr.start(ctx)
			if !ok {
				if !cont {
					return
				}
				continue
			}
		}
		attached = false
		ch, err := tr.driver.WaitTask(ctx, tr.id())
		var res *drivers.ExitResult
		if err != nil {
			res = &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("wait on task: %w", err)}
		} else {
			select {
			case <-ctx.Done():
				return // client shutdown: the task keeps running
			case <-tr.killCh:
				tr.stop(ctx, ch)
				return
			case req := <-tr.restartCh:
				if !tr.restartInPlace(ctx, ch, req) {
					return
				}
				continue
			case res = <-ch:
			}
		}
		if res == nil {
			res = &drivers.ExitResult{ExitCode: -1, Err: errors.New("driver closed the wait channel without a result")}
		}
		tr.exited(ctx, res)
		if tr.killed() {
			tr.dead(false, tr.killedEvents()...)
			return
		}
		if !tr.decide(ctx, tr.tracker.OnExit(res, tr.now())) {
			return
		}
	}
}

// start runs the prestart hooks and starts the task. ok reports a start;
// when not ok, cont reports whether the loop goes on (a restart is due).
func (tr *taskRunner) start(ctx context.Context) (ok, cont bool) {
	alloc, node := tr.current()
	req := &PrestartRequest{Alloc: alloc, Task: tr.task, Node: node, Region: tr.region, AllocDir: tr.dir, Driver: tr.driver}
	resp := &PrestartResponse{}
	for _, h := range tr.hooks {
		if err := h.Prestart(ctx, req, resp); err != nil {
			var ae *artifactError
			if errors.As(err, &ae) {
				ev := structs.NewTaskEvent(structs.TaskArtifactDownloadFailed, tr.now(), err.Error())
				ev.Details["download_error"] = err.Error()
				if ae.permanent {
					ev.FailsTask = true
					tr.dead(true, ev)
					return false, false
				}
				tr.event(ev)
				return false, tr.decide(ctx, tr.tracker.OnStartError(true, tr.now()))
			}
			var ve *validationError
			if errors.As(err, &ve) {
				ev := structs.NewTaskEvent(structs.TaskFailedValidation, tr.now(), err.Error())
				ev.FailsTask = true
				ev.Details["validation_error"] = err.Error()
				tr.dead(true, ev)
				return false, false
			}
			var fe *fatalSetupError
			if errors.As(err, &fe) {
				ev := structs.NewTaskEvent(structs.TaskSetupFailure, tr.now(), err.Error())
				ev.SetupError = err.Error()
				ev.FailsTask = true
				ev.Details["setup_error"] = err.Error()
				tr.dead(true, ev)
				return false, false
			}
			ev := structs.NewTaskEvent(structs.TaskSetupFailure, tr.now(), fmt.Sprintf("%s hook: %v", h.Name(), err))
			ev.SetupError = err.Error()
			tr.event(ev)
			return false, tr.decide(ctx, tr.tracker.OnStartError(true, tr.now()))
		}
	}
	for _, w := range resp.Warnings {
		tr.logger.Warn(w)
	}
	if len(resp.Unresolved) > 0 {
		tr.logger.Warn("driver config references unknown variables; they are passed unchanged", "unresolved", resp.Unresolved)
	}
	cfg := &drivers.TaskConfig{
		ID: tr.id(), Name: tr.task.Name, AllocID: tr.allocID, TaskGroupName: alloc.TaskGroup,
		Config: resp.Config, Env: resp.Env.Map(), User: tr.task.User,
		AllocDir: tr.dir.Dir, TaskDir: resp.TaskDir,
		LogDir: resp.LogDir, StdoutBase: resp.StdoutBase, StderrBase: resp.StderrBase,
		LogMaxFiles: resp.LogMaxFiles, LogMaxFileMB: resp.LogMaxFileMB,
		StateDir:    filepath.Join(tr.stateDir, tr.allocID, tr.task.Name),
		KillTimeout: tr.task.KillTimeout, KillSignal: tr.task.KillSignal,
		Mounts: resp.Mounts, Network: tr.network,
	}
	if alloc.Job != nil {
		cfg.JobName = alloc.Job.Name
	}
	if alloc.AllocatedResources != nil {
		cfg.Resources = alloc.AllocatedResources.Tasks[tr.task.Name]
		cfg.Ports = alloc.AllocatedResources.Shared.Ports
	}
	tr.event(structs.NewTaskEvent(structs.TaskSetup, tr.now(), "Building Task Directory"))
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		tr.event(driverFailureEvent(tr.now(), fmt.Errorf("create the task's state dir: %w", err)))
		return false, tr.decide(ctx, tr.tracker.OnStartError(true, tr.now()))
	}
	startedAt := time.Now()
	h, err := tr.driver.StartTask(ctx, cfg)
	tr.metrics.driverStarted(tr.task.Driver, startedAt)
	if err != nil {
		if ctx.Err() != nil {
			return false, false
		}
		tr.event(driverFailureEvent(tr.now(), fmt.Errorf("failed to start task %q with driver %s: %w", tr.task.Name, tr.task.Driver, err)))
		return false, tr.decide(ctx, tr.tracker.OnStartError(true, tr.now()))
	}
	if tr.networkReady != nil {
		// A client shutting down meanwhile keeps the task (its restart
		// completes the network); a failed network fails the task; a kill
		// ends the wait at once: the task is then stopped as a running
		// one (waitLoop sees the kill), and the allocation's teardown
		// stops the rest of the network's setup.
		err := tr.waitNetwork(ctx)
		if err != nil && ctx.Err() == nil && tr.killed() {
			tr.setHandle(h)
			return true, true
		}
		if err != nil && ctx.Err() == nil {
			if derr := tr.driver.DestroyTask(context.WithoutCancel(ctx), tr.id(), true); derr != nil {
				tr.logger.Warn("stop the task whose network failed", "error", derr)
			}
			ev := structs.NewTaskEvent(structs.TaskSetupFailure, tr.now(), fmt.Sprintf("network: %v", err))
			ev.SetupError = err.Error()
			ev.FailsTask = true
			tr.dead(true, ev)
			return false, false
		}
	}
	tr.setHandle(h)
	// What the driver wants the user to know about how the task runs (e.g.
	// a container without a seccomp profile) becomes a task event.
	for _, w := range h.Warnings {
		tr.event(structs.NewTaskEvent(structs.TaskDriverMessage, tr.now(), w))
	}
	now := tr.now()
	tr.update(func(s *structs.TaskState) {
		s.State = structs.TaskStateRunning
		s.StartedAt = now
		s.FinishedAt = time.Time{}
	}, structs.NewTaskEvent(structs.TaskStarted, now, "Task started by client"))
	return true, true
}

// waitNetwork waits for the rest of the allocation's network until it is
// in place or failed, ctx ends or the task is killed.
func (tr *taskRunner) waitNetwork(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-tr.killCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return tr.networkReady(ctx)
}

func (tr *taskRunner) setHandle(h *drivers.TaskHandle) {
	tr.mu.Lock()
	tr.handle = h
	tr.mu.Unlock()
	var err error
	if h != nil {
		err = tr.store.PutTaskHandle(tr.allocID, tr.task.Name, h)
	} else {
		err = tr.store.DeleteTaskHandle(tr.allocID, tr.task.Name)
	}
	if err != nil {
		tr.logger.Error("persist task handle; a client restart may not re-attach to this task", "error", err)
	}
}

// exited records a task exit and releases the driver's resources for it.
func (tr *taskRunner) exited(ctx context.Context, res *drivers.ExitResult) {
	tr.logger.Info("task exited", "exit_code", res.ExitCode, "signal", res.Signal, "error", res.Err)
	tr.event(terminatedEvent(tr.now(), res))
	if err := tr.driver.DestroyTask(ctx, tr.id(), true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		tr.logger.Warn("destroy exited task", "error", err)
	}
	tr.setHandle(nil)
}

// decide applies a restart decision. It returns true when the loop should
// start the task again (after the delay has passed).
func (tr *taskRunner) decide(ctx context.Context, d restarts.Decision) bool {
	now := tr.now()
	switch d.Action {
	case restarts.Complete:
		tr.dead(false)
		return false
	case restarts.Fail:
		tr.dead(true, notRestartingEvent(now, d.Reason))
		return false
	}
	tr.update(func(s *structs.TaskState) {
		s.State = structs.TaskStatePending
		s.Restarts++
		s.LastRestart = now
	}, restartingEvent(now, d.Delay, d.Reason))
	t := time.NewTimer(d.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tr.killCh:
		tr.dead(false, tr.killedEvents()...)
		return false
	case <-t.C:
		return true
	}
}

// stop kills the running task: its services are deregistered, its
// shutdown_delay waited (group's too when the allocation is stopped), then
// the kill signal, kill_timeout, and force. A client shutdown (ctx) during
// the delay leaves the task running.
func (tr *taskRunner) stop(ctx context.Context, ch <-chan *drivers.ExitResult) {
	tr.mu.Lock()
	pre := tr.killEv
	tr.mu.Unlock()
	if pre != nil {
		tr.event(pre)
	}
	if res, exited, ok := tr.shutdownDelay(ctx, ch); !ok {
		return
	} else if exited {
		tr.exited(ctx, res)
		tr.dead(false, structs.NewTaskEvent(structs.TaskKilled, tr.now(), "Task exited during its shutdown_delay"))
		return
	}
	tr.event(killingEvent(tr.now(), tr.task.KillTimeout))
	var killErr error
	if err := tr.driver.StopTask(ctx, tr.id(), tr.task.KillTimeout, tr.task.KillSignal); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		killErr = err
	}
	if killErr == nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-time.After(tr.task.KillTimeout + 5*time.Second):
			killErr = fmt.Errorf("task did not exit %v after being killed", tr.task.KillTimeout+5*time.Second)
		}
	}
	if err := tr.driver.DestroyTask(ctx, tr.id(), true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		tr.logger.Warn("destroy killed task", "error", err)
	}
	tr.setHandle(nil)
	ev := structs.NewTaskEvent(structs.TaskKilled, tr.now(), "Task successfully killed")
	if killErr != nil {
		ev = structs.NewTaskEvent(structs.TaskKilled, tr.now(), "Task kill failed: "+killErr.Error())
		ev.KillError = killErr.Error()
		tr.logger.Error("kill task", "error", killErr)
	}
	tr.dead(false, ev)
}

// shutdownDelay deregisters the task's services and waits its
// shutdown_delay: the task's, plus the group's when the allocation is
// stopped, none with no_shutdown_delay or a kill that skips it. exited
// reports the task exiting meanwhile (res); ok is false when ctx ended.
func (tr *taskRunner) shutdownDelay(ctx context.Context, ch <-chan *drivers.ExitResult) (res *drivers.ExitResult, exited, ok bool) {
	alloc, _ := tr.current()
	delay := tr.task.ShutdownDelay
	if alloc != nil && alloc.DesiredStatus != structs.AllocDesiredStatusRun && alloc.Job != nil {
		if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil && tg.ShutdownDelay != nil {
			delay += *tg.ShutdownDelay
		}
	}
	wait := delay > 0
	select {
	case <-tr.nowCh: // dev agent shutdown, allocation removed
		wait = false
	default:
	}
	if wait && alloc != nil && alloc.DesiredTransition.ShouldIgnoreShutdownDelay() {
		tr.event(structs.NewTaskEvent(structs.TaskSkippingShutdownDelay, tr.now(),
			fmt.Sprintf("Skipping shutdown_delay of %v before killing the task", delay)))
		wait = false
	}
	tr.withdrawServices(ctx, wait)
	if !wait {
		return nil, false, true
	}
	if ctx.Err() != nil {
		return nil, false, false
	}
	ev := structs.NewTaskEvent(structs.TaskWaitingShuttingDownDelay, tr.now(),
		fmt.Sprintf("Waiting for shutdown_delay of %v before killing the task", delay))
	ev.Details["shutdown_delay"] = delay.String()
	tr.event(ev)
	tr.logger.Info("waiting shutdown_delay before killing the task", "shutdown_delay", delay)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, false, false // client shutdown: the task keeps running
	case res := <-ch:
		if res == nil {
			if ctx.Err() != nil {
				return nil, false, false // the wait ended with ctx: client shutdown
			}
			res = &drivers.ExitResult{ExitCode: -1, Err: errors.New("driver closed the wait channel without a result")}
		}
		return res, true, true
	case <-tr.nowCh:
	case <-t.C:
	}
	return nil, false, true
}

// killedEvents are the events of a task killed while not running.
func (tr *taskRunner) killedEvents() []*structs.TaskEvent {
	tr.mu.Lock()
	pre := tr.killEv
	tr.mu.Unlock()
	var evs []*structs.TaskEvent
	if pre != nil {
		evs = append(evs, pre)
	}
	return append(evs, structs.NewTaskEvent(structs.TaskKilled, tr.now(), "Task successfully killed"))
}
