package supervisor_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

func TestMain(m *testing.M) { drivertest.RunMain(m) }

func spec(t testing.TB, stateDir string, command string, args ...string) *supervisor.Spec {
	logDir := filepath.Join(t.TempDir(), "logs")
	return &supervisor.Spec{
		TaskID: "a/t", Command: command, Args: args, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/",
		LogDir: logDir, StdoutBase: "t.stdout", StderrBase: "t.stderr", LogMaxFiles: 2, LogMaxFileBytes: 1 << 20,
		KillTimeout: time.Second, KillSignal: syscall.SIGTERM, StateDir: stateDir, Linger: 100 * time.Millisecond,
	}
}

func TestIsInvocation(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"nomadlike", "__supervise", "/x/spec.json"}, true},
		{[]string{"nomadlike", "agent"}, false},
		{[]string{"nomadlike"}, false},
	}
	for _, c := range cases {
		if got := supervisor.IsInvocation(c.args); got != c.want {
			t.Errorf("IsInvocation(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestStartReportsFailureSynchronously(t *testing.T) {
	// A directory is not executable: the supervisor must report why.
	s := spec(t, t.TempDir(), "/bin", "x")
	_, err := supervisor.Start(context.Background(), "", s, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "start /bin") {
		t.Fatalf("Start with a non-executable command = %v, want an error naming it", err)
	}
}

func TestLongStateDirPath(t *testing.T) {
	// Unix socket paths are limited to 108 bytes; deep state dirs must work.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := supervisor.Start(ctx, "", spec(t, dir, "/bin/sh", "-c", "exit 5"), slog.Default())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	res, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if res.ExitCode != 5 {
		t.Errorf("exit code = %d, want 5", res.ExitCode)
	}
	st, err := supervisor.ReadStatus(dir)
	if err != nil {
		t.Fatalf("ReadStatus: %v", err)
	}
	if st.Result == nil || st.Result.ExitCode != 5 || st.PID != c.PID() {
		t.Errorf("status = %+v, want pid %d and exit code 5", st, c.PID())
	}
}

func TestAttachToGoneSupervisor(t *testing.T) {
	_, err := supervisor.Attach(context.Background(), t.TempDir())
	if !errors.Is(err, supervisor.ErrNotRunning) {
		t.Fatalf("Attach on an empty dir = %v, want ErrNotRunning", err)
	}
}

func TestSupervisorTermStopsWorkload(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := supervisor.Start(ctx, "", spec(t, dir, "/bin/sh", "-c", "sleep 300"), slog.Default())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// Terminating the supervisor (e.g. host shutdown) stops the workload and records it.
	if err := syscall.Kill(c.SupervisorPID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if res.Signal != int(syscall.SIGTERM) {
		t.Errorf("result = %+v, want killed by SIGTERM", res)
	}
	if !drivertest.ProcessGone(c.PID()) {
		t.Errorf("workload pid %d still alive", c.PID())
	}
}

func TestMainUsage(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, supervisor.Command)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage:") {
		t.Fatalf("supervisor without a spec: err %v, output %q; want exit 2 with usage", err, out)
	}
}

// TestStartRetiresEarlierRun: a run the caller lost track of (a client
// agent that died before recording the task's handle starts the task again
// without one) is stopped before a new run takes its state dir, whether its
// supervisor still answers or was killed with it.
func TestStartRetiresEarlierRun(t *testing.T) {
	for _, killSupervisor := range []bool{false, true} {
		name := "supervisor alive"
		if killSupervisor {
			name = "supervisor killed"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			first, err := supervisor.Start(ctx, "", spec(t, dir, "/bin/sh", "-c", "sleep 300"), slog.Default())
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if killSupervisor {
				if err := syscall.Kill(first.SupervisorPID(), syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				drivertest.WaitFor(t, 10*time.Second, func() (bool, string) {
					return drivertest.ProcessGone(first.SupervisorPID()), "first supervisor still alive"
				})
			}
			second, err := supervisor.Start(ctx, "", spec(t, dir, "/bin/sh", "-c", "sleep 300"), slog.Default())
			if err != nil {
				t.Fatalf("second Start: %v", err)
			}
			defer func() { _, _ = second.Stop(ctx, syscall.SIGKILL, 0) }()
			if !drivertest.ProcessGone(first.PID()) {
				t.Errorf("the earlier run's workload (pid %d) still runs after a new run started in its state dir", first.PID())
			}
			if drivertest.ProcessGone(second.PID()) {
				t.Errorf("the new run's workload (pid %d) is not running", second.PID())
			}
			att, err := supervisor.Attach(ctx, dir)
			if err != nil || att.PID() != second.PID() {
				t.Errorf("Attach after the new run = %v (pid %v), want the new run's pid %d", err, att, second.PID())
			}
		})
	}
}
