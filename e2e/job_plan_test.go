package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// planJob is a raw_exec service whose sleep length the test edits.
const planJob = `
job "e2e-plan" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    task "sleeper" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo up; sleep %s"]
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

var checkIndexRE = regexp.MustCompile(`job run -check-index (\d+) `)

// TestJobPlanRunHistoryRevert runs a job, edits it, plans the edit (a
// create/destroy diff and a check index), runs it with that index, sees a
// stale index refused, reads the history with diffs and reverts to version 0.
func TestJobPlanRunHistoryRevert(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	v0 := writeFile(t, dir, "v0.nomad.hcl", fmt.Sprintf(planJob, "3600", runToken))
	v1 := writeFile(t, dir, "v1.nomad.hcl", fmt.Sprintf(planJob, "7200", runToken))

	if out, code := a.cli(dir, "job", "run", "-min-healthy-time=0s", v0); code != 0 {
		t.Fatalf("job run v0 exited %d, want 0:\n%s", code, out)
	}

	out, code := a.cli(dir, "job", "plan", v1)
	if code != 1 {
		t.Fatalf("job plan of an edit exited %d, want 1 (allocations replaced):\n%s", code, out)
	}
	for _, want := range []string{
		`+/- Job: "e2e-plan"`,
		`+/- Task Group: "web" (1 create/destroy update)`,
		`+/- Task: "sleeper" (forces create/destroy update)`,
		`+/- Config {`,
		`sleep 3600" => "echo up; sleep 7200"`,
		`- All tasks successfully allocated.`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("job plan output lacks %q", want)
		}
	}
	m := checkIndexRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("job plan printed no check index:\n%s", out)
	}
	index := m[1]
	ctx, cancel := ctx10s()
	job, _, err := a.api().Job(ctx, "e2e-plan", nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(job.JobModifyIndex); got != index {
		t.Errorf("plan's check index = %s, want the job's JobModifyIndex %s", index, got)
	}
	if job.Version != 0 {
		t.Errorf("job version after plan = %d, want 0: plan must not register", job.Version)
	}

	if out, code := a.cli(dir, "job", "run", "-min-healthy-time=0s", "-check-index", index, v1); code != 0 {
		t.Fatalf("job run -check-index %s exited %d, want 0:\n%s", index, code, out)
	}
	out, code = a.cli(dir, "job", "run", "-check-index", index, v0)
	if code == 0 || !strings.Contains(out, "409") || !strings.Contains(out, "was modified since it was read") {
		t.Errorf("job run with the stale index %s exited %d, want a failure saying 409 and that the job was modified:\n%s", index, code, out)
	}
	// One fix is suggested, by the CLI; the server's message names no command.
	if strings.Count(out, "'nomadlike job") != 2 || !strings.Contains(out, "'nomadlike job plan <file>'") || strings.Contains(out, "`job plan`") {
		t.Errorf("the stale-index error should suggest exactly one fix (job plan, then job run -check-index):\n%s", out)
	}

	out, code = a.cli(dir, "job", "history", "-p", "e2e-plan")
	if code != 0 || !strings.Contains(out, "Version     = 1") || !strings.Contains(out, `sleep 3600" => "echo up; sleep 7200"`) {
		t.Errorf("job history -p exited %d without version 1's diff:\n%s", code, out)
	}

	out, code = a.cli(dir, "job", "revert", "-min-healthy-time=0s", "e2e-plan", "0")
	if code != 0 {
		t.Fatalf("job revert to version 0 exited %d, want 0:\n%s", code, out)
	}
	ctx, cancel = ctx10s()
	job, _, err = a.api().Job(ctx, "e2e-plan", nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	args := fmt.Sprint(job.TaskGroups[0].Tasks[0].Config["args"])
	if job.Version != 2 || !strings.Contains(args, "sleep 3600") {
		t.Errorf("after revert: version %d, args %s; want version 2 with version 0's sleep 3600", job.Version, args)
	}
	waitFor(t, 30*time.Second, "one running allocation of version 2", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-plan")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		return live[0].ClientStatus == structs.AllocClientStatusRunning, "client status " + live[0].ClientStatus
	})

	out, code = a.cli(dir, "job", "plan", v0)
	if code != 0 || !strings.Contains(out, `Task Group: "web" (1 ignore)`) {
		t.Errorf("job plan of the running spec exited %d, want 0 and 1 ignore:\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "stop", "e2e-plan"); code != 0 {
		t.Errorf("job stop exited %d:\n%s", code, out)
	}
}
