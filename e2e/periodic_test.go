package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// periodicJob fires every 3 seconds (a 7-field cron spec has seconds).
const periodicJob = `
job "%s" {
  datacenters = ["*"]
  type        = "batch"

  periodic {
    crons            = ["%s"]
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo periodic-run $NOMAD_JOB_ID"]
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

// children returns the child jobs of parent.
func children(t *testing.T, c *api.Client, parent string) []*structs.JobListStub {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	jobs, _, err := c.ListJobs(ctx, &api.QueryOptions{Prefix: parent + "/"})
	if err != nil {
		t.Fatalf("list children of %s: %v", parent, err)
	}
	var out []*structs.JobListStub
	for _, j := range jobs {
		if j.ParentID == parent {
			out = append(out, j)
		}
	}
	return out
}

// TestPeriodicJob runs a periodic job from HCL: it is registered without an
// evaluation, the leader launches children on its cron ticks and they run;
// `job status` shows the next launch and the children; `job periodic
// force` launches one now.
func TestPeriodicJob(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c := a.api()
	dir := t.TempDir()

	file := writeFile(t, dir, "tick.nomad.hcl", fmt.Sprintf(periodicJob, "tick", "*/3 * * * * * *", runToken))
	out, code := a.cli(dir, "job", "run", file)
	if code != 0 || !strings.Contains(out, "Job registration successful") || strings.Contains(out, "Monitoring evaluation") {
		t.Fatalf("job run of a periodic job: exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "two periodic children that ran to completion", func() (bool, string) {
		done := 0
		for _, j := range children(t, c, "tick") {
			if !strings.HasPrefix(j.ID, "tick/periodic-") {
				return false, "unexpected child " + j.ID
			}
			if s := j.JobSummary; s != nil && s.Summary["g"].Complete == 1 {
				done++
			}
		}
		return done >= 2, fmt.Sprintf("%d completed children", done)
	})
	out, code = a.cli(dir, "job", "status", "tick")
	for _, want := range []string{"Periodic             = true", "Next Periodic Launch = ", "Children Job Summary", "Previously Launched Jobs", "tick/periodic-"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("job status tick: missing %q (exit %d)", want, code)
		}
	}
	ctx, cancel := ctx10s()
	sum, _, err := c.JobSummary(ctx, "tick", nil)
	cancel()
	if err != nil || sum.Children == nil || sum.Children.Dead < 2 {
		t.Errorf("summary of tick: %+v, %v; want Children with 2 or more dead", sum, err)
	}
	if out, code = a.cli(dir, "job", "stop", "tick"); code != 0 {
		t.Fatalf("job stop tick: exit %d\n%s", code, out)
	}

	// A periodic job that would fire once a year, forced now.
	file = writeFile(t, dir, "yearly.nomad.hcl", fmt.Sprintf(periodicJob, "yearly", "0 0 1 1 *", runToken))
	if out, code = a.cli(dir, "job", "run", file); code != 0 {
		t.Fatalf("job run yearly: exit %d\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "periodic", "force", "yearly")
	if code != 0 || !strings.Contains(out, "Monitoring evaluation") || !strings.Contains(out, `finished with status "complete"`) {
		t.Fatalf("job periodic force: exit %d\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the forced child to complete", func() (bool, string) {
		ch := children(t, c, "yearly")
		if len(ch) != 1 {
			return false, fmt.Sprintf("%d children", len(ch))
		}
		return ch[0].Status == structs.JobStatusDead, "child status " + ch[0].Status
	})
	ch := children(t, c, "yearly")
	ctx, cancel = ctx10s()
	allocs, _, err := c.JobAllocations(ctx, ch[0].ID, nil)
	cancel()
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations of %s: %d, %v", ch[0].ID, len(allocs), err)
	}
	out, _ = a.cli(dir, "alloc", "logs", allocs[0].ID[:8])
	if !strings.Contains(out, "periodic-run "+ch[0].ID) {
		t.Errorf("alloc logs of the forced child: want %q", "periodic-run "+ch[0].ID)
	}

	// Forcing a job that is not periodic says so.
	out, code = a.cli(dir, "job", "periodic", "force", ch[0].ID)
	if code != 1 || !strings.Contains(out, "is not periodic") {
		t.Errorf("force of a non-periodic job: exit %d, want 1 and \"is not periodic\"\n%s", code, out)
	}
}
