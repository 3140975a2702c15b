package supervised

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Lifecycle is the part of drivers.Driver a Tasks table implements, plus
// Close, for a driver to embed (see the package doc). The zero value is not
// usable: get one from Tasks.Lifecycle.
type Lifecycle[X any] struct {
	ts *Tasks[X]
}

// RecoverTask re-attaches to a task started by an earlier driver instance.
// A task the table knows is left as it is. A task whose supervisor is gone
// is recovered as exited when the supervisor recorded its exit; otherwise
// RecoverTask kills the orphaned workload, if any, and returns an error
// wrapping drivers.ErrTaskNotFound.
func (l Lifecycle[X]) RecoverTask(ctx context.Context, h *drivers.TaskHandle) error {
	ts, k := l.ts, &l.ts.kind
	if h == nil || h.Config == nil {
		return fmt.Errorf("recover %s task: handle has no task config", k.Name)
	}
	id := h.Config.ID
	ts.mu.Lock()
	_, known := ts.tasks[id]
	ts.mu.Unlock()
	if known {
		return nil
	}
	st, data, err := decodeState[X](k.Name, h)
	if err != nil {
		return fmt.Errorf("recover task %q: %w", id, err)
	}
	client, err := supervisor.Attach(ctx, st.StateDir)
	if err == nil {
		if client.PID() != st.PID {
			return fmt.Errorf("recover task %q: supervisor in %s runs pid %d, the handle names pid %d: %w", id, st.StateDir, client.PID(), st.PID, drivers.ErrTaskNotFound)
		}
		ts.track(newTask(h.Config, st, client, data))
		ts.logger.Info(k.Noun+" recovered", "task", id, "pid", st.PID, "supervisor_pid", client.SupervisorPID())
		return nil
	}
	status, serr := supervisor.ReadStatus(st.StateDir)
	if serr != nil || status.Result == nil || status.PID != st.PID {
		why := "recorded no exit"
		if serr != nil {
			why = serr.Error()
		} else if status.PID == st.PID && supervisor.KillOrphan(status) {
			why = fmt.Sprintf("recorded no exit; its %s (pid %d) was still running unsupervised and has been killed", k.Workload, st.PID)
			ts.logger.Warn("killed unsupervised "+k.Noun+" "+k.Workload, "task", id, "pid", st.PID)
		}
		return fmt.Errorf("recover task %q: its supervisor (pid %d) is gone (%v) and %s: %w", id, st.SupervisorPID, err, why, drivers.ErrTaskNotFound)
	}
	t := newTask(h.Config, st, nil, data)
	t.finish(ts.result(t, status.Result), status.Result.CompletedAt)
	ts.track(t)
	ts.logger.Info(k.Noun+" exited while the agent was down", "task", id, "exit_code", status.Result.ExitCode, "signal", status.Result.Signal)
	return nil
}

// WaitTask returns a channel that yields the exit result once; it is closed
// without a value if ctx ends first. Each call gets its own channel.
func (l Lifecycle[X]) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	t, err := l.ts.Lookup(taskID)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-t.exited:
			ch <- t.result
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask sends signal (empty: SIGTERM), waits up to timeout, then kills
// the task and everything it started (the driver's Kind.BeforeStop may stop
// it another way first). It returns once the task is gone; stopping a task
// that has exited does nothing.
func (l Lifecycle[X]) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	ts := l.ts
	t, err := ts.Lookup(taskID)
	if err != nil {
		return err
	}
	sig, err := drivers.SignalOrDefault(signal, syscall.SIGTERM)
	if err != nil {
		return structs.NewBadRequest("stop task %q: %v", taskID, err)
	}
	if t.HasExited() || t.Client == nil {
		return nil
	}
	if ts.kind.BeforeStop != nil {
		var done bool
		if sig, timeout, done = ts.kind.BeforeStop(ctx, t, sig, timeout); done {
			return nil
		}
	}
	res, err := t.Client.Stop(ctx, sig, timeout)
	if err == nil {
		if res != nil {
			t.finish(ts.result(t, res), res.CompletedAt)
		}
		return nil
	}
	// The task may have exited on its own and its supervisor with it.
	settle := time.NewTimer(exitSettle)
	defer settle.Stop()
	select {
	case <-t.exited:
		return nil
	case <-ctx.Done():
	case <-settle.C:
	}
	return fmt.Errorf("stop task %q: %w", taskID, err)
}

// DestroyTask forgets the task, joining its waiter goroutine, and removes
// what it left (Kind.Cleanup); a running task needs force, which kills it.
func (l Lifecycle[X]) DestroyTask(ctx context.Context, taskID string, force bool) error {
	ts := l.ts
	t, err := ts.Lookup(taskID)
	if err != nil {
		return err
	}
	if !t.HasExited() && t.Client != nil {
		if !force {
			return structs.NewConflict("destroy task %q: %s is still running; stop it first or destroy with force", taskID, ts.kind.It)
		}
		if err := l.StopTask(ctx, taskID, 0, "SIGKILL"); err != nil {
			return fmt.Errorf("destroy task %q: %w", taskID, err)
		}
	}
	ts.forget(t)
	cleanup := ts.kind.Cleanup
	if cleanup == nil {
		cleanup = removeSupervisorFiles[X]
	}
	if err := cleanup(t); err != nil {
		return fmt.Errorf("destroy task %q: %w", taskID, err)
	}
	return nil
}

// removeSupervisorFiles is the default Kind.Cleanup.
func removeSupervisorFiles[X any](t *Task[X]) error {
	if err := RemoveFiles(SupervisorFiles(t.StateDir)...); err != nil {
		return fmt.Errorf("remove supervisor files: %w", err)
	}
	return nil
}

// InspectTask returns the task's status.
func (l Lifecycle[X]) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	t, err := l.ts.Lookup(taskID)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{ID: t.ID, Name: t.Config.Name, State: drivers.TaskStateRunning, StartedAt: t.StartedAt, PID: t.PID}
	if t.HasExited() {
		st.State = drivers.TaskStateExited
		st.CompletedAt = t.completedAt
		r := *t.result
		st.ExitResult = &r
	}
	return st, nil
}

// SignalTask sends a signal to the task's main process.
func (l Lifecycle[X]) SignalTask(ctx context.Context, taskID string, signal string) error {
	t, err := l.ts.Lookup(taskID)
	if err != nil {
		return err
	}
	sig, err := drivers.ParseSignal(signal)
	if err != nil {
		return structs.NewBadRequest("signal task %q: %v", taskID, err)
	}
	if t.HasExited() || t.Client == nil {
		return structs.NewConflict("signal task %q: %s has already exited", taskID, l.ts.kind.It)
	}
	if err := t.Client.Signal(ctx, sig); err != nil {
		return fmt.Errorf("signal task %q with %s: %w", taskID, signal, err)
	}
	return nil
}

// Close stops following tasks: it forgets them all and joins their waiter
// goroutines. The tasks keep running under their supervisors, as when the
// agent exits. Close may be called more than once.
func (l Lifecycle[X]) Close() {
	ts := l.ts
	ts.mu.Lock()
	tasks := ts.tasks
	ts.tasks = make(map[string]*Task[X])
	ts.mu.Unlock()
	for _, t := range tasks {
		t.cancel()
		<-t.waiterDone
	}
}
