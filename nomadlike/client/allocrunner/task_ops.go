package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Operations a user asks of a running allocation (issue #3 and #6):
// restart a task in place, signal it, read its resource usage, and run a
// command inside it. Errors for the user's mistakes are *structs.CodedError
// 400s that name what to change.

// UserRestartReason is the reason recorded for a restart a user asked for.
const UserRestartReason = "User requested restart"

// restartAccept bounds how long a restart request waits for the task's run
// loop to take it (the loop is busy only while a task starts or stops).
const restartAccept = 10 * time.Second

// restartRequest asks a task's run loop to restart the running task.
type restartRequest struct {
	// done receives the outcome once; buffered.
	done chan error
	// reason is recorded on the restart events; "" is UserRestartReason.
	reason string
	// failure counts the restart against the restart policy (a failing
	// check's check_restart), which may then fail the task or delay it.
	failure bool
}

// running reports whether the task runs (a started or re-attached handle).
func (tr *taskRunner) running() (bool, string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.state.State == structs.TaskStateRunning && tr.handle != nil, tr.state.State
}

// notRunning is the 400 for an operation on a task that does not run.
func (tr *taskRunner) notRunning(op, state string) error {
	return structs.NewBadRequest("cannot %s task %q of allocation %s: it is %s, not running; check 'nomadlike alloc status %s'",
		op, tr.task.Name, structs.ShortID(tr.allocID), state, structs.ShortID(tr.allocID))
}

// Restart restarts the running task in place (same allocation, same task
// dir) through its run loop, without counting against the restart policy.
// It returns once the old process is gone and the new start is under way.
func (tr *taskRunner) Restart(ctx context.Context) error {
	return tr.restartBecause(ctx, UserRestartReason)
}

// restartBecause is Restart recording reason on the restart events.
func (tr *taskRunner) restartBecause(ctx context.Context, reason string) error {
	return tr.request(ctx, &restartRequest{done: make(chan error, 1), reason: reason})
}

// restartFailed restarts the running task as a failure: the restart policy
// decides (delay, or the task fails once its attempts are used up).
func (tr *taskRunner) restartFailed(ctx context.Context, reason string) error {
	return tr.request(ctx, &restartRequest{done: make(chan error, 1), reason: reason, failure: true})
}

// request hands a restart request to the run loop and waits for it.
func (tr *taskRunner) request(ctx context.Context, req *restartRequest) error {
	if ok, state := tr.running(); !ok {
		return tr.notRunning("restart", state)
	}
	timer := time.NewTimer(restartAccept)
	defer timer.Stop()
	select {
	case tr.restartCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-tr.killCh:
		return structs.NewBadRequest("cannot restart task %q: it is being stopped", tr.task.Name)
	case <-timer.C:
		_, state := tr.running()
		return tr.notRunning("restart", state)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restartInPlace, called by the run loop, stops the task for a restart
// and records it. It returns false when the loop ends: ctx ended (the client
// is shutting down) before the task stopped, or, for a failure, the restart
// policy failed the task.
func (tr *taskRunner) restartInPlace(ctx context.Context, ch <-chan *drivers.ExitResult, req *restartRequest) bool {
	now := tr.now()
	reason := req.reason
	if reason == "" {
		reason = UserRestartReason
	}
	ev := structs.NewTaskEvent(structs.TaskRestartSignal, now, reason)
	ev.RestartReason = reason
	ev.Details["restart_reason"] = reason
	tr.event(ev)
	tr.logger.Info("restarting task", "reason", reason)
	var res *drivers.ExitResult
	err := tr.driver.StopTask(ctx, tr.id(), tr.task.KillTimeout, tr.task.KillSignal)
	if err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		res = &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("stop for restart: %w", err)}
	} else {
		bound := time.NewTimer(tr.task.KillTimeout + 5*time.Second)
		defer bound.Stop()
		select {
		case res = <-ch:
		case <-ctx.Done():
			req.done <- ctx.Err()
			return false
		case <-bound.C:
			res = &drivers.ExitResult{ExitCode: -1, Err: fmt.Errorf("task did not exit %v after being stopped for a restart; it was killed", tr.task.KillTimeout+5*time.Second)}
		}
	}
	if res == nil {
		res = &drivers.ExitResult{ExitCode: -1, Err: errors.New("driver closed the wait channel without a result")}
	}
	tr.event(terminatedEvent(tr.now(), res))
	if err := tr.driver.DestroyTask(ctx, tr.id(), true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
		tr.logger.Warn("destroy task stopped for a restart", "error", err)
	}
	tr.setHandle(nil)
	if req.failure {
		req.done <- nil
		return tr.decide(ctx, tr.tracker.OnCheckFailure(tr.now()))
	}
	now = tr.now()
	tr.update(func(s *structs.TaskState) {
		s.State = structs.TaskStatePending
		s.Restarts++
		s.LastRestart = now
	}, restartingEvent(now, 0, reason))
	req.done <- nil
	return true
}

// Signal records a "Signaling" event and sends sig to the running task.
func (tr *taskRunner) Signal(ctx context.Context, sig string) error {
	return tr.signalBecause(ctx, sig, "User requested signal")
}

// signalBecause is Signal recording reason on the event.
func (tr *taskRunner) signalBecause(ctx context.Context, sig, reason string) error {
	if _, err := drivers.ParseSignal(sig); err != nil {
		return structs.NewBadRequest("signal task %q: %v", tr.task.Name, err)
	}
	if ok, state := tr.running(); !ok {
		return tr.notRunning("signal", state)
	}
	ev := structs.NewTaskEvent(structs.TaskSignaling, tr.now(), fmt.Sprintf("Task being sent signal %s: %s", sig, reason))
	ev.Details["signal"] = sig
	tr.event(ev)
	if err := tr.driver.SignalTask(ctx, tr.id(), sig); err != nil {
		return fmt.Errorf("signal task %q with %s: %w", tr.task.Name, sig, err)
	}
	return nil
}

// taskList names the allocation's tasks for error messages.
func (r *Runner) taskList() string {
	names := append([]string(nil), r.names...)
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// lookupTask returns the named task, or a 400 naming the tasks there are.
func (r *Runner) lookupTask(name string) (*taskRunner, error) {
	tr, ok := r.tasks[name]
	if !ok {
		return nil, structs.NewBadRequest("allocation %s has no task %q; its tasks are: %s", structs.ShortID(r.ID()), name, r.taskList())
	}
	return tr, nil
}

// forTasks runs f on the named task, or on every running task when name is
// empty (a 400 when none runs), concurrently, joining the errors.
func (r *Runner) forTasks(name, op string, f func(*taskRunner) error) error {
	if name != "" {
		tr, err := r.lookupTask(name)
		if err != nil {
			return err
		}
		return f(tr)
	}
	var targets []*taskRunner
	for _, n := range r.names {
		if ok, _ := r.tasks[n].running(); ok {
			targets = append(targets, r.tasks[n])
		}
	}
	if len(targets) == 0 {
		return structs.NewBadRequest("cannot %s allocation %s: none of its tasks (%s) is running", op, structs.ShortID(r.ID()), r.taskList())
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, tr := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(tr)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Restart restarts the named task, or every running task when task is
// empty, in place; user restarts do not count against the restart policy.
func (r *Runner) Restart(ctx context.Context, task string) error {
	return r.forTasks(task, "restart", func(tr *taskRunner) error { return tr.Restart(ctx) })
}

// Signal sends sig to the named task, or to every running task.
func (r *Runner) Signal(ctx context.Context, task, sig string) error {
	if _, err := drivers.ParseSignal(sig); err != nil {
		return structs.NewBadRequest("signal allocation %s: %v", structs.ShortID(r.ID()), err)
	}
	return r.forTasks(task, "signal", func(tr *taskRunner) error { return tr.Signal(ctx, sig) })
}

// Stats returns the resource usage of the allocation's running tasks whose
// drivers report it, and their sum.
func (r *Runner) Stats(ctx context.Context) (*structs.AllocResourceUsage, error) {
	type result struct {
		name string
		u    *structs.TaskResourceUsage
		err  error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []result
	)
	for _, name := range r.names {
		tr := r.tasks[name]
		sd, ok := tr.driver.(drivers.StatsDriver)
		if running, _ := tr.running(); !ok || !running {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := sd.TaskStats(ctx, tr.id())
			mu.Lock()
			results = append(results, result{name, u, err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := &structs.AllocResourceUsage{
		ResourceUsage: &structs.ResourceUsage{MemoryStats: &structs.MemoryStats{}, CpuStats: &structs.CpuStats{}},
		Tasks:         map[string]*structs.TaskResourceUsage{},
		Timestamp:     r.cfg.Now().UnixNano(),
	}
	var errs []error
	for _, res := range results {
		var coded *structs.CodedError
		switch {
		case res.err == nil:
			out.Tasks[res.name] = res.u
			out.ResourceUsage.Add(res.u.ResourceUsage)
		case errors.Is(res.err, drivers.ErrTaskNotFound), errors.As(res.err, &coded) && coded.Code == 409:
			// It exited between the check and the read: no usage to report.
		default:
			errs = append(errs, fmt.Errorf("task %q: %w", res.name, res.err))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 && len(out.Tasks) == 0 {
		return nil, fmt.Errorf("resource usage of allocation %s: %w", structs.ShortID(r.ID()), errors.Join(errs...))
	}
	return out, nil
}

// CheckExec reports why Exec could not run a command in the named task: an
// unknown task, a driver without exec, or a task that is not running.
func (r *Runner) CheckExec(task string) error {
	_, _, err := r.execTarget(task)
	return err
}

func (r *Runner) execTarget(task string) (*taskRunner, drivers.ExecDriver, error) {
	tr, err := r.lookupTask(task)
	if err != nil {
		return nil, nil, err
	}
	ed, ok := tr.driver.(drivers.ExecDriver)
	if !ok {
		return nil, nil, structs.NewBadRequest("task %q uses driver %q, which does not support exec; exec works with raw_exec and container tasks", task, tr.task.Driver)
	}
	if ok, state := tr.running(); !ok {
		return nil, nil, tr.notRunning("exec in", state)
	}
	return tr, ed, nil
}

// Exec runs a command inside the named running task.
func (r *Runner) Exec(ctx context.Context, task string, req *drivers.ExecRequest) (int, error) {
	tr, ed, err := r.execTarget(task)
	if err != nil {
		return -1, err
	}
	return ed.ExecTask(ctx, tr.id(), req)
}
