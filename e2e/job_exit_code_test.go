package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// batchExitJob is a batch job of one group per script (name = script),
// without reschedules; restart configures the groups' restart policy.
func batchExitJob(name, restart string, scripts map[string]string, order []string) string {
	var groups strings.Builder
	for _, g := range order {
		fmt.Fprintf(&groups, `
  group %q {
    restart {
%s
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", %q]
      }
      env {
        E2E_RUN = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
`, g, restart, scripts[g], runToken)
	}
	return fmt.Sprintf(`
job %q {
  datacenters = ["*"]
  type        = "batch"
%s
}
`, name, groups.String())
}

// TestJobRunBatchExitCode runs batch jobs with `job run` (no -detach) as CI
// does: the command waits for the job to finish and exits with the task's
// code (0, 3); a task that fails, restarts and fails again is reported as
// restarting, not failed, after its first exit, and the command exits with
// the code of the last run; with two failing groups -exit-code chooses
// between the first failure's code and the largest.
func TestJobRunBatchExitCode(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	noRestart := `      attempts = 0
      mode     = "fail"`

	t.Run("exit 0", func(t *testing.T) {
		f := writeFile(t, dir, "ok.nomad.hcl", batchExitJob("ci-ok", noRestart, map[string]string{"g": "echo all good"}, []string{"g"}))
		out, code := a.cli(dir, "job", "run", f)
		if code != 0 {
			t.Fatalf("job run exited %d, want 0:\n%s", code, out)
		}
		if !strings.Contains(out, `Batch job "ci-ok" finished: 1 task(s) succeeded; exit code 0`) {
			t.Errorf("no success summary:\n%s", out)
		}
	})

	t.Run("exit 3", func(t *testing.T) {
		f := writeFile(t, dir, "three.nomad.hcl", batchExitJob("ci-three", noRestart, map[string]string{"g": "echo broken >&2; exit 3"}, []string{"g"}))
		out, code := a.cli(dir, "job", "run", f)
		if code != 3 {
			t.Fatalf("job run exited %d, want 3:\n%s", code, out)
		}
		for _, want := range []string{
			`task "t" exited with code 3; no restart follows`,
			`Last 1 line(s) of task "t" stderr:`,
			"      broken",
			`Batch job "ci-three" finished with exit code 3: task "t" of allocation`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("failure after a restart", func(t *testing.T) {
		// The first run exits 5 and leaves a mark in the allocation
		// directory; the restart finds it and exits 7.
		script := `if [ -e "$NOMAD_ALLOC_DIR/ran" ]; then echo second run >&2; exit 7; fi; touch "$NOMAD_ALLOC_DIR/ran"; exit 5`
		restart := `      attempts = 1
      interval = "1h"
      delay    = "1s"
      mode     = "fail"`
		f := writeFile(t, dir, "again.nomad.hcl", batchExitJob("ci-again", restart, map[string]string{"g": script}, []string{"g"}))
		out, code := a.cli(dir, "job", "run", f)
		if code != 7 {
			t.Fatalf("job run exited %d, want 7 (the code of the run after the restart):\n%s", code, out)
		}
		first := strings.Index(out, `task "t" exited with code 5; a restart follows in 1s`)
		second := strings.Index(out, `task "t" exited with code 7; no restart follows`)
		failed := strings.Index(out, `failed: task "t"`)
		if first < 0 || second < first || failed < second {
			t.Errorf("want the restart after exit 5 reported before the exit 7 and only then the failure; got:\n%s", out)
		}
		if !strings.Contains(out, "second run") {
			t.Errorf("the stderr tail of the last run is missing:\n%s", out)
		}
	})

	t.Run("two groups: first and max", func(t *testing.T) {
		scripts := map[string]string{"early": "exit 2", "late": "sleep 2; exit 6"}
		f := writeFile(t, dir, "two.nomad.hcl", batchExitJob("ci-two", noRestart, scripts, []string{"early", "late"}))
		out, code := a.cli(dir, "job", "run", f)
		if code != 2 {
			t.Errorf("job run (-exit-code=first by default) exited %d, want 2 (the first failure):\n%s", code, out)
		}
		f = writeFile(t, dir, "two-max.nomad.hcl", batchExitJob("ci-two-max", noRestart, scripts, []string{"early", "late"}))
		out, code = a.cli(dir, "job", "run", "-exit-code=max", f)
		if code != 6 {
			t.Errorf("job run -exit-code=max exited %d, want 6 (the largest):\n%s", code, out)
		}
	})

	t.Run("bad rule", func(t *testing.T) {
		out, code := a.cli(dir, "job", "run", "-exit-code=last", "nofile.hcl")
		if code != 1 || !strings.Contains(out, "-exit-code") {
			t.Errorf("job run -exit-code=last: exit %d, want 1 naming the flag:\n%s", code, out)
		}
	})
}
