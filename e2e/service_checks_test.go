package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// checkedJob is a rolling service whose health is its service check: %s is
// the check block.
const checkedJob = `
job "e2e-checked" {
  datacenters = ["*"]
  group "web" {
    count = 1
    update {
      max_parallel      = 1
      health_check      = "checks"
      min_healthy_time  = "1s"
      healthy_deadline  = "8s"
      progress_deadline = "30s"
    }
    network {
      port "http" {}
    }
    service {
      name = "checked"
      port = "http"
      %s
    }
    task "httpd" {
      driver = "raw_exec"
      config {
        command = "%s"
        args    = ["httpd", "-f", "-p", "127.0.0.1:${NOMAD_PORT_http}", "-h", "${NOMAD_TASK_DIR}"]
      }
      env {
        E2E_RUN = "%s"
        VERSION = "%d"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// TestDeploymentHealthFromServiceChecks: a passing check makes the
// deployment succeed; an http check that gets 404 makes the allocation
// unhealthy by its deadline and fails the deployment.
func TestDeploymentHealthFromServiceChecks(t *testing.T) {
	busybox := busyboxPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	run := func(version int, check string) {
		t.Helper()
		f := writeFile(t, dir, "checked.nomad.hcl", fmt.Sprintf(checkedJob, check, busybox, runToken, version))
		if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
			t.Fatalf("job run (version %d): exit %d\n%s", version, code, out)
		}
	}
	deployment := func(version uint64, status string) *structs.Deployment {
		t.Helper()
		var d *structs.Deployment
		waitFor(t, 90*time.Second, fmt.Sprintf("deployment of version %d %s", version, status), func() (bool, string) {
			ctx, cancel := ctx10s()
			defer cancel()
			var err error
			d, _, err = a.api().LatestDeployment(ctx, "e2e-checked", nil)
			if err != nil || d == nil {
				return false, fmt.Sprintf("no deployment yet (%v)", err)
			}
			return d.JobVersion == version && d.Status == status, fmt.Sprintf("version %d %s: %s", d.JobVersion, d.Status, d.StatusDescription)
		})
		return d
	}

	run(0, `check {
        type     = "tcp"
        interval = "1s"
        timeout  = "1s"
      }`)
	deployment(0, structs.DeploymentStatusSuccessful)

	run(1, `check {
        type     = "http"
        path     = "/no-such-page"
        interval = "1s"
        timeout  = "1s"
      }`)
	d := deployment(1, structs.DeploymentStatusFailed)
	ctx, cancel := ctx10s()
	defer cancel()
	allocs, _, err := a.api().DeploymentAllocations(ctx, d.ID, nil)
	if err != nil || len(allocs) == 0 {
		t.Fatalf("allocations of deployment %s: %v, %v", d.ID, allocs, err)
	}
	al, _, err := a.api().Allocation(ctx, allocs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range al.TaskStates["httpd"].Events {
		found = found || strings.Contains(e.DisplayMessage, "Services not healthy by deadline")
	}
	if !found || al.DeploymentStatus == nil || al.DeploymentStatus.IsHealthy() {
		t.Errorf("allocation %s: health %+v, events without \"Services not healthy by deadline\":\n%+v", al.ID, al.DeploymentStatus, al.TaskStates["httpd"].Events)
	}
	checks, err := a.api().AllocChecks(ctx, al.ID, nil)
	if err != nil || len(checks) != 1 {
		t.Fatalf("checks of %s: %v, %v", al.ID, checks, err)
	}
	for _, c := range checks {
		if c.Status != structs.CheckFailure || c.StatusCode != 404 {
			t.Errorf("check result %+v, want a failure with status code 404", c)
		}
	}
}
