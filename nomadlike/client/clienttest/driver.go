package clienttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DriverName is the name jobs use for Driver: driver = "test_exec".
const DriverName = "test_exec"

// Driver runs config {command = "...", args = [...], warning = "..."} as a process group,
// writing stdout and stderr to <LogDir>/<base>.0. Its handle's DriverState
// holds the pid, so a new Driver value (a restarted client) re-attaches with
// RecoverTask and watches the pid; the exit code of a recovered task is read
// from the exit file the original Driver writes in the task's StateDir.
type Driver struct {
	mu    sync.Mutex
	tasks map[string]*task
}

var _ drivers.Driver = (*Driver)(nil)

type task struct {
	cfg     *drivers.TaskConfig
	pid     int
	started time.Time
	done    chan struct{} // closed when the process is gone
	result  *drivers.ExitResult
}

type driverState struct {
	PID     int
	Started time.Time
}

// NewDriver returns a driver with no tasks.
func NewDriver() *Driver { return &Driver{tasks: map[string]*task{}} }

// Name implements drivers.Driver.
func (d *Driver) Name() string { return DriverName }

// Fingerprint implements drivers.Driver: healthy when /bin/sh exists.
func (d *Driver) Fingerprint(context.Context) *structs.DriverInfo {
	info := &structs.DriverInfo{Detected: true, Healthy: true, HealthDescription: "Healthy", UpdateTime: time.Now(),
		Attributes: map[string]string{"driver." + DriverName + ".version": "1"}}
	if _, err := os.Stat("/bin/sh"); err != nil {
		info.Healthy, info.HealthDescription = false, "/bin/sh not found"
	}
	return info
}

// ValidateConfig implements drivers.Driver: command is a required string,
// args an optional list of strings.
func (d *Driver) ValidateConfig(cfg map[string]any) error {
	for k := range cfg {
		if k != "command" && k != "args" && k != "warning" {
			return fmt.Errorf("config key %q is not supported (use command, args, warning)", k)
		}
	}
	if c, ok := cfg["command"].(string); !ok || c == "" {
		return errors.New(`config key "command" is required and must be a string`)
	}
	if _, err := args(cfg); err != nil {
		return err
	}
	return nil
}

