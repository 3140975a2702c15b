package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// volumeJob is a container job reading a file from a read-only host
// volume and trying to write to it, then idling.
const volumeJob = `
job "e2e-vol" {
  datacenters = ["*"]

  group "box" {
    volume "data" {
      type      = "host"
      source    = "e2e-data"
      read_only = true
    }

    task "box" {
      driver = "container"

      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "busybox cat /data/hello.txt; if echo x > /data/new 2>/dev/null; then echo ro-write-succeeded; else echo ro-write-refused; fi; while true; do sleep 1; done"]
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
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

// missingVolumeJob asks for a host volume no client has.
const missingVolumeJob = `
job "e2e-novol" {
  datacenters = ["*"]

  group "g" {
    volume "v" {
      type   = "host"
      source = "no-such-volume"
    }

    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`

// TestHostVolumeContainer runs a container task on a client with a host
// volume: the task reads the host's file at /data and cannot write to it.
// A job asking for a host volume no client has is not placed, and its
// evaluation says why.
func TestHostVolumeContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("the container driver needs root and NOMADLIKE_REQUIRE_ALL=1 is set")
		}
		t.Skip("the container driver needs root")
	}
	killLeftovers(t)
	volDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(volDir, "hello.txt"), []byte("hello from the host volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOpts{dev: true, extra: fmt.Sprintf(`
client {
  host_volume "e2e-data" {
    path = %q
  }
}
`, volDir)})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "vol.nomad.hcl", fmt.Sprintf(volumeJob, busyboxLayout(t), runToken))
	if out, code := a.cli(dir, "job", "run", jobFile); code != 0 {
		t.Fatalf("job run exited %d, want 0:\n%s", code, out)
	}
	var allocID string
	waitFor(t, 30*time.Second, "the container allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-vol")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		allocID = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, "client status " + live[0].ClientStatus
	})
	waitFor(t, 20*time.Second, "the host volume's file and the refused write in the task's logs", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "logs", allocID[:8])
		return code == 0 && strings.Contains(out, "hello from the host volume") && strings.Contains(out, "ro-write-refused"), out
	})
	if _, err := os.Stat(filepath.Join(volDir, "new")); !os.IsNotExist(err) {
		t.Errorf("a write through the read-only volume reached the host: %v", err)
	}
	ctx, cancel := ctx10s()
	node, _, err := a.api().Node(ctx, liveAllocs(t, a, "e2e-vol")[0].NodeID, nil)
	cancel()
	if err != nil || node.HostVolumes["e2e-data"] == nil || node.HostVolumes["e2e-data"].Path != volDir {
		t.Errorf("node's HostVolumes: %+v, %v; want e2e-data at %s", node, err, volDir)
	}

	// A job whose volume no client offers is not placed; the eval says why.
	file := writeFile(t, dir, "novol.nomad.hcl", missingVolumeJob)
	out, _ := a.cli(dir, "job", "run", "-detach", file)
	if !strings.Contains(out, "Evaluation ID") {
		t.Fatalf("job run -detach: %s", out)
	}
	waitFor(t, 30*time.Second, "the evaluation to explain the missing host volume", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		evals, _, err := a.api().JobEvaluations(ctx, "e2e-novol", nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evals {
			if m := e.FailedTGAllocs["g"]; m != nil && m.ConstraintFiltered["missing compatible host volume"] == 1 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d evaluations, none with the filter", len(evals))
	})
	out, _ = a.cli(dir, "job", "status", "e2e-novol")
	if !strings.Contains(out, `missing compatible host volume`) {
		t.Errorf("job status does not explain the placement failure:\n%s", out)
	}
	if out, code := a.cli(dir, "job", "stop", "-purge", "e2e-vol"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the container's processes to end", func() (bool, string) {
		pids := procsWithEnv("E2E_RUN", runToken)
		return len(pids) == 0, fmt.Sprintf("pids %v", pids)
	})
}

// TestHostVolumeMissingPathRefusesStart checks that an agent whose client
// declares a host volume at a path that does not exist refuses to start,
// naming the block.
func TestHostVolumeMissingPathRefusesStart(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	cfg := writeFile(t, dir, "agent.hcl", fmt.Sprintf(`
data_dir  = %q
bind_addr = "127.0.0.1"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  host_volume "gone" {
    path = %q
  }
}
`, filepath.Join(dir, "data"), freeport.TCP(t), freeport.TCP(t), freeport.TCP(t), missing))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "agent", "-dev", "-config", cfg).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the agent kept running with a missing host volume path:\n%s", out)
	}
	if err == nil {
		t.Fatalf("the agent exited 0, want a failure:\n%s", out)
	}
	want := fmt.Sprintf(`host_volume "gone": path %s does not exist`, missing)
	if !strings.Contains(string(out), want) {
		t.Errorf("agent output lacks %q:\n%s", want, out)
	}
}

// scaledJob is a raw_exec service whose group's scaling block bounds its count.
const scaledJob = `
job "e2e-scaled" {
  datacenters = ["*"]

  group "web" {
    count = %d

    scaling {
      min = 1
      max = 2
    }

    task "loop" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 1; done"]
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

// TestScalingBounds checks that job scale and job run refuse a count outside
// the group's scaling block, with Nomad's messages, and accept one inside.
func TestScalingBounds(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	file := writeFile(t, dir, "scaled.nomad.hcl", fmt.Sprintf(scaledJob, 1, runToken))
	if out, code := a.cli(dir, "job", "run", file); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	out, code := a.cli(dir, "job", "scale", "e2e-scaled", "3")
	if code != 1 || !strings.Contains(out, "group count was greater than scaling policy maximum: 3 > 2") {
		t.Errorf("job scale beyond max: exit %d, want 1 with Nomad's message\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "scale", "e2e-scaled", "0")
	if code != 1 || !strings.Contains(out, "group count was less than scaling policy minimum: 0 < 1") {
		t.Errorf("job scale below min: exit %d, want 1 with Nomad's message\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "scale", "e2e-scaled", "2"); code != 0 {
		t.Fatalf("job scale within bounds: exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "two running allocations", func() (bool, string) {
		n := len(runningAllocs(t, a, "e2e-scaled"))
		return n == 2, fmt.Sprintf("%d running", n)
	})
	ctx, cancel := ctx10s()
	job, _, err := a.api().Job(ctx, "e2e-scaled", nil)
	cancel()
	if err != nil || job.TaskGroups[0].Scaling == nil || job.TaskGroups[0].Scaling.Max != 2 || !job.TaskGroups[0].Scaling.Enabled {
		t.Errorf("stored job's scaling block: %+v, %v", job, err)
	}
	big := writeFile(t, dir, "big.nomad.hcl", fmt.Sprintf(scaledJob, 5, runToken))
	out, code = a.cli(dir, "job", "run", big)
	if code == 0 || !strings.Contains(out, "big.nomad.hcl:6:13") || !strings.Contains(out, "task group count must not be greater than maximum count in scaling policy") {
		t.Errorf("job run with count above max: exit %d, want a located error\n%s", code, out)
	}
	if out, code := a.cli(dir, "job", "stop", "-purge", "e2e-scaled"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the job's processes to end", func() (bool, string) {
		pids := procsWithEnv("E2E_RUN", runToken)
		return len(pids) == 0, fmt.Sprintf("pids %v", pids)
	})
}
