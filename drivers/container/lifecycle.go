package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/seccomp"

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

// StartTask prepares the task's image, then starts its container under a
// supervisor and returns once the container's process runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if reason := d.unhealthy(); reason != "" {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("start task %q: the container driver cannot run tasks here: %s", cfg.ID, reason)}
	}
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("start task %q: TaskConfig.StateDir is empty; the client must give each task a state dir", cfg.ID)
	}
	if d.cfg.CacheDir == "" {
		return nil, fmt.Errorf("start task %q: the container driver has no image cache dir; the agent must set Config.CacheDir", cfg.ID)
	}
	d.mu.Lock()
	_, dup := d.tasks[cfg.ID]
	d.mu.Unlock()
	if dup {
		return nil, structs.NewConflict("start task %q: a task with this ID is already running under the container driver", cfg.ID)
	}
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if err := checkPorts(tc.Ports, cfg.Ports); err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	began := time.Now()
	rec, err := d.images.Acquire(ctx, tc.Image, cfg.ID, tc.ForcePull)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	imageReady := time.Since(began)
	wl, spec, err := d.spec(cfg, tc, rec)
	if err != nil {
		d.releaseImage(cfg.ID)
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		d.releaseImage(cfg.ID)
		return nil, fmt.Errorf("start task %q (image %s): %w", cfg.ID, tc.Image, err)
	}
	t := newTask(cfg, cfg.StateDir, wl, client, client.PID(), client.StartedAt())
	h, err := t.handle()
	if err != nil {
		return nil, err
	}
	d.track(t)
	d.logger.Info("task started", "task", cfg.ID, "image", tc.Image.String(), "pid", t.pid,
		"supervisor_pid", client.SupervisorPID(), "image_ready", imageReady, "total", time.Since(began))
	return h, nil
}

// checkPorts checks that every label in config.ports is allocated.
func checkPorts(labels []string, ports []structs.PortMapping) error {
	var have []string
	for _, p := range ports {
		have = append(have, p.Label)
	}
	for _, l := range labels {
		if !slices.Contains(have, l) {
			if len(have) == 0 {
				return fmt.Errorf("config.ports: port %q is not allocated: the group has no network ports; add network { port %q {} } to the group", l, l)
			}
			return fmt.Errorf("config.ports: port %q is not allocated (the group's ports: %s); add it to the group's network block", l, strings.Join(have, ", "))
		}
	}
	return nil
}

// spec builds the container workload and the supervisor spec for cfg.
func (d *Driver) spec(cfg *drivers.TaskConfig, tc *taskConfig, rec *imageRecord) (workloadConfig, *supervisor.Spec, error) {
	caps, err := capabilities(tc, d.cfg.AllowCaps)
	if err != nil {
		return workloadConfig{}, nil, err
	}
	wl := workloadConfig{
		ContainerID: containerID(cfg.ID),
		StateRoot:   filepath.Join(cfg.StateDir, "libcontainer"),
		LowerDirs:   d.images.lowerDirs(rec),
		UpperDir:    filepath.Join(cfg.StateDir, "upper"),
		WorkDir:     filepath.Join(cfg.StateDir, "work"),
		Rootfs:      filepath.Join(cfg.StateDir, "rootfs"),
		User:        firstNonEmpty(tc.User, cfg.User, rec.Config.User),
	}
	if r := cfg.Resources; r != nil {
		wl.MemoryLimitMB = max(r.Memory.MemoryMB, r.Memory.MemoryMaxMB)
	}
	wl.Spec, err = buildSpec(specInput{
		Task: cfg, TC: tc, Image: rec, Rootfs: wl.Rootfs, Caps: caps, Volumes: d.cfg.VolumesEnabled,
		Seccomp: seccomp.Enabled, CPUMHz: cpuMHz(), SwapFile: swapFile(),
	})
	if err != nil {
		return workloadConfig{}, nil, err
	}
	raw, err := json.Marshal(wl)
	if err != nil {
		return workloadConfig{}, nil, fmt.Errorf("encode container workload: %w", err)
	}
	killSig, err := drivers.SignalOrDefault(cfg.KillSignal, syscall.SIGTERM)
	if err != nil {
		return workloadConfig{}, nil, fmt.Errorf("kill_signal: %w", err)
	}
	spec := &supervisor.Spec{
		TaskID:          cfg.ID,
		Command:         wl.Spec.Process.Args[0],
		Args:            wl.Spec.Process.Args[1:],
		Workload:        workloadKind,
		WorkloadConfig:  raw,
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
	return wl, spec, nil
}

// releaseImage drops the task's image lease and collects garbage.
func (d *Driver) releaseImage(taskID string) {
	if err := d.images.Release(taskID); err != nil {
		d.logger.Warn("release image", "task", taskID, "error", err)
	}
	if d.cfg.ImageGC {
		d.gc()
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
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
		return errors.New("recover container task: handle has no task config")
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
		d.track(newTask(h.Config, st.StateDir, st.Workload, client, st.PID, st.StartedAt))
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
	t := newTask(h.Config, st.StateDir, st.Workload, nil, st.PID, st.StartedAt)
	t.finish(exitResult(status.Result, st.Workload.MemoryLimitMB), status.Result.CompletedAt)
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
			t.finish(exitResult(res, t.workload.MemoryLimitMB), res.CompletedAt)
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
	// The supervisor cleans up after its container; this covers one that
	// died without doing so.
	if t.workload.ContainerID != "" {
		cleanupContainer(&t.workload, d.logger)
	}
	for _, f := range []string{supervisor.SpecFile, supervisor.StatusFile, supervisor.LogFile, supervisor.SocketFile, "libcontainer", "rootfs", "upper", "work"} {
		if err := os.RemoveAll(filepath.Join(t.stateDir, f)); err != nil {
			errs = append(errs, err)
		}
	}
	d.releaseImage(taskID)
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
