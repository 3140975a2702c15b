package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

const portRangeJob = `
job "e2e-range" {
  datacenters = ["*"]
  group "g" {
    network {
      port "rtp" {
        count = 20
        to    = -1
      }
      port "media" {
        static = %[1]d
        count  = 3
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"rtp=$NOMAD_PORT_rtp host=$NOMAD_HOST_PORT_rtp count=$NOMAD_PORT_rtp_COUNT range=$NOMAD_PORT_rtp_RANGE host_range=$NOMAD_HOST_PORT_rtp_RANGE media=$NOMAD_PORT_media_RANGE\"; exec sleep 300"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

const portInRangeJob = `
job "e2e-range-clash" {
  datacenters = ["*"]
  group "g" {
    network {
      port "one" {
        static = %[1]d
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestPortRange runs a job with a dynamic range of 20 ports and a static
// range of 3: the task sees both in its environment, the API (and the
// official client, which reads the first port) carries them, `alloc
// status` shows them, and a job asking for a static port inside the
// dynamic range is not placed on the node, naming the collision.
func TestPortRange(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	media := 41000 + freeport.TCP(t)%1000
	writeFile(t, dir, "range.nomad.hcl", fmt.Sprintf(portRangeJob, media, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "range.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	id := runningAlloc(t, a, "e2e-range")
	ctx, cancel := ctx10s()
	al, _, err := a.api().Allocation(ctx, id, nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]structs.PortMapping{}
	for _, p := range al.AllocatedResources.Shared.Ports {
		ports[p.Label] = p
	}
	rtp, med := ports["rtp"], ports["media"]
	if rtp.Count != 20 || rtp.Value < structs.MinDynamicPort || rtp.Value+19 > structs.MaxDynamicPort || rtp.To != rtp.Value {
		t.Fatalf("rtp mapping %+v, want 20 dynamic ports mapped onto themselves", rtp)
	}
	if med.Count != 3 || med.Value != media {
		t.Fatalf("media mapping %+v, want 3 ports from %d", med, media)
	}
	want := fmt.Sprintf("rtp=%d host=%d count=20 range=%d-%d host_range=%d-%d media=%d-%d",
		rtp.Value, rtp.Value, rtp.Value, rtp.Value+19, rtp.Value, rtp.Value+19, media, media+2)
	waitFor(t, 30*time.Second, "the task to print its port variables", func() (bool, string) {
		out, _ := a.cli(dir, "alloc", "logs", id, "t")
		return strings.TrimSpace(out) == want, fmt.Sprintf("%q, want %q", out, want)
	})
	out, code := a.cli(dir, "alloc", "status", id)
	if wantAddr := fmt.Sprintf(":%d-%d", rtp.Value, rtp.Value+19); code != 0 || !strings.Contains(out, wantAddr) {
		t.Errorf("alloc status exited %d, lacks %q:\n%s", code, wantAddr, out)
	}

	// The official client reads the first port of each range.
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	oal, _, err := c.Allocations().Info(id, nil)
	if err != nil {
		t.Fatalf("official client: %v", err)
	}
	for _, p := range oal.AllocatedResources.Shared.Ports {
		if p.Value != ports[p.Label].Value {
			t.Errorf("official client: port %s = %d, want %d", p.Label, p.Value, ports[p.Label].Value)
		}
	}

	// A static port inside the dynamic range is held: not placed.
	clash := rtp.Value + 7
	writeFile(t, dir, "clash.nomad.hcl", fmt.Sprintf(portInRangeJob, clash, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "clash.nomad.hcl"); code != 0 {
		t.Fatalf("job run clash exited %d:\n%s", code, out)
	}
	wantDim := fmt.Sprintf("network: reserved port collision one=%d", clash)
	waitPlacementFailed(t, a, "e2e-range-clash", "g", "exhausted on "+wantDim, func(m *structs.AllocMetric) bool {
		return m.DimensionExhausted[wantDim] > 0
	})
	if r := runningAllocs(t, a, "e2e-range-clash"); len(r) != 0 {
		t.Errorf("the clashing job runs %d allocations", len(r))
	}
}

// waitPlacementFailed waits for an evaluation of job whose failed
// placement metric of group satisfies ok (what says how, for the error).
func waitPlacementFailed(t *testing.T, a *agent, job, group, what string, ok func(*structs.AllocMetric) bool) {
	t.Helper()
	waitFor(t, 30*time.Second, "a failed placement of "+job+" "+what, func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		evals, _, err := a.api().JobEvaluations(ctx, job, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evals {
			if m := e.FailedTGAllocs[group]; m != nil && ok(m) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d evaluations, none with such a failure", len(evals))
	})
}
