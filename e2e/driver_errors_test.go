package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// badContainerJob runs a command the busybox image lacks, with one restart.
const badContainerJob = `
job "e2e-bad-box" {
  datacenters = ["*"]
  type        = "batch"

  group "box" {
    restart {
      attempts = 1
      delay    = "1s"
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "box" {
      driver = "container"

      config {
        image   = "oci-layout://%s"
        command = "/usr/sbin/nginx"
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

// badVMJob asks for a qemu flag the client's args_allowlist does not allow.
const badVMJob = `
job "e2e-bad-vm" {
  datacenters = ["*"]
  type        = "batch"

  group "vm" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "vm" {
      driver = "qemu"

      config {
        kernel = %q
        args   = ["-drive", "file=/etc/shadow"]
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
`

// failedAlloc waits for the job's allocation to fail and returns it.
func failedAlloc(t *testing.T, a *agent, job string) *structs.AllocListStub {
	t.Helper()
	alloc := finishedAlloc(t, a, job)
	if alloc.ClientStatus != structs.AllocClientStatusFailed {
		t.Fatalf("%s's allocation is %s, want failed", job, alloc.ClientStatus)
	}
	return alloc
}

// driverFailures returns the messages of the task's Driver Failure events.
func driverFailures(t *testing.T, a *agent, allocID, task string) []string {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	al, _, err := a.api().Allocation(ctx, allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if ts := al.TaskStates[task]; ts != nil {
		for _, ev := range ts.Events {
			if ev.Type == structs.TaskDriverFailure {
				out = append(out, ev.DriverError+" "+ev.DisplayMessage)
			}
		}
	}
	return out
}

// TestContainerBadInputThroughJobRun: a container job whose command is
// not in its image fails once per attempt of its restart policy, each time
// with a task event that names the command and says what to fix, which
// `alloc status` shows; nothing is left mounted, in the cgroup tree or
// running.
func TestContainerBadInputThroughJobRun(t *testing.T) {
	requireContainerHost(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	writeFile(t, dir, "bad.nomad.hcl", fmt.Sprintf(badContainerJob, busyboxLayout(t), runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "bad.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	alloc := failedAlloc(t, a, "e2e-bad-box")
	fails := driverFailures(t, a, alloc.ID, "box")
	if len(fails) != 2 {
		t.Errorf("%d Driver Failure events, want 2 (the start and its one restart): %q", len(fails), fails)
	}
	for _, f := range fails {
		if !strings.Contains(f, `"/usr/sbin/nginx"`) || !strings.Contains(f, "the command is not in the image") {
			t.Errorf("driver failure %q does not name the missing command and the fix", f)
		}
	}
	out, code := a.cli(dir, "alloc", "status", alloc.ID[:8])
	if code != 0 || !strings.Contains(out, "the command is not in the image") {
		t.Errorf("alloc status exited %d; want the reason in its events:\n%s", code, out)
	}
	waitFor(t, 20*time.Second, "nothing left by the failed container", func() (bool, string) {
		left := containerLeftovers(a.dataDir, alloc.ID)
		return len(left) == 0, strings.Join(left, "; ")
	})
}

// TestQEMUBadArgsThroughJobRun: a VM job with an argument outside the
// client's allow list fails with a task event naming the flag and the
// setting, and no QEMU process runs.
func TestQEMUBadArgsThroughJobRun(t *testing.T) {
	kernel := requireQEMU(t)
	a := startAgent(t, agentOpts{dev: true, extra: fmt.Sprintf(`
plugin "qemu" {
  config {
    image_paths = [%q]
  }
}
`, strings.TrimSuffix(kernel, "/"+lastElem(kernel)))})
	dir := t.TempDir()
	writeFile(t, dir, "bad.nomad.hcl", fmt.Sprintf(badVMJob, kernel))
	if out, code := a.cli(dir, "job", "run", "-detach", "bad.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	alloc := failedAlloc(t, a, "e2e-bad-vm")
	fails := driverFailures(t, a, alloc.ID, "vm")
	if len(fails) == 0 || !strings.Contains(fails[0], "flag -drive not allowed") || !strings.Contains(fails[0], "args_allowlist") {
		t.Errorf("driver failures %q; want one naming flag -drive and args_allowlist", fails)
	}
	if pids := procsWithEnv("NOMAD_ALLOC_ID", alloc.ID); len(pids) > 0 {
		t.Errorf("processes of the refused VM task run: %v", pids)
	}
}

// lastElem is the last element of a slash-separated path.
func lastElem(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}
