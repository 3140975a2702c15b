package rawexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

// writeFifo opens the fifo for writing (blocking until the task reads it)
// and writes a line.
func writeFifo(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("go\n"); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestRecoverRunningTask(t *testing.T) {
	first := New(Config{Enabled: true}, testLogger(t))
	cfg := shTask(t, `echo ready; while :; do sleep 0.05; done`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := first.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	drivertest.WaitForFileContains(t, filepath.Join(cfg.LogDir, cfg.StdoutBase+".0"), "ready")
	first.Close() // the agent goes away; the task must not

	second := newDriver(t)
	if err := second.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	st, err := second.InspectTask(cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if st.State != drivers.TaskStateRunning || drivertest.ProcessGone(st.PID) {
		t.Fatalf("recovered task state %q pid %d; want running and alive", st.State, st.PID)
	}
	if err := second.StopTask(ctx, cfg.ID, 5*time.Second, "SIGTERM"); err != nil {
		t.Fatalf("StopTask after recovery: %v", err)
	}
	res := wait(t, second, cfg.ID)
	if res.Signal != int(syscall.SIGTERM) {
		t.Errorf("recovered task ended with %+v, want killed by SIGTERM", res)
	}
	if !drivertest.ProcessGone(st.PID) {
		t.Errorf("task pid %d still alive after stop", st.PID)
	}
}

func TestRecoverAfterExitWhileAgentDown(t *testing.T) {
	first := New(Config{Enabled: true, SupervisorLinger: 100 * time.Millisecond}, testLogger(t))
	cfg := shTask(t, `read x < "$NOMAD_TASK_DIR/fifo" 2>/dev/null; exit 42`)
	// The task exits 42 once released; release it while no driver watches.
	fifo := filepath.Join(cfg.TaskDir, "local", "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := first.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	var ds driverState
	if err := json.Unmarshal(h.DriverState, &ds); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if err := writeFifo(fifo); err != nil {
		t.Fatal(err)
	}
	// Wait for the supervisor to finish and leave (nobody collects the result).
	drivertest.WaitFor(t, 2*time.Minute, func() (bool, string) {
		return drivertest.ProcessGone(ds.SupervisorPID), "supervisor still running"
	})

	second := newDriver(t)
	if err := second.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	if res := wait(t, second, cfg.ID); res.ExitCode != 42 {
		t.Errorf("recovered exit code = %d, want 42", res.ExitCode)
	}
	if err := second.StopTask(ctx, cfg.ID, time.Second, ""); err != nil {
		t.Errorf("StopTask on exited task = %v, want nil", err)
	}
}

func TestRecoverLostTask(t *testing.T) {
	d := newDriver(t)
	cfg := shTask(t, "true")
	state, err := json.Marshal(driverState{StateDir: cfg.StateDir, SupervisorPID: 1 << 22, PID: 1 << 22})
	if err != nil {
		t.Fatal(err)
	}
	err = d.RecoverTask(context.Background(), &drivers.TaskHandle{Version: stateVersion, Config: cfg, DriverState: state})
	if !errors.Is(err, drivers.ErrTaskNotFound) {
		t.Fatalf("RecoverTask of a task with no supervisor and no record = %v, want ErrTaskNotFound", err)
	}
}

func TestRecoverKillsOrphanOfDeadSupervisor(t *testing.T) {
	first := New(Config{Enabled: true}, testLogger(t))
	cfg := shTask(t, `echo ready; exec sleep 300`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := first.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	// Once its output is written the workload (sleep) no longer needs the
	// supervisor's pipes, so it survives the supervisor.
	drivertest.WaitForFileContains(t, filepath.Join(cfg.LogDir, cfg.StdoutBase+".0"), "ready")
	first.Close()
	var ds driverState
	if err := json.Unmarshal(h.DriverState, &ds); err != nil {
		t.Fatal(err)
	}
	// The supervisor dies without a chance to record anything.
	if err := syscall.Kill(ds.SupervisorPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, drivertest.DefaultWait, func() (bool, string) {
		return drivertest.ProcessGone(ds.SupervisorPID), "supervisor survives SIGKILL"
	})
	second := newDriver(t)
	err = second.RecoverTask(ctx, h)
	if !errors.Is(err, drivers.ErrTaskNotFound) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("RecoverTask = %v, want ErrTaskNotFound saying the orphan was killed", err)
	}
	drivertest.WaitFor(t, drivertest.DefaultWait, func() (bool, string) {
		return drivertest.ProcessGone(ds.PID), fmt.Sprintf("orphaned workload pid %d still running", ds.PID)
	})
}
