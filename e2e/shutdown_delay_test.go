package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// delayJob is a raw_exec service job (service "e2e-delay-web") whose group
// has shutdown_delay %s; its task carries E2E_RUN and E2E_DELAY=%s.
const delayJob = `
job "e2e-delay" {
  datacenters = ["*"]

  group "web" {
    shutdown_delay = "%s"
    network {
      port "http" {}
    }
    service {
      name     = "e2e-delay-web"
      port     = "http"
      provider = "nomad"
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 3600"]
      }
      env {
        E2E_RUN   = "%s"
        E2E_DELAY = "%s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// TestShutdownDelayDeregistersFirst: `job stop` of a service with
// shutdown_delay = "3s" removes the service from `service info` while the
// task process still runs, then kills the task after the delay (task
// events: waiting for the delay, then killing). `job stop
// -no-shutdown-delay` of one with a delay of an hour kills it at once.
func TestShutdownDelayDeregistersFirst(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	run := func(delay, tag string) string {
		t.Helper()
		if out, code := a.cli(dir, "job", "run", writeFile(t, dir, "delay.nomad.hcl", fmt.Sprintf(delayJob, delay, runToken, tag))); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		waitFor(t, 60*time.Second, "the service registered and its task running", func() (bool, string) {
			out, code := a.cli(dir, "service", "info", "e2e-delay-web")
			return code == 0 && strings.Contains(out, "e2e-delay ") && len(procsWithEnv("E2E_DELAY", tag)) > 0,
				fmt.Sprintf("exit %d, %d task processes: %s", code, len(procsWithEnv("E2E_DELAY", tag)), out)
		})
		allocs := runningAllocs(t, a, "e2e-delay")
		if len(allocs) != 1 {
			t.Fatalf("running allocations: %d, want 1", len(allocs))
		}
		return allocs[0].ID
	}
	registered := func() bool {
		out, code := a.cli(dir, "service", "info", "e2e-delay-web")
		return code == 0 && strings.Contains(out, "e2e-delay ") // the Job ID column of a registration
	}

	allocID := run("3s", "delay-3s")
	if out, code := a.cli(dir, "job", "stop", "-detach", "e2e-delay"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s", code, out)
	}
	aliveAtDeregister := -1
	waitFor(t, 30*time.Second, "the service deregistered", func() (bool, string) {
		if registered() {
			return false, "still in service info"
		}
		aliveAtDeregister = len(procsWithEnv("E2E_DELAY", "delay-3s"))
		return true, ""
	})
	if aliveAtDeregister < 1 {
		t.Fatalf("no task process alive when the service left service info: want it deregistered before the kill")
	}
	waitFor(t, 60*time.Second, "the task killed after its shutdown_delay", func() (bool, string) {
		n := len(procsWithEnv("E2E_DELAY", "delay-3s"))
		return n == 0, fmt.Sprintf("%d task processes; task events %q", n, taskEventTypes(t, a, allocID, "app"))
	})
	var types []string
	waitFor(t, 30*time.Second, "the kill reported to the servers", func() (bool, string) {
		types = taskEventTypes(t, a, allocID, "app")
		return slices.Contains(types, structs.TaskKilled), fmt.Sprintf("task events %q", types)
	})
	wait, kill := slices.Index(types, structs.TaskWaitingShuttingDownDelay), slices.Index(types, structs.TaskKilling)
	if wait < 0 || kill < wait {
		t.Errorf("task events %q: want %q before %q", types, structs.TaskWaitingShuttingDownDelay, structs.TaskKilling)
	}

	// -no-shutdown-delay: an hour's delay is skipped.
	allocID = run("1h", "delay-1h")
	if out, code := a.cli(dir, "job", "stop", "-no-shutdown-delay", "e2e-delay"); code != 0 {
		t.Fatalf("job stop -no-shutdown-delay: exit %d (it waits for the allocations to stop)\n%s", code, out)
	}
	if n := len(procsWithEnv("E2E_DELAY", "delay-1h")); n != 0 {
		t.Errorf("%d task processes alive after job stop -no-shutdown-delay returned", n)
	}
	waitFor(t, 30*time.Second, "the kill reported to the servers", func() (bool, string) {
		types = taskEventTypes(t, a, allocID, "app")
		return slices.Contains(types, structs.TaskKilled), fmt.Sprintf("task events %q", types)
	})
	if !slices.Contains(types, structs.TaskSkippingShutdownDelay) || slices.Contains(types, structs.TaskWaitingShuttingDownDelay) {
		t.Errorf("task events %q: want %q and no %q", types, structs.TaskSkippingShutdownDelay, structs.TaskWaitingShuttingDownDelay)
	}
}

// taskEventTypes returns the types of a task's events, oldest first.
func taskEventTypes(t *testing.T, a *agent, allocID, task string) []string {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	al, _, err := a.api().Allocation(ctx, allocID, nil)
	if err != nil {
		t.Fatalf("read allocation %s: %v", allocID, err)
	}
	st := al.TaskStates[task]
	if st == nil {
		t.Fatalf("allocation %s has no state for task %s", allocID, task)
	}
	var out []string
	for _, e := range st.Events {
		out = append(out, e.Type)
	}
	return out
}
