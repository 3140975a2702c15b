package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// actionJob is a Nomad job spec with a task directly in the job body (a
// group of its own, as Nomad's HCL2 parser makes it), identity blocks and
// two actions.
const actionJob = `
job "e2e-action" {
  datacenters = ["*"]
  task "worker" {
    driver = "raw_exec"
    config {
      command = "/bin/sh"
      args    = ["-c", "sleep 300"]
    }
    env {
      E2E_RUN  = "%s"
      GREETING = "hello from the task"
    }
    identity {
      env = true
    }
    identity {
      name = "api"
      aud  = ["example.test"]
      ttl  = "1h"
    }
    action "greet" {
      command = "/bin/sh"
      args    = ["-c", "echo $GREETING; exit 4"]
    }
    action "date" {
      command = "/bin/date"
    }
    resources {
      cpu    = 20
      memory = 16
    }
  }
}
`

// TestJobAction runs a job spec with a task in the job body, identity and
// action blocks unchanged; 'nomadlike action' and the official client's
// ActionExec (GET /v1/job/{id}/action) run an action in the task.
func TestJobAction(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	f := writeFile(t, dir, "action.nomad.hcl", fmt.Sprintf(actionJob, runToken))
	if out, code := a.cli(dir, "job", "run", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	actx, acancel := ctx10s()
	alloc, _, err := a.api().Allocation(actx, runningAlloc(t, a, "e2e-action"), nil)
	acancel()
	if err != nil {
		t.Fatal(err)
	}
	task := alloc.Job.LookupTaskGroup("worker").LookupTask("worker")
	if alloc.TaskGroup != "worker" || task.Identity == nil || !task.Identity.Env || len(task.Identities) != 1 || task.Identities[0].Audience[0] != "example.test" {
		t.Errorf("stored job: group %q, identity %+v, identities %+v", alloc.TaskGroup, task.Identity, task.Identities)
	}

	out, code := a.cli(dir, "action", "-job", "e2e-action", "greet")
	if code != 4 || !strings.Contains(out, "hello from the task") {
		t.Errorf("action greet: exit %d, want 4 with the greeting\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "action", "-job", "e2e-action", "-alloc", alloc.ID[:8], "nope")
	if code == 0 || !strings.Contains(out, `job "e2e-action" has no action "nope"`) || !strings.Contains(out, "greet (group \"worker\" task \"worker\")") {
		t.Errorf("unknown action: exit %d\n%s", code, out)
	}

	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	na := &nomad.Allocation{ID: alloc.ID, TaskGroup: alloc.TaskGroup}
	code, err = c.Jobs().ActionExec(ctx, na, "e2e-action", "worker", false, nil, "greet", strings.NewReader(""), &stdout, &stderr, nil, nil)
	if err != nil || code != 4 || stdout.String() != "hello from the task\n" {
		t.Errorf("official client ActionExec: code %d, err %v, stdout %q, stderr %q", code, err, stdout.String(), stderr.String())
	}
}
