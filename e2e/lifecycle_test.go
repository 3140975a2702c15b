package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// lifecycleJob has a prestart task that writes a file, a main task that
// prints it and a rendered template, and a poststop task that appends to a
// file in the allocation's shared dir.
const lifecycleJob = `
job "e2e-lifecycle" {
  type = "service"

  group "app" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "init" {
      driver = "raw_exec"
      lifecycle {
        hook = "prestart"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo prepared-by-init-$NOMAD_ALLOC_INDEX > $NOMAD_ALLOC_DIR/data/init.txt"]
      }
      env {
        E2E_RUN = "%[1]s"
      }
    }

    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat $NOMAD_ALLOC_DIR/data/init.txt; cat local/app.conf; echo \"mode=$APP_MODE\"; while true; do sleep 1; done"]
      }
      template {
        data        = <<EOT
rendered for {{ env "NOMAD_JOB_NAME" }} on {{ env "node.unique.name" }}
EOT
        destination = "local/app.conf"
      }
      template {
        data        = "APP_MODE={{ env \"NOMAD_TASK_NAME\" | toUpper }}\n"
        destination = "secrets/app.env"
        env         = true
      }
      env {
        E2E_RUN = "%[1]s"
      }
      kill_timeout = "2s"
    }

    task "cleanup" {
      driver = "raw_exec"
      lifecycle {
        hook = "poststop"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo poststop-ran >> $NOMAD_ALLOC_DIR/data/poststop.txt"]
      }
      env {
        E2E_RUN = "%[1]s"
      }
    }
  }
}
`

// TestLifecycleJob runs a job whose prestart task prepares a file the main
// task prints (seen through alloc logs), and whose poststop task runs after
// job stop.
func TestLifecycleJob(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "lifecycle.nomad.hcl", fmt.Sprintf(lifecycleJob, runToken))

	// job run waits for the allocation and must not take init's successful
	// exit (an ephemeral prestart task) for a failure.
	if out, code := a.cli(dir, "job", "run", jobFile); code != 0 {
		t.Fatalf("job run exited %d, want 0:\n%s", code, out)
	}
	var allocID string
	waitFor(t, 30*time.Second, "the main task to run after init completed", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-lifecycle")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		allocID = live[0].ID
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		init, main, cleanup := al.TaskStates["init"], al.TaskStates["main"], al.TaskStates["cleanup"]
		if init == nil || main == nil || cleanup == nil {
			return false, "task states not reported yet"
		}
		return init.State == structs.TaskStateDead && !init.Failed && main.State == structs.TaskStateRunning &&
				cleanup.State == structs.TaskStatePending,
			fmt.Sprintf("init=%s (failed=%v) main=%s cleanup=%s", init.State, init.Failed, main.State, cleanup.State)
	})

	want := []string{"prepared-by-init-0", "rendered for e2e-lifecycle on ", "mode=MAIN"}
	waitFor(t, 20*time.Second, "main's output in alloc logs", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", allocID[:8], "main")
		for _, w := range want {
			if code != 0 || !strings.Contains(out, w) {
				return false, fmt.Sprintf("exit %d, no %q in:\n%s", code, w, out)
			}
		}
		return true, ""
	})

	marker := filepath.Join(a.dataDir, "alloc", allocID, "alloc", "data", "poststop.txt")
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("poststop task ran before the job was stopped: %s exists", marker)
	}
	if out, code := a.cli(dir, "job", "stop", "e2e-lifecycle"); code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the allocation to finish with its poststop task", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		cleanup := al.TaskStates["cleanup"]
		return al.ClientTerminalStatus() && cleanup != nil && cleanup.State == structs.TaskStateDead,
			fmt.Sprintf("client=%s cleanup=%+v", al.ClientStatus, cleanup)
	})
	b, err := os.ReadFile(marker)
	if err != nil || string(b) != "poststop-ran\n" {
		t.Errorf("poststop marker %s: got %q, %v; want one line \"poststop-ran\"", marker, b, err)
	}
	out, _ := a.cli(dir, "alloc", "status", allocID[:8])
	if !strings.Contains(out, "cleanup") {
		t.Errorf("alloc status does not show the poststop task:\n%s", out)
	}
}
