package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// autoscaledJob burns CPU in every allocation until the file STOP exists;
// its group scales between 1 and 3 on avg_cpu with a target of 5% (a loaded CI machine gives each burner little).
const autoscaledJob = `
job "autoscaled" {
  datacenters = ["*"]
  update {
    min_healthy_time  = "1s"
    healthy_deadline  = "1m"
    progress_deadline = "2m"
  }
  group "g" {
    count = 1
    scaling {
      min = 1
      max = 3
      policy {
        evaluation_interval = "2s"
        cooldown            = "8s"
        check "cpu" {
          source = "nomad-apm"
          query  = "avg_cpu"
          strategy "target-value" {
            target = 5
          }
        }
      }
    }
    task "burn" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while [ ! -e %s ]; do :; done; exec sleep 1000"]
      }
      env { E2E_RUN = %q }
      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
`

// TestAutoscalerTargetValue (issue 19): a CPU-bound service with a
// target-value policy on avg_cpu scales from 1 to its max, then back to
// its min once the load stops and the cooldown has passed; each action is a
// scaling event with its reason, and `scaling policy info` shows the last
// decision.
func TestAutoscalerTargetValue(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{clientExtra: `usage_report_interval = "1s"`})
	dir := t.TempDir()
	stop := filepath.Join(dir, "STOP")
	f := writeFile(t, dir, "autoscaled.nomad.hcl", fmt.Sprintf(autoscaledJob, stop, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	count := func() (int, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		st, _, err := a.api().JobScaleStatus(ctx, "autoscaled", nil)
		if err != nil || st.TaskGroups["g"].Events == nil && st.TaskGroups["g"].Desired == 0 {
			return 0, fmt.Sprint(err)
		}
		g := st.TaskGroups["g"]
		var evs []string
		for _, e := range g.Events {
			evs = append(evs, e.Message)
		}
		return g.Desired, fmt.Sprintf("desired %d, running %d, events %q", g.Desired, g.Running, evs)
	}
	waitFor(t, 90*time.Second, "the group to scale up to its max of 3", func() (bool, string) {
		n, s := count()
		return n == 3, s
	})
	_, s := count()
	// One step or several, depending on how much CPU each burner got.
	if !strings.Contains(s, "autoscaler: scale-up from 1 to ") || !strings.Contains(s, "avg_cpu") {
		t.Errorf("no scale-up event with its reason: %s", s)
	}
	out, code := a.cli(dir, "scaling", "policy", "list", "-job", "autoscaled")
	if code != 0 {
		t.Fatalf("scaling policy list: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	id := strings.Fields(lines[len(lines)-1])[0]
	out, code = a.cli(dir, "scaling", "policy", "info", id)
	if code != 0 || !strings.Contains(out, "Last Decision") || !strings.Contains(out, "Query") {
		t.Errorf("scaling policy info: exit %d\n%s", code, out)
	}

	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, "the group to scale back down to its min of 1 after the cooldown", func() (bool, string) {
		n, s := count()
		return n == 1, s
	})
	_, s = count()
	if !strings.Contains(s, "autoscaler: scale-down from 3 to 1") || !strings.Contains(s, "held at min 1") {
		t.Errorf("no scale-down event: %s", s)
	}
	out, _ = a.cli(dir, "scaling", "policy", "info", id)
	if !strings.Contains(out, "held at min 1") && !strings.Contains(out, "none") && !strings.Contains(out, "skipped") {
		t.Errorf("scaling policy info after the scale-down does not explain the decision:\n%s", out)
	}
}
