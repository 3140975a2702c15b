package qemu

import (
	"context"
	"errors"
	"fmt"
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
	// powerdownTimeout bounds the QMP exchange that asks for an ACPI power-down.
	powerdownTimeout = 5 * time.Second
)

// StartTask checks the task's files and policies, then starts QEMU under a
// supervisor and returns once it runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("start task %q: TaskConfig.StateDir is empty; the client must give each task a state dir", cfg.ID)
	}
	d.mu.Lock()
	_, dup := d.tasks[cfg.ID]
	d.mu.Unlock()
	if dup {
		return nil, structs.NewConflict("start task %q: a task with this ID is already running under qemu", cfg.ID)
	}
	spec, st, err := d.spec(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if err := os.Remove(st.QMPSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("start task %q: remove the old QMP socket: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		return nil, fmt.Errorf("start task %q (%s): %w", cfg.ID, spec.Command, err)
	}
	st.SupervisorPID, st.PID, st.StartedAt = client.SupervisorPID(), client.PID(), client.StartedAt()
	t := newTask(cfg, st, client)
	h, err := t.handle()
	if err != nil {
		return nil, err
	}
	d.track(t)
	d.logger.Info("VM started", "task", cfg.ID, "pid", t.pid, "supervisor_pid", client.SupervisorPID(), "args", spec.Args)
	return h, nil
}

// spec builds the supervisor spec for cfg: every check that can fail does
// so here, before anything runs, with an error naming the key and the fix.
func (d *Driver) spec(ctx context.Context, cfg *drivers.TaskConfig) (*supervisor.Spec, driverState, error) {
	var st driverState
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, st, err
	}
	fp := d.fingerprint(ctx)
	if fp.Problem != "" {
		return nil, st, errors.New("the qemu driver is unhealthy on this node: " + fp.Problem)
	}
	v, err := d.buildVM(cfg, tc, fp)
	if err != nil {
		return nil, st, err
	}
	env := make(map[string]string, len(cfg.Env)+1)
	for k, val := range cfg.Env {
		env[k] = val
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = os.Getenv("PATH")
	}
	killSig, err := drivers.SignalOrDefault(cfg.KillSignal, syscall.SIGTERM)
	if err != nil {
		return nil, st, fmt.Errorf("kill_signal: %w", err)
	}
	spec := &supervisor.Spec{
		TaskID:          cfg.ID,
		Command:         fp.Emulator,
		Args:            v.args(),
		Env:             envList(env),
		Dir:             cfg.TaskDir,
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
	st.StateDir = cfg.StateDir
	st.QMPSocket = filepath.Join(cfg.TaskDir, qmpSocketName)
	st.Graceful = tc.GracefulShutdown
	return spec, st, nil
}

// buildVM applies the node's policies to the task config: accelerator,
// allowed args, allowed paths, resources and port forwards.
func (d *Driver) buildVM(cfg *drivers.TaskConfig, tc *taskConfig, fp *fingerprint) (*vm, error) {
	if cfg.TaskDir == "" {
		return nil, errors.New("TaskConfig.TaskDir is empty; the client must give each task a task dir")
	}
	v := &vm{Name: guestName(cfg.JobName, cfg.Name), Accel: tc.Accelerator, DriveInterface: tc.DriveInterface, KernelArgs: tc.KernelArgs}
	if v.Accel == "" {
		v.Accel = fp.defaultAccel()
	}
	if v.Accel == accelKVM && !fp.KVM {
		return nil, fmt.Errorf(`config.accelerator = "kvm" but KVM is not usable on this node (%s); use accelerator = "tcg", remove the key to let the node choose, or constrain the job to nodes where ${attr.driver.qemu.kvm} is "true"`, fp.KVMProblem)
	}
	if err := checkArgs(tc.Args, d.cfg.ArgsAllowlist); err != nil {
		return nil, err
	}
	v.ExtraArgs = tc.Args
	pp := pathPolicy{TaskDir: cfg.TaskDir, ImagePaths: d.cfg.ImagePaths}
	var err error
	for _, f := range []struct {
		key, val string
		dst      *string
	}{{"image_path", tc.ImagePath, &v.Image}, {"kernel", tc.Kernel, &v.Kernel}, {"initrd", tc.Initrd, &v.Initrd}} {
		if f.val == "" {
			continue
		}
		if *f.dst, err = pp.resolve(f.key, f.val); err != nil {
			return nil, err
		}
	}
	if v.Image != "" {
		if v.ImageFormat, err = imageFormat(v.Image); err != nil {
			return nil, fmt.Errorf("config.image_path %q: %w", tc.ImagePath, err)
		}
	}
	if v.MemoryMB, err = memoryMB(cfg.Resources); err != nil {
		return nil, err
	}
	v.CPUs = vCPUs(cfg.Resources)
	if v.Forwards, err = forwards(tc.PortMap, cfg.Ports); err != nil {
		return nil, err
	}
	return v, nil
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

// RecoverTask re-attaches to a VM started by an earlier driver instance.
func (d *Driver) RecoverTask(ctx context.Context, h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return errors.New("recover qemu task: handle has no task config")
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
		d.track(newTask(h.Config, *st, client))
		d.logger.Info("VM recovered", "task", id, "pid", st.PID, "supervisor_pid", client.SupervisorPID())
		return nil
	}
	status, serr := supervisor.ReadStatus(st.StateDir)
	if serr != nil || status.Result == nil || status.PID != st.PID {
		why := "recorded no exit"
		if serr != nil {
			why = serr.Error()
		} else if status.PID == st.PID && supervisor.KillOrphan(status) {
			why = fmt.Sprintf("recorded no exit; its QEMU process (pid %d) was still running unsupervised and has been killed", st.PID)
			d.logger.Warn("killed unsupervised VM", "task", id, "pid", st.PID)
		}
		return fmt.Errorf("recover task %q: its supervisor (pid %d) is gone (%v) and %s: %w", id, st.SupervisorPID, err, why, drivers.ErrTaskNotFound)
	}
	t := newTask(h.Config, *st, nil)
	t.finish(exitResult(status.Result), status.Result.CompletedAt)
	d.track(t)
	d.logger.Info("VM exited while the agent was down", "task", id, "exit_code", status.Result.ExitCode, "signal", status.Result.Signal)
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

// StopTask stops the VM. With graceful_shutdown it asks the guest to power
// down (ACPI, over QMP) and waits up to timeout, then kills QEMU; otherwise
// it sends signal (empty: SIGTERM, on which QEMU stops the VM at once),
// waits up to timeout, then kills. It returns once QEMU is gone.
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
	if t.graceful && sig != syscall.SIGKILL && timeout > 0 {
		if d.gracefulStop(ctx, t, timeout) {
			return nil
		}
		sig, timeout = syscall.SIGKILL, 0
	}
	res, err := t.client.Stop(ctx, sig, timeout)
	if err == nil {
		if res != nil {
			t.finish(exitResult(res), res.CompletedAt)
		}
		return nil
	}
	// The VM may have exited on its own and its supervisor with it.
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

// gracefulStop sends an ACPI power-down over QMP and waits up to timeout
// for the VM to exit. It reports whether the VM is gone.
func (d *Driver) gracefulStop(ctx context.Context, t *task, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if err := powerdown(ctx, t.qmpSocket); err != nil {
		d.logger.Warn("graceful shutdown: could not ask the guest to power down; killing the VM", "task", t.id, "error", err)
		return false
	}
	d.logger.Info("graceful shutdown: sent ACPI power-down", "task", t.id, "timeout", timeout)
	select {
	case <-t.exited:
		return true
	case <-ctx.Done():
		return false
	case <-deadline.C:
		d.logger.Warn("graceful shutdown: the guest did not power down within kill_timeout; killing the VM", "task", t.id, "timeout", timeout)
		return false
	}
}

// powerdown asks the guest behind the QMP socket to power down.
func powerdown(ctx context.Context, socket string) error {
	if socket == "" {
		return errors.New("the task has no QMP socket")
	}
	ctx, cancel := context.WithTimeout(ctx, powerdownTimeout)
	defer cancel()
	c, err := dialQMP(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.execute(ctx, "system_powerdown", nil); err != nil {
		return err
	}
	return nil
}

// DestroyTask forgets the task and removes its supervisor files and QMP
// socket; a running VM needs force, which kills it.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.lookup(taskID)
	if err != nil {
		return err
	}
	if !t.hasExited() && t.client != nil {
		if !force {
			return structs.NewConflict("destroy task %q: the VM is still running; stop it first or destroy with force", taskID)
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
	files := []string{t.qmpSocket}
	for _, f := range []string{supervisor.SpecFile, supervisor.StatusFile, supervisor.LogFile, supervisor.SocketFile} {
		files = append(files, filepath.Join(t.stateDir, f))
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy task %q: remove its files: %w", taskID, err)
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

// SignalTask sends a signal to the QEMU process.
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
		return structs.NewConflict("signal task %q: the VM has already exited", taskID)
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