func args(cfg map[string]any) ([]string, error) {
	switch a := cfg["args"].(type) {
	case nil:
		return nil, nil
	case []string:
		return a, nil
	case []any:
		out := make([]string, len(a))
		for i, v := range a {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("config key \"args\"[%d] must be a string, got %T", i, v)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("config key \"args\" must be a list of strings, got %T", cfg["args"])
}

// StartTask implements drivers.Driver.
func (d *Driver) StartTask(_ context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if err := d.ValidateConfig(cfg.Config); err != nil {
		return nil, err
	}
	a, _ := args(cfg.Config)
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(cfg.StateDir, "exit.json"))
	stdout, err := os.OpenFile(filepath.Join(cfg.LogDir, cfg.StdoutBase+".0"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(cfg.LogDir, cfg.StderrBase+".0"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := exec.Command(cfg.Config["command"].(string), a...)
	cmd.Dir = cfg.TaskDir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	for k, v := range cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	t := &task{cfg: cfg, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		res := &drivers.ExitResult{}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			ws := ee.Sys().(syscall.WaitStatus)
			res.ExitCode = ws.ExitStatus()
			if ws.Signaled() {
				res.Signal = int(ws.Signal())
			}
		case err != nil:
			res.Err = err
		}
		if b, err := json.Marshal(res); err == nil {
			_ = os.WriteFile(filepath.Join(cfg.StateDir, "exit.json"), b, 0o644)
		}
		t.result = res
		close(t.done)
	}()
	d.mu.Lock()
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	ds, _ := json.Marshal(driverState{PID: t.pid, Started: t.started})
	h := &drivers.TaskHandle{Version: 1, Config: cfg, State: drivers.TaskStateRunning, DriverState: ds}
	// "warning" stands for what a real driver tells the user at start (a
	// container without seccomp): it becomes the handle's Warnings.
	if w, ok := cfg.Config["warning"].(string); ok && w != "" {
		h.Warnings = []string{w}
	}
	return h, nil
}

// RecoverTask implements drivers.Driver: it watches the pid in the handle.
func (d *Driver) RecoverTask(_ context.Context, h *drivers.TaskHandle) error {
	var ds driverState
	if err := json.Unmarshal(h.DriverState, &ds); err != nil {
		return fmt.Errorf("decode driver state: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tasks[h.Config.ID]; ok {
		return nil
	}
	if !alive(ds.PID) {
		return fmt.Errorf("process %d: %w", ds.PID, drivers.ErrTaskNotFound)
	}
	t := &task{cfg: h.Config, pid: ds.PID, started: ds.Started, done: make(chan struct{})}
	go func() {
		for alive(t.pid) {
			time.Sleep(20 * time.Millisecond) // polling a pid we are not the parent of
		}
		res := &drivers.ExitResult{ExitCode: -1, Err: errors.New("exit status unknown")}
		if b, err := os.ReadFile(filepath.Join(h.Config.StateDir, "exit.json")); err == nil {
			var r drivers.ExitResult
			if json.Unmarshal(b, &r) == nil {
				res = &r
			}
		}
		t.result = res
		close(t.done)
	}()
	d.tasks[h.Config.ID] = t
	return nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if unix.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func (d *Driver) get(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, fmt.Errorf("task %s: %w", id, drivers.ErrTaskNotFound)
	}
	return t, nil
}

// WaitTask implements drivers.Driver.
func (d *Driver) WaitTask(ctx context.Context, id string) (<-chan *drivers.ExitResult, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		select {
		case <-t.done:
			ch <- t.result
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask implements drivers.Driver.
func (d *Driver) StopTask(_ context.Context, id string, timeout time.Duration, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	sig := unix.SIGTERM
	if signal != "" {
		if s := unix.SignalNum(signal); s != 0 {
			sig = s
		}
	}
	_ = unix.Kill(-t.pid, sig)
	select {
	case <-t.done:
		return nil
	case <-time.After(timeout):
	}
	_ = unix.Kill(-t.pid, unix.SIGKILL)
	select {
	case <-t.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("process %d did not exit after SIGKILL", t.pid)
	}
}

// DestroyTask implements drivers.Driver.
func (d *Driver) DestroyTask(ctx context.Context, id string, force bool) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	select {
	case <-t.done:
	default:
		if !force {
			return fmt.Errorf("task %s is still running", id)
		}
		if err := d.StopTask(ctx, id, 0, "SIGKILL"); err != nil {
			return err
		}
	}
	d.mu.Lock()
	delete(d.tasks, id)
	d.mu.Unlock()
	return nil
}

// InspectTask implements drivers.Driver.
func (d *Driver) InspectTask(id string) (*drivers.TaskStatus, error) {
	t, err := d.get(id)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{ID: id, Name: t.cfg.Name, State: drivers.TaskStateRunning, StartedAt: t.started, PID: t.pid}
	select {
	case <-t.done:
		st.State, st.ExitResult = drivers.TaskStateExited, t.result
	default:
	}
	return st, nil
}

// SignalTask implements drivers.Driver.
func (d *Driver) SignalTask(_ context.Context, id string, signal string) error {
	t, err := d.get(id)
	if err != nil {
		return err
	}
	s := unix.SignalNum(signal)
	if s == 0 {
		return fmt.Errorf("unknown signal %q", signal)
	}
	return unix.Kill(t.pid, s)
}

// ExecTask implements drivers.ExecDriver: req.Cmd runs with the task's
// environment in its task dir (no TTY).
func (d *Driver) ExecTask(ctx context.Context, id string, req *drivers.ExecRequest) (int, error) {
	t, err := d.get(id)
	if err != nil {
		return -1, err
	}
	if len(req.Cmd) == 0 {
		return -1, errors.New("exec: no command")
	}
	cmd := exec.CommandContext(ctx, req.Cmd[0], req.Cmd[1:]...)
	cmd.Dir = t.cfg.TaskDir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = req.Stdin, req.Stdout, req.Stderr
	for k, v := range t.cfg.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
