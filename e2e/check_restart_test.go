package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// checkRestartJob is a Nomad job spec as users write it: a service named
// with ${NOMAD_JOB_NAME}, an http check on the service's port, a script
// check run in the task, and a tcp check on its own port (where nothing
// listens) with check_restart.
const checkRestartJob = `
job "e2e-check-restart" {
  datacenters = ["*"]
  group "web" {
    restart {
      attempts = 1
      interval = "1h"
      delay    = "1s"
      mode     = "fail"
    }
    network {
      port "http" {}
      port "admin" {}
    }
    service {
      name = "${NOMAD_JOB_NAME}-api"
      port = "http"
      check {
        name     = "page"
        type     = "http"
        path     = "/"
        method   = "GET"
        interval = "1s"
        timeout  = "1s"
        header {
          X-Probe = ["e2e"]
        }
      }
      check {
        name     = "script"
        type     = "script"
        task     = "httpd"
        command  = "/bin/sh"
        args     = ["-c", "test -n \"$NOMAD_ALLOC_ID\""]
        interval = "1s"
        timeout  = "5s"
      }
      check {
        name     = "admin"
        type     = "tcp"
        port     = "admin"
        interval = "1s"
        timeout  = "1s"
        check_restart {
          limit = 3
          grace = "2s"
        }
      }
    }
    task "httpd" {
      driver = "raw_exec"
      config {
        command = "%s"
        args    = ["httpd", "-f", "-p", "127.0.0.1:${NOMAD_PORT_http}", "-h", "${NOMAD_TASK_DIR}"]
      }
      env {
        E2E_RUN = "%s"
      }
      template {
        data        = "ok"
        destination = "local/index.html"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// TestCheckRestartRestartsTask: the failing check restarts the task after
// three failures; each restart counts against the restart policy, which
// fails the task on the second round. Meanwhile the service is registered
// under its interpolated name and the http and script checks pass.
func TestCheckRestartRestartsTask(t *testing.T) {
	busybox := busyboxPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	f := writeFile(t, dir, "restart.nomad.hcl", fmt.Sprintf(checkRestartJob, busybox, runToken))
	if out, code := a.cli(dir, "job", "validate", f); code != 0 {
		t.Fatalf("job validate: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	var allocID string
	waitFor(t, 60*time.Second, "the service registered as e2e-check-restart-api with passing http and script checks", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, "e2e-check-restart", nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprintf("no allocation yet (%v)", err)
		}
		allocID = allocs[0].ID
		regs, _, err := a.api().ServiceRegistrations(ctx, "e2e-check-restart-api", nil)
		if err != nil || len(regs) == 0 {
			return false, fmt.Sprintf("no registration (%v)", err)
		}
		checks, err := a.api().AllocChecks(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		passing := map[string]bool{}
		for _, c := range checks {
			passing[c.Check] = c.Status == structs.CheckSuccess
		}
		return passing["page"] && passing["script"], fmt.Sprintf("checks %+v", checks)
	})
	var al *structs.Allocation
	waitFor(t, 90*time.Second, "the task restarted by its check and then failed by the restart policy", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		var err error
		al, _, err = a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		st := al.TaskStates["httpd"]
		if st == nil {
			return false, "no task state"
		}
		return al.ClientStatus == structs.AllocClientStatusFailed, fmt.Sprintf("alloc %s, task %s restarts %d", al.ClientStatus, st.State, st.Restarts)
	})
	st := al.TaskStates["httpd"]
	var signaled int
	var msgs []string
	for _, e := range st.Events {
		msgs = append(msgs, e.Type+": "+e.DisplayMessage)
		if e.Type == structs.TaskRestartSignal && strings.Contains(e.RestartReason, `check "admin" unhealthy`) {
			signaled++
		}
	}
	// Two rounds: the first restart is within the policy, the second
	// exceeds its one attempt.
	if st.Restarts != 1 || signaled != 2 || !st.Failed {
		t.Errorf("task: restarts %d, failed %v, %d check restart signals; want 1, true, 2. events:\n%s", st.Restarts, st.Failed, signaled, strings.Join(msgs, "\n"))
	}
}
