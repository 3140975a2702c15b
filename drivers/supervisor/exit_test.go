package supervisor_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// exitBound is how long a supervisor whose workload is gone may stay: far
// below an hour-long linger, far above its clean-up bounds on a busy host.
const exitBound = 20 * time.Second

// waitSupervisorGone waits until the supervisor process has exited.
func waitSupervisorGone(t *testing.T, c *supervisor.Client, why string) {
	t.Helper()
	drivertest.WaitFor(t, exitBound, func() (bool, string) {
		return drivertest.ProcessGone(c.SupervisorPID()), fmt.Sprintf("supervisor pid %d still running %s", c.SupervisorPID(), why)
	})
}

// startSupervised starts s's supervisor, killed when the test ends, and
// returns it with a context bounding the test's calls to it.
func startSupervised(t *testing.T, s *supervisor.Spec) (*supervisor.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cl, err := supervisor.Start(ctx, "", s, slog.Default())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(cl.SupervisorPID(), syscall.SIGKILL) })
	return cl, ctx
}

// waitPIDRecorded waits until the workload wrote its pid to pidFile.
func waitPIDRecorded(t *testing.T, cl *supervisor.Client, pidFile string) {
	t.Helper()
	drivertest.WaitFor(t, exitBound, func() (bool, string) {
		b, _ := os.ReadFile(pidFile)
		return strings.Contains(string(b), strconv.Itoa(cl.PID())), "waiting for the workload to record its pid"
	})
}

// TestSupervisorExitsPromptly is the regression test for idle supervisors
// left behind after their workload ended: whichever way the workload goes,
// the supervisor exits once the result is collected (without waiting out
// its linger), or after its linger when nobody collects it, and leaves no
// process of the workload behind.
func TestSupervisorExitsPromptly(t *testing.T) {
	cases := []struct {
		name string
		// script runs as the workload; it writes its pid (and that of any
		// helper it leaves) to $PIDS.
		script string
		// kill, when set, kills the workload from outside instead of
		// letting it end.
		kill bool
		// collect has a waiter collect the result; otherwise nobody does.
		collect bool
		linger  time.Duration
	}{
		{"exit collected", `echo $$ >> "$PIDS"; exit 3`, false, true, time.Hour},
		{"killed from outside, collected", `echo $$ >> "$PIDS"; exec sleep 300`, true, true, time.Hour},
		{"killed from outside, nobody collects", `echo $$ >> "$PIDS"; exec sleep 300`, true, false, 300 * time.Millisecond},
		{"exit with a daemon left behind, nobody collects", `setsid sleep 300 & echo $! >> "$PIDS"; echo $$ >> "$PIDS"; exit 0`, false, false, 300 * time.Millisecond},
		{"exit with a daemon left behind, collected", `(setsid sleep 300 &) ; echo $$ >> "$PIDS"; exit 0`, false, true, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidFile := filepath.Join(t.TempDir(), "pids")
			s := spec(t, dir, "/bin/sh", "-c", c.script)
			s.Env = append(s.Env, "PIDS="+pidFile)
			s.Linger = c.linger
			cl, ctx := startSupervised(t, s)
			waitPIDRecorded(t, cl, pidFile)
			if c.kill {
				if err := syscall.Kill(cl.PID(), syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			if c.collect {
				res, err := cl.Wait(ctx)
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}
				if c.kill && res.Signal != int(syscall.SIGKILL) {
					t.Errorf("result = %+v, want killed by SIGKILL", res)
				}
			}
			waitSupervisorGone(t, cl, "after its workload ended")
			b, _ := os.ReadFile(pidFile)
			for _, f := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(f)
				if pid > 0 && !drivertest.ProcessGone(pid) {
					t.Errorf("pid %d of the workload survives its supervisor", pid)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			st, err := supervisor.ReadStatus(dir)
			if err != nil || st.Result == nil {
				t.Fatalf("status after the supervisor exited = %+v, %v; want the recorded result", st, err)
			}
			if _, err := os.Stat(filepath.Join(dir, supervisor.SocketFile)); !os.IsNotExist(err) {
				t.Errorf("control socket left behind: %v", err)
			}
		})
	}
}

// TestSupervisorExitsWhenStopped: a stop through the control socket ends
// the workload and then the supervisor, without waiting out its linger.
func TestSupervisorExitsWhenStopped(t *testing.T) {
	dir := t.TempDir()
	// The workload says when its trap is set: a SIGTERM before that would
	// end it at once (seen in CI), and the test is about the ignored one.
	ready := filepath.Join(t.TempDir(), "ready")
	s := spec(t, dir, "/bin/sh", "-c", `trap '' TERM; touch "$READY"; while :; do sleep 0.1; done`)
	s.Env = append(s.Env, "READY="+ready)
	s.Linger = time.Hour
	cl, ctx := startSupervised(t, s)
	drivertest.WaitFor(t, exitBound, func() (bool, string) {
		_, err := os.Stat(ready)
		return err == nil, "waiting for the workload to set its SIGTERM trap"
	})
	res, err := cl.Stop(ctx, syscall.SIGTERM, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if res.Signal != int(syscall.SIGKILL) {
		t.Errorf("result = %+v, want SIGKILL after the ignored SIGTERM", res)
	}
	waitSupervisorGone(t, cl, "after a stop")
}

// TestSupervisorExitsWhenItsDirsAreGone: the state and log dirs removed
// under a running workload (an alloc dir garbage collected, a test's temp
// dir deleted) must not keep the supervisor alive after the workload ends.
func TestSupervisorExitsWhenItsDirsAreGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pids")
	s := spec(t, dir, "/bin/sh", "-c", `echo $$ >> "$PIDS"; while :; do echo tick; echo tock >&2; sleep 0.02; done`)
	s.Env = append(s.Env, "PIDS="+pidFile)
	s.Linger = 300 * time.Millisecond
	cl, _ := startSupervised(t, s)
	waitPIDRecorded(t, cl, pidFile)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(s.LogDir); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(cl.PID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitSupervisorGone(t, cl, "after its dirs were removed and its workload ended")
}

// TestSupervisorSIGTERMEndsLinger: SIGTERM to the supervisor stops its
// workload; a second one, once the workload is gone, ends the linger at
// once (what an operator or a test cleaning up after an agent does).
func TestSupervisorSIGTERMEndsLinger(t *testing.T) {
	dir := t.TempDir()
	s := spec(t, dir, "/bin/sh", "-c", "exec sleep 300")
	s.Linger = time.Hour
	cl, _ := startSupervised(t, s)
	workload := cl.PID()
	if err := syscall.Kill(cl.SupervisorPID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, exitBound, func() (bool, string) {
		return drivertest.ProcessGone(workload), fmt.Sprintf("workload pid %d still running after SIGTERM to its supervisor", workload)
	})
	drivertest.WaitFor(t, exitBound, func() (bool, string) {
		_ = syscall.Kill(cl.SupervisorPID(), syscall.SIGTERM)
		return drivertest.ProcessGone(cl.SupervisorPID()), fmt.Sprintf("supervisor pid %d still lingering after SIGTERM", cl.SupervisorPID())
	})
	st, err := supervisor.ReadStatus(dir)
	if err != nil || st.Result == nil {
		t.Fatalf("status after the supervisor exited = %+v, %v; want the recorded result", st, err)
	}
}
