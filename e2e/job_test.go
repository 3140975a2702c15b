package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// runToken tags every task these tests start (env E2E_RUN) so that cleanup
// can find exactly the processes this test run created.
var runToken = fmt.Sprintf("e2e-%d", os.Getpid())

// killLeftovers ends any task process of this test run still alive.
func killLeftovers(t *testing.T) {
	t.Cleanup(func() {
		for _, pid := range procsWithEnv("E2E_RUN", runToken) {
			t.Logf("killing leftover task process %d", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

const loopJob = `
job "e2e-web" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    restart {
      attempts = 3
      interval = "5m"
      delay    = "1s"
      mode     = "fail"
    }

    task "loop" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo started $NOMAD_ALLOC_ID; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"]
      }

      env {
        E2E_RUN = "%s"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// onlyAlloc returns the job's single allocation that is not terminal.
func liveAllocs(t *testing.T, a *agent, jobID string) []*structs.AllocListStub {
	ctx, cancel := ctx10s()
	defer cancel()
	allocs, _, err := a.api().JobAllocations(ctx, jobID, nil)
	if err != nil {
		t.Fatalf("list allocations of %s: %v", jobID, err)
	}
	var live []*structs.AllocListStub
	for _, al := range allocs {
		if al.DesiredStatus == structs.AllocDesiredStatusRun && al.ClientStatus != structs.AllocClientStatusComplete &&
			al.ClientStatus != structs.AllocClientStatusFailed && al.ClientStatus != structs.AllocClientStatusLost {
			live = append(live, al)
		}
	}
	return live
}

func shPID(pids []int) int {
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(cmd), "/bin/sh\x00-c") {
			return pid
		}
	}
	return 0
}

// TestJobLifecycle runs a raw_exec service through the CLI, reads its logs,
// kills its process from outside and sees it restarted per the restart
// policy, then stops the job and sees every process gone.
func TestJobLifecycle(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))

	out, code := a.cli(dir, "job", "run", jobFile)
	if code != 0 {
		t.Fatalf("job run exited %d, want 0:\n%s", code, out)
	}
	if !strings.Contains(out, "created") {
		t.Errorf("job run output does not report the allocation it created:\n%s", out)
	}

	var allocID string
	waitFor(t, 30*time.Second, "the allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-web")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		allocID = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, "client status " + live[0].ClientStatus
	})

	out, code = a.cli(dir, "job", "status", "e2e-web")
	if code != 0 || !strings.Contains(out, "running") {
		t.Errorf("job status exited %d without a running status:\n%s", code, out)
	}

	waitFor(t, 20*time.Second, "the task's output in alloc logs", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", allocID[:8])
		return code == 0 && strings.Contains(out, "started "+allocID) && strings.Contains(out, "tick"), out
	})

	out, code = a.cli(dir, "alloc", "status", allocID[:8])
	if code != 0 || !strings.Contains(out, "Started") {
		t.Errorf("alloc status exited %d or shows no Started event:\n%s", code, out)
	}

	// Kill the task's main process from outside: the restart policy brings it back.
	first := shPID(procsWithEnv("NOMAD_ALLOC_ID", allocID))
	if first == 0 {
		t.Fatalf("no /bin/sh process carries NOMAD_ALLOC_ID=%s", allocID)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatalf("kill task process %d: %v", first, err)
	}
	waitFor(t, 30*time.Second, "the task to be restarted after being killed", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		ts := al.TaskStates["loop"]
		if ts == nil {
			return false, "no task state"
		}
		pid := shPID(procsWithEnv("NOMAD_ALLOC_ID", allocID))
		return ts.Restarts >= 1 && ts.State == structs.TaskStateRunning && pid != 0 && pid != first,
			fmt.Sprintf("restarts=%d state=%s pid=%d (killed %d)", ts.Restarts, ts.State, pid, first)
	})
	out, _ = a.cli(dir, "alloc", "status", allocID[:8])
	for _, want := range []string{"Restarting", "Terminated"} {
		if !strings.Contains(out, want) {
			t.Errorf("alloc status after the kill lacks a %q event:\n%s", want, out)
		}
	}

	out, code = a.cli(dir, "job", "stop", "e2e-web")
	if code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the allocation to stop and its processes to end", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		pids := procsWithEnv("NOMAD_ALLOC_ID", allocID)
		return al.DesiredStatus == structs.AllocDesiredStatusStop && al.ClientTerminalStatus() && len(pids) == 0,
			fmt.Sprintf("desired=%s client=%s pids=%v", al.DesiredStatus, al.ClientStatus, pids)
	})
}

// TestExampleJob walks the README's first steps: job init, run, status,
// alloc status, node status, stop.
func TestExampleJob(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	if out, code := a.cli(dir, "job", "init"); code != 0 {
		t.Fatalf("job init exited %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "example.nomad.hcl")); err != nil {
		t.Fatalf("job init wrote no example.nomad.hcl: %v", err)
	}
	if out, code := a.cli(dir, "job", "init"); code == 0 {
		t.Errorf("a second job init overwrote the file silently:\n%s", out)
	}
	out, code := a.cli(dir, "job", "run", "example.nomad.hcl")
	if code != 0 {
		t.Fatalf("job run example exited %d:\n%s", code, out)
	}
	var allocID string
	waitFor(t, 30*time.Second, "the example allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, "example")
		if len(live) == 0 {
			return false, "no live allocation"
		}
		allocID = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})
	for _, pid := range procsWithEnv("NOMAD_ALLOC_ID", allocID) {
		// The example job does not carry E2E_RUN; make sure cleanup finds it.
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	}
	waitFor(t, 20*time.Second, "the example's output", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", allocID[:8])
		return code == 0 && strings.TrimSpace(out) != "", "no output yet"
	})
	if out, code := a.cli(dir, "node", "status"); code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("node status exited %d without a ready node:\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "status"); code != 0 || !strings.Contains(out, "example") {
		t.Errorf("job status exited %d without the example job:\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "stop", "example"); code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the example's processes to end", func() (bool, string) {
		pids := procsWithEnv("NOMAD_ALLOC_ID", allocID)
		return len(pids) == 0, fmt.Sprintf("pids %v", pids)
	})
}
