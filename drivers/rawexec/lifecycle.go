package rawexec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Nomad's defaults for settings a TaskConfig leaves zero.
const (
	defaultLogMaxFiles  = 10
	defaultLogMaxFileMB = 10
	defaultKillTimeout  = 5 * time.Second
	// exitSettle bounds how long StopTask waits for a racing exit to be recorded.
	exitSettle = 5 * time.Second
)

// StartTask starts the task under a supervisor and returns once it runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if !d.cfg.Enabled {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("start task %q: raw_exec driver is %s", cfg.ID, disabledHint)}
	}
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("start task %q: TaskConfig.StateDir is empty; the client must give each task a state dir", cfg.ID)
	}
	d.mu.Lock()
	_, dup := d.tasks[cfg.ID]
	d.mu.Unlock()
	if dup {
		return nil, structs.NewConflict("start task %q: a task with this ID is already running under raw_exec", cfg.ID)
	}
	spec, err := d.spec(cfg)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		return nil, fmt.Errorf("start task %q (%s): %w", cfg.ID, spec.Command, err)
	}
	t := newTask(cfg, cfg.StateDir, client, client.PID(), client.StartedAt())
	h, err := t.handle()
	if err != nil {
		return nil, err
	}
	d.track(t)
	d.logger.Info("task started", "task", cfg.ID, "pid", t.pid, "supervisor_pid", client.SupervisorPID())
	return h, nil
}

// spec builds the supervisor spec for cfg.
func (d *Driver) spec(cfg *drivers.TaskConfig) (*supervisor.Spec, error) {
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(cfg.Env)+1)
	for k, v := range cfg.Env {
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = os.Getenv("PATH")
	}
	command, err := resolveCommand(tc.Command, cfg.TaskDir, env["PATH"])
	if err != nil {
		return nil, err
	}
	cred, err := credential(cfg.User)
	if err != nil {
		return nil, err
	}
	killSig, err := drivers.SignalOrDefault(cfg.KillSignal, syscall.SIGTERM)
	if err != nil {
		return nil, fmt.Errorf("kill_signal: %w", err)
	}
	spec := &supervisor.Spec{
		TaskID:          cfg.ID,
		Command:         command,
		Args:            tc.Args,
		Env:             envList(env),
		Dir:             cfg.TaskDir,
		Credential:      cred,
		LogDir:          cfg.LogDir,
		StdoutBase:      orDefault(cfg.StdoutBase, cfg.Name+".stdout"),
		StderrBase:      orDefault(cfg.StderrBase, cfg.Name+".stderr"),
		LogMaxFiles:     positiveOr(cfg.LogMaxFiles, defaultLogMaxFiles),
		LogMaxFileBytes: int64(positiveOr(cfg.LogMaxFileMB, defaultLogMaxFileMB)) << 20,
		KillTimeout:     cfg.KillTimeout,
		KillSignal:      killSig,
		StateDir:        cfg.StateDir,
		Linger:          d.cfg.SupervisorLinger,
	}
	if spec.KillTimeout <= 0 {
		spec.KillTimeout = defaultKillTimeout
	}
	if spec.LogDir == "" {
		spec.LogDir = filepath.Join(cfg.AllocDir, "alloc", "logs")
	}
	return spec, nil
}

// track registers t and starts following its exit.
func (d *Driver) track(t *task) {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	d.mu.Lock()
	d.tasks[t.id] = t
	d.mu.Unlock()
	if t.client == nil {
		close(t.waiterDone)
		return
	}
	go t.follow(ctx)
}

