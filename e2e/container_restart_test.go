package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// requireContainerHost skips (fails under NOMADLIKE_REQUIRE_ALL=1) where
// the container driver cannot run.
func requireContainerHost(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "the container driver needs root"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		why = "the container tests build images from /bin/busybox (scripts/test-deps.sh installs it)"
	}
	if why == "" {
		return
	}
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal(why + "; NOMADLIKE_REQUIRE_ALL=1 makes this a failure")
	}
	t.Skip(why)
}

// reattachJob is a service container that counts on stdout; its args and
// env use interpolation the client resolves before the driver runs it.
const reattachJob = `
job "e2e-reattach" {
  datacenters = ["*"]
  type        = "service"

  group "box" {
    task "box" {
      driver = "container"

      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "echo name=$1 job=$2 greeting=$GREETING; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done", "sh", "${NOMAD_TASK_NAME}", "${NOMAD_JOB_NAME}"]
      }

      env {
        E2E_RUN  = "%s"
        GREETING = "hello-${NOMAD_GROUP_NAME}"
      }

      kill_timeout = "1s"

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// quitJob is a batch container that exits 3 once the trigger file appears
// in its alloc dir.
const quitJob = `
job "e2e-quit" {
  datacenters = ["*"]
  type        = "batch"

  group "quit" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "quit" {
      driver = "container"

      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "echo waiting; while [ ! -e /alloc/trigger ]; do sleep 0.1; done; echo quitting; exit 3"]
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

// TestContainerReattachAfterSIGKILL kills the client agent with SIGKILL
// while container tasks run: the container keeps its PID and its logs keep
// flowing while the agent is down; a task that exits meanwhile has its exit
// code collected by the restarted agent; the re-attached container still
// stops, leaving no mount, cgroup or process.
func TestContainerReattachAfterSIGKILL(t *testing.T) {
	requireContainerHost(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	image := busyboxLayout(t)
	writeFile(t, dir, "reattach.nomad.hcl", fmt.Sprintf(reattachJob, image, runToken))
	writeFile(t, dir, "quit.nomad.hcl", fmt.Sprintf(quitJob, image, runToken))
	for _, f := range []string{"reattach.nomad.hcl", "quit.nomad.hcl"} {
		if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
			t.Fatalf("job run %s exited %d:\n%s", f, code, out)
		}
	}
	boxAlloc := runningAlloc(t, a, "e2e-reattach")
	quitAlloc := runningAlloc(t, a, "e2e-quit")
	boxLog := filepath.Join(a.dataDir, "alloc", boxAlloc, "alloc", "logs", "box.stdout.0")
	waitFor(t, 30*time.Second, "the container's interpolated first line and ticks", func() (bool, string) {
		b, _ := os.ReadFile(boxLog)
		return strings.Contains(string(b), "name=box job=e2e-reattach greeting=hello-box") && strings.Contains(string(b), "tick 3"), string(b)
	})
	initPID := containerInit(t, "while true")
	t.Logf("container init is host pid %d", initPID)

	a.kill()
	// Logs keep flowing while no agent runs.
	before := countLines(boxLog, "tick ")
	waitFor(t, 20*time.Second, "ticks logged while the agent is down", func() (bool, string) {
		n := countLines(boxLog, "tick ")
		return n >= before+5, fmt.Sprintf("%d ticks, had %d when the agent died", n, before)
	})
	// The batch task exits while no agent runs.
	if err := os.WriteFile(filepath.Join(a.dataDir, "alloc", quitAlloc, "alloc", "trigger"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the batch container to exit while the agent is down", func() (bool, string) {
		b, _ := os.ReadFile(filepath.Join(a.dataDir, "alloc", quitAlloc, "alloc", "logs", "quit.stdout.0"))
		return strings.Contains(string(b), "quitting") && len(containerInits("trigger")) == 0, string(b)
	})

	a.start()
	waitFor(t, 60*time.Second, "the restarted agent to collect the batch task's exit code 3", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, quitAlloc, nil)
		if err != nil {
			return false, err.Error()
		}
		ts := al.TaskStates["quit"]
		if ts == nil {
			return false, "no task state"
		}
		for _, ev := range ts.Events {
			if ev.Type == structs.TaskTerminated && ev.ExitCode == 3 {
				return al.ClientStatus == structs.AllocClientStatusFailed, "client status " + al.ClientStatus
			}
		}
		return false, fmt.Sprintf("state %s, %d events, client status %s", ts.State, len(ts.Events), al.ClientStatus)
	})
	waitFor(t, 60*time.Second, "the re-attached container to be reported running", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-reattach")
		if len(live) != 1 || live[0].ID != boxAlloc {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})
	// The restarted client answers for the task once it re-attached.
	waitFor(t, 30*time.Second, "the re-attached container's resource usage in alloc status -stats", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "status", "-stats", boxAlloc[:8])
		return code == 0 && strings.Contains(out, "Memory Stats"), out
	})
	if pid := containerInit(t, "while true"); pid != initPID {
		t.Fatalf("after the restart the container's init is pid %d, want the same pid %d (re-attached, not restarted)", pid, initPID)
	}
	n := countLines(boxLog, "tick ")
	waitFor(t, 20*time.Second, "new log lines through alloc logs after the restart", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", boxAlloc[:8])
		return code == 0 && strings.Contains(out, fmt.Sprintf("tick %d\n", n+3)), fmt.Sprintf("exit %d, want tick %d", code, n+3)
	})

	if out, code := a.cli(dir, "job", "stop", "e2e-reattach"); code != 0 {
		t.Fatalf("job stop after the restart exited %d:\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "the re-attached container to stop and leave nothing behind", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, boxAlloc, nil)
		if err != nil {
			return false, err.Error()
		}
		left := containerLeftovers(a.dataDir, boxAlloc)
		return al.ClientTerminalStatus() && len(left) == 0, fmt.Sprintf("client status %s, left: %v", al.ClientStatus, left)
	})
	if left := containerLeftovers(a.dataDir, quitAlloc); len(left) > 0 {
		t.Errorf("the batch container left: %v", left)
	}
}

