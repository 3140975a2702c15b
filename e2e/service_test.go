package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serviceJob has a "backend" group of busybox httpd tasks on a dynamic port,
// registered as service "backend", and a "frontend" task whose template
// lists the backends into local/upstreams.txt and that is signalled (HUP,
// which it logs) when the list changes.
const serviceJob = `
job "e2e-svc" {
  datacenters = ["*"]

  group "backend" {
    count = %d
    network {
      port "http" {}
    }
    service {
      name     = "backend"
      port     = "http"
      tags     = ["v1"]
      provider = "nomad"
      check {
        type     = "tcp"
        interval = "1s"
        timeout  = "1s"
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
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }

  group "frontend" {
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo reloaded' HUP; echo started; while true; do sleep 0.2; done"]
      }
      template {
        data          = <<EOT
{{ range nomadService "backend" }}{{ .Address }}:{{ .Port }}
{{ end }}
EOT
        destination   = "local/upstreams.txt"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }
      env {
        E2E_RUN = "%s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// busyboxPath finds busybox (for its httpd), or skips (fails under
// NOMADLIKE_REQUIRE_ALL=1) when it is missing.
func busyboxPath(t *testing.T) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("busybox (for its httpd) is not installed; NOMADLIKE_REQUIRE_ALL=1 makes this a failure")
		}
		t.Skip("busybox (for its httpd) is not installed; scripts/test-deps.sh installs it")
	}
	return busybox
}

// TestServiceDiscoveryTemplate scales a registered service from 2 to 3
// allocations and checks that a template reading it is re-rendered and its
// task signalled, and that `service list` and `service info` show it.
func TestServiceDiscoveryTemplate(t *testing.T) {
	busybox := busyboxPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	write := func(count int) string {
		return writeFile(t, dir, "svc.nomad.hcl", fmt.Sprintf(serviceJob, count, busybox, runToken, runToken))
	}
	if out, code := a.cli(dir, "job", "run", write(2)); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}

	// The template lists both backends, each of which answers on its address.
	frontend := frontendAlloc(t, a)
	upstreams := filepath.Join(a.dataDir, "alloc", frontend, "app", "local", "upstreams.txt")
	addrs := func() []string {
		b, _ := os.ReadFile(upstreams)
		return strings.Fields(string(b))
	}
	waitFor(t, 60*time.Second, "two upstreams rendered", func() (bool, string) {
		got := addrs()
		return len(got) == 2, fmt.Sprintf("upstreams.txt: %q", got)
	})
	for _, addr := range addrs() {
		waitFor(t, 20*time.Second, "backend "+addr+" answers", func() (bool, string) {
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return true, ""
		})
	}

	// Each backend's tcp check passes (GET /v1/client/allocation/{id}/checks).
	for _, al := range runningAllocs(t, a, "e2e-svc") {
		if al.TaskGroup != "backend" {
			continue
		}
		waitFor(t, 20*time.Second, "the tcp check of "+al.ID+" to pass", func() (bool, string) {
			ctx, cancel := ctx10s()
			defer cancel()
			checks, err := a.api().AllocChecks(ctx, al.ID, nil)
			if err != nil {
				return false, err.Error()
			}
			for _, c := range checks {
				if c.Status == structs.CheckSuccess && c.Service == "backend" {
					return true, ""
				}
			}
			return false, fmt.Sprintf("checks: %+v", checks)
		})
	}

	out, code := a.cli(dir, "service", "list")
	if code != 0 || !strings.Contains(out, "backend") || !strings.Contains(out, "[v1]") {
		t.Errorf("service list: exit %d\n%s", code, out)
	}

	// Scale the backends to 3: the file changes and the task gets its HUP.
	if out, code := a.cli(dir, "job", "run", write(3)); code != 0 {
		t.Fatalf("job run (count 3): exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "three upstreams rendered", func() (bool, string) {
		got := addrs()
		return len(got) == 3, fmt.Sprintf("upstreams.txt: %q", got)
	})
	waitFor(t, 30*time.Second, "a Signaling event for the re-rendered template", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, frontend, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range al.TaskStates["app"].Events {
			if e.Type == structs.TaskSignaling && strings.Contains(e.DisplayMessage, "Template re-rendered") {
				return true, ""
			}
		}
		return false, "no Signaling event yet"
	})
	waitFor(t, 20*time.Second, "the task to log its reload", func() (bool, string) {
		out, _ := a.cli(dir, "alloc", "logs", frontend, "app")
		return strings.Contains(out, "reloaded"), "stdout: " + out
	})

	out, code = a.cli(dir, "service", "info", "backend")
	if code != 0 {
		t.Fatalf("service info backend: exit %d\n%s", code, out)
	}
	for _, addr := range addrs() {
		if !strings.Contains(out, addr) {
			t.Errorf("service info backend does not show %s:\n%s", addr, out)
		}
	}
	host, _, _ := net.SplitHostPort(addrs()[0])
	if host != "127.0.0.1" {
		t.Errorf("backend address %q, want the loopback the port was placed on", host)
	}

	// Stopping the job removes every registration.
	if out, code := a.cli(dir, "job", "stop", "-detach", "e2e-svc"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "no registrations after the stop", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		regs, _, err := a.api().ServiceRegistrations(ctx, "backend", nil)
		if err != nil {
			return false, err.Error()
		}
		return len(regs) == 0, fmt.Sprintf("%d left", len(regs))
	})
}

// frontendAlloc waits for the frontend group's allocation and returns its ID.
func frontendAlloc(t *testing.T, a *agent) string {
	t.Helper()
	var id string
	waitFor(t, 60*time.Second, "the frontend allocation running", func() (bool, string) {
		allocs := runningAllocs(t, a, "e2e-svc")
		i := slices.IndexFunc(allocs, func(al *structs.AllocListStub) bool { return al.TaskGroup == "frontend" })
		if i < 0 {
			return false, fmt.Sprintf("%d running allocations, none of frontend", len(allocs))
		}
		id = allocs[i].ID
		return true, ""
	})
	return id
}

// TestServiceTemplateAfterAgentRestart restarts the agent under running
// tasks: the re-attached frontend's template is watched again, so scaling
// the backends afterwards still re-renders it and signals the task.
func TestServiceTemplateAfterAgentRestart(t *testing.T) {
	busybox := busyboxPath(t)
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	write := func(count int) string {
		return writeFile(t, dir, "svc.nomad.hcl", fmt.Sprintf(serviceJob, count, busybox, runToken, runToken))
	}
	if out, code := a.cli(dir, "job", "run", write(1)); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	frontend := frontendAlloc(t, a)
	upstreams := filepath.Join(a.dataDir, "alloc", frontend, "app", "local", "upstreams.txt")
	count := func() int {
		b, _ := os.ReadFile(upstreams)
		return len(strings.Fields(string(b)))
	}
	waitFor(t, 60*time.Second, "one upstream rendered", func() (bool, string) {
		return count() == 1, fmt.Sprintf("%d upstreams", count())
	})

	a.stop()
	a.start()

	if out, code := a.cli(dir, "job", "run", write(2)); code != 0 {
		t.Fatalf("job run (count 2): exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "two upstreams rendered after the restart", func() (bool, string) {
		return count() == 2, fmt.Sprintf("%d upstreams", count())
	})
	waitFor(t, 30*time.Second, "a Signaling event after the restart", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, frontend, nil)
		if err != nil {
			return false, err.Error()
		}
		if st := al.TaskStates["app"]; st == nil || st.Restarts != 0 {
			return false, "the frontend task was restarted, not re-attached"
		}
		for _, e := range al.TaskStates["app"].Events {
			if e.Type == structs.TaskSignaling && strings.Contains(e.DisplayMessage, "Template re-rendered") {
				return true, ""
			}
		}
		return false, "no Signaling event yet"
	})
}