// RecoverTask re-attaches to a task started by an earlier driver instance.
func (d *Driver) RecoverTask(ctx context.Context, h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return errors.New("recover raw_exec task: handle has no task config")
	}
	id := h.Config.ID
	d.mu.Lock()
	_, known := d.tasks[id]
	d.mu.Unlock()
	if known {
		return nil
	}
	st, err := decodeState(h)
	if err != nil {
		return fmt.Errorf("recover task %q: %w", id, err)
	}
	client, err := supervisor.Attach(ctx, st.StateDir)
	if err == nil {
		if client.PID() != st.PID {
			return fmt.Errorf("recover task %q: supervisor in %s runs pid %d, the handle names pid %d: %w", id, st.StateDir, client.PID(), st.PID, drivers.ErrTaskNotFound)
		}
		d.track(newTask(h.Config, st.StateDir, client, st.PID, st.StartedAt))
		d.logger.Info("task recovered", "task", id, "pid", st.PID, "supervisor_pid", client.SupervisorPID())
		return nil
	}
	status, serr := supervisor.ReadStatus(st.StateDir)
	if serr != nil || status.Result == nil || status.PID != st.PID {
		why := "recorded no exit"
		if serr != nil {
			why = serr.Error()
		} else if status.PID == st.PID && supervisor.KillOrphan(status) {
			why = fmt.Sprintf("recorded no exit; its workload (pid %d) was still running unsupervised and has been killed", st.PID)
			d.logger.Warn("killed unsupervised task workload", "task", id, "pid", st.PID)
		}
		return fmt.Errorf("recover task %q: its supervisor (pid %d) is gone (%v) and %s: %w", id, st.SupervisorPID, err, why, drivers.ErrTaskNotFound)
	}
	t := newTask(h.Config, st.StateDir, nil, st.PID, st.StartedAt)
	t.finish(exitResult(status.Result), status.Result.CompletedAt)
	d.track(t)
	d.logger.Info("task exited while the agent was down", "task", id, "exit_code", status.Result.ExitCode, "signal", status.Result.Signal)
	return nil
}

// WaitTask returns a channel that yields the exit result once; it is closed
// without a value if ctx ends first.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	t, err := d.lookup(taskID)
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
// the task's whole process tree. It returns once the task is gone.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	t, err := d.lookup(taskID)
	if err != nil {
		return err
	}
	sig, err := drivers.SignalOrDefault(signal, syscall.SIGTERM)
	if err != nil {
		return structs.NewBadRequest("stop task %q: %v", taskID, err)
	}
	if t.hasExited() || t.client == nil {
		return nil
	}
	res, err := t.client.Stop(ctx, sig, timeout)
	if err == nil {
		if res != nil {
			t.finish(exitResult(res), res.CompletedAt)
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

// DestroyTask forgets the task and removes its supervisor files; a running
// task needs force, which kills it.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.lookup(taskID)
	if err != nil {
		return err
	}
	if !t.hasExited() && t.client != nil {
		if !force {
			return structs.NewConflict("destroy task %q: it is still running; stop it first or destroy with force", taskID)
		}
		if err := d.StopTask(ctx, taskID, 0, "SIGKILL"); err != nil {
			return fmt.Errorf("destroy task %q: %w", taskID, err)
		}
	}
	t.cancel()
	<-t.waiterDone
	d.mu.Lock()
	delete(d.tasks, taskID)
	d.mu.Unlock()
	var errs []error
	for _, f := range []string{supervisor.SpecFile, supervisor.StatusFile, supervisor.LogFile, supervisor.SocketFile} {
		if err := os.Remove(filepath.Join(t.stateDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy task %q: remove supervisor files: %w", taskID, err)
	}
	return nil
}

// InspectTask returns the task's status.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	t, err := d.lookup(taskID)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{ID: t.id, Name: t.cfg.Name, State: drivers.TaskStateRunning, StartedAt: t.startedAt, PID: t.pid}
	if t.hasExited() {
		st.State = drivers.TaskStateExited
		st.CompletedAt = t.completedAt
		r := *t.result
		st.ExitResult = &r
	}
	return st, nil
}

// SignalTask sends a signal to the task's main process.
func (d *Driver) SignalTask(ctx context.Context, taskID string, signal string) error {
	t, err := d.lookup(taskID)
	if err != nil {
		return err
	}
	sig, err := drivers.ParseSignal(signal)
	if err != nil {
		return structs.NewBadRequest("signal task %q: %v", taskID, err)
	}
	if t.hasExited() || t.client == nil {
		return structs.NewConflict("signal task %q: it has already exited", taskID)
	}
	if err := t.client.Signal(ctx, sig); err != nil {
		return fmt.Errorf("signal task %q with %s: %w", taskID, signal, err)
	}
	return nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func positiveOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