// runningAlloc waits for the job's one allocation to run and returns its ID.
func runningAlloc(t *testing.T, a *agent, job string) string {
	t.Helper()
	var id string
	waitFor(t, 60*time.Second, job+"'s allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, job)
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		id = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})
	return id
}

// containerInits returns the pids of this run's task processes whose
// command line contains marker.
func containerInits(marker string) []int {
	var out []int
	for _, pid := range procsWithEnv("E2E_RUN", runToken) {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.HasPrefix(cmd, []byte("sh\x00-c\x00")) && bytes.Contains(cmd, []byte(marker)) {
			out = append(out, pid)
		}
	}
	return out
}

// containerInit returns the host pid of the one container init (sh -c)
// whose script contains marker.
func containerInit(t *testing.T, marker string) int {
	t.Helper()
	var pids []int
	waitFor(t, 10*time.Second, "one container init running "+marker, func() (bool, string) {
		pids = containerInits(marker)
		return len(pids) == 1, fmt.Sprintf("pids %v", pids)
	})
	return pids[0]
}

// countLines counts the lines of path starting with prefix.
func countLines(path, prefix string) int {
	b, _ := os.ReadFile(path)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// containerLeftovers lists what an allocation's containers left: mounts
// under the agent's data dir for it, cgroups named after it, and processes
// of this run whose environment names it.
func containerLeftovers(dataDir, allocID string) []string {
	var out []string
	if b, err := os.ReadFile("/proc/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], dataDir) && strings.Contains(f[1], allocID) {
				out = append(out, "mount "+f[1])
			}
		}
	}
	for _, pattern := range []string{"/sys/fs/cgroup/*/nomadlike/nl-" + allocID + "*", "/sys/fs/cgroup/nomadlike/nl-" + allocID + "*"} {
		dirs, _ := filepath.Glob(pattern)
		for _, d := range dirs {
			out = append(out, "cgroup "+d)
		}
	}
	for _, pid := range procsWithEnv("NOMAD_ALLOC_ID", allocID) {
		out = append(out, fmt.Sprintf("process %d", pid))
	}
	return out
}
