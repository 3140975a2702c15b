package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// dockerJob is a Nomad docker job spec as users write it (driver =
// "docker", ports with to, env, labels, a volume relative to the task dir,
// network_mode host), with the image from an OCI layout: it runs on the
// container driver, with no Docker engine.
const dockerJob = `
job "e2e-docker" {
  datacenters = ["*"]
  group "web" {
    network {
      port "http" {
        to = 8080
      }
    }
    task "app" {
      driver = "docker"
      config {
        image        = "oci-layout://%s"
        command      = "sh"
        args         = ["-c", "echo port=$NOMAD_PORT_http host_port=$NOMAD_HOST_PORT_http greeting=$GREETING; cat /data/hello.txt; echo pid=$$; while true; do sleep 1; done"]
        ports        = ["http"]
        volumes      = ["local/data:/data"]
        network_mode = "host"
        labels {
          team = "e2e"
        }
      }
      env {
        GREETING = "hi-from-env"
        E2E_RUN  = "%s"
      }
      template {
        data        = "hello from a volume"
        destination = "local/data/hello.txt"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// execJob is a Nomad exec job spec: the command runs isolated in a root of
// the host's directories, as the default user nobody.
const execJob = `
job "e2e-exec" {
  datacenters = ["*"]
  group "g" {
    task "worker" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo user=$(id -un) pid=$$ alloc=$NOMAD_ALLOC_DIR; echo mine > /local/own && echo local-writable; ls -d /usr/bin /local /alloc; test -e /home && echo home-visible; while true; do sleep 1; done"]
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

// TestDockerAndExecJobSpecs runs a Nomad docker job spec and an exec job
// spec unchanged on an agent without a Docker engine.
func TestDockerAndExecJobSpecs(t *testing.T) {
	requireRoot(t, "the container driver")
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()

	logsOf := func(job, task, want string) string {
		t.Helper()
		var out string
		waitFor(t, 90*time.Second, job+" to run and log "+want, func() (bool, string) {
			ctx, cancel := ctx10s()
			defer cancel()
			allocs, _, err := a.api().JobAllocations(ctx, job, nil)
			if err != nil || len(allocs) == 0 {
				return false, fmt.Sprintf("no allocation (%v)", err)
			}
			al := allocs[0]
			if al.ClientStatus == structs.AllocClientStatusFailed {
				full, _, _ := a.api().Allocation(ctx, al.ID, nil)
				var evs []string
				if full != nil && full.TaskStates[task] != nil {
					for _, e := range full.TaskStates[task].Events {
						evs = append(evs, e.Type+": "+e.DisplayMessage)
					}
				}
				t.Fatalf("%s failed: %s", job, strings.Join(evs, "\n"))
			}
			out, _ = a.cli(dir, "alloc", "logs", al.ID, task)
			return strings.Contains(out, want), fmt.Sprintf("status %s, logs %q", al.ClientStatus, out)
		})
		return out
	}

	f := writeFile(t, dir, "docker.nomad.hcl", fmt.Sprintf(dockerJob, busyboxLayout(t), runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run docker: exit %d\n%s", code, out)
	}
	out := logsOf("e2e-docker", "app", "hello from a volume")
	if !strings.Contains(out, "port=8080 host_port=") || strings.Contains(out, "host_port= ") || !strings.Contains(out, "greeting=hi-from-env") || !strings.Contains(out, "pid=1") {
		t.Errorf("docker task output: %q; want the in-task port 8080, a host port, the env and its own PID namespace", out)
	}

	f = writeFile(t, dir, "exec.nomad.hcl", fmt.Sprintf(execJob, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run exec: exit %d\n%s", code, out)
	}
	// Wait for the output of ls, the last command before the loop: the
	// first line already holds "alloc=/alloc".
	out = logsOf("e2e-exec", "worker", "/usr/bin\n")
	for _, want := range []string{"user=nobody", "pid=1", "alloc=/alloc", "local-writable", "/usr/bin", "/local"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec task output %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "home-visible") {
		t.Errorf("exec task sees the host's /home, which is not in chroot_env: %q", out)
	}

	// A docker key the container driver cannot honour is refused by name,
	// at registration or as the task's event.
	bad := strings.Replace(strings.Replace(fmt.Sprintf(dockerJob, busyboxLayout(t), runToken), `network_mode = "host"`, `privileged   = true`, 1),
		`job "e2e-docker"`, `job "e2e-docker-bad"`, 1)
	f = writeFile(t, dir, "bad.nomad.hcl", bad)
	out, code := a.cli(dir, "job", "run", "-detach", f)
	if code != 0 {
		if !strings.Contains(out, "privileged") {
			t.Errorf("job run with privileged: exit %d without naming the key:\n%s", code, out)
		}
		return
	}
	waitFor(t, 60*time.Second, "the privileged docker task refused by name", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, "e2e-docker-bad", nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprintf("no allocation (%v)", err)
		}
		full, _, err := a.api().Allocation(ctx, allocs[0].ID, nil)
		if err != nil || full.TaskStates["app"] == nil {
			return false, fmt.Sprint(err)
		}
		for _, e := range full.TaskStates["app"].Events {
			if strings.Contains(e.DisplayMessage, "privileged") && strings.Contains(e.DisplayMessage, "not supported") {
				return true, ""
			}
		}
		return false, "no event naming privileged yet"
	})
}
