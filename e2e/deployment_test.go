package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// deployJob is a raw_exec service of count allocations with an update
// block (%[3]s); its task runs script (%[4]s) and carries VERSION (%[2]s).
const deployJob = `
job "%[1]s" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = %[5]d

    update {
%[3]s
    }

    restart {
      attempts = 0
      mode     = "fail"
    }

    task "app" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", %[4]q]
      }

      env {
        E2E_RUN = "%[6]s"
        VERSION = "%[2]s"
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

const loopScript = "echo up $VERSION; while true; do sleep 1; done"

func deployJobFile(t *testing.T, dir, id, version, update, script string, count int) string {
	t.Helper()
	return writeFile(t, dir, id+"-"+version+".nomad.hcl", fmt.Sprintf(deployJob, id, version, update, script, count, runToken))
}

// allocRecorder records every state of a job's allocations seen through
// blocking queries, in order, until stopped.
type allocRecorder struct {
	mu     sync.Mutex
	states [][]*structs.AllocListStub
	stop   context.CancelFunc
	done   chan struct{}
}

func recordAllocs(cl *api.Client, jobID string) *allocRecorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &allocRecorder{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		var idx uint64
		for ctx.Err() == nil {
			allocs, meta, err := cl.JobAllocations(ctx, jobID, &api.QueryOptions{WaitIndex: idx, WaitTime: 5 * time.Second})
			if err != nil {
				continue // ctx ended, or a transient error: the next query retries
			}
			r.mu.Lock()
			r.states = append(r.states, allocs)
			r.mu.Unlock()
			idx = meta.LastIndex
		}
	}()
	return r
}

func (r *allocRecorder) finish() [][]*structs.AllocListStub {
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states
}

// TestDeploymentRollingUpdate replaces a 4-allocation service one
// allocation at a time (max_parallel = 1) and checks, on every state of
// the allocations observed, that no two old allocations were stopped
// before their replacements were healthy; the deployment succeeds and
// version 1 becomes stable.
func TestDeploymentRollingUpdate(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	update := `      max_parallel      = 1
      min_healthy_time  = "1s"
      healthy_deadline  = "30s"
      progress_deadline = "1m"`
	out, code := a.cli(dir, "job", "run", deployJobFile(t, dir, "roll", "v0", update, loopScript, 4))
	if code != 0 {
		t.Fatalf("job run v0 exited %d, want 0:\n%s", code, out)
	}

	rec := recordAllocs(a.api(), "roll")
	out, code = a.cli(dir, "job", "run", deployJobFile(t, dir, "roll", "v1", update, loopScript, 4))
	states := rec.finish()
	if code != 0 {
		t.Fatalf("job run v1 exited %d, want 0:\n%s", code, out)
	}
	for _, want := range []string{"Monitoring deployment", "successful", "Deployment completed successfully", "Deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("job run v1 output lacks %q:\n%s", want, out)
		}
	}

	maxStopped := 0
	for i, allocs := range states {
		var oldStopped, newHealthy int
		for _, al := range allocs {
			switch {
			case al.JobVersion == 0 && al.DesiredStatus != structs.AllocDesiredStatusRun:
				oldStopped++
			case al.JobVersion == 1 && al.DeploymentStatus.IsHealthy():
				newHealthy++
			}
		}
		if oldStopped > newHealthy+1 {
			t.Errorf("state %d: %d old allocations stopped while only %d replacements were healthy (max_parallel = 1):\n%s",
				i, oldStopped, newHealthy, describeAllocs(allocs))
		}
		maxStopped = max(maxStopped, oldStopped)
	}
	if maxStopped != 4 {
		t.Errorf("saw at most %d of 4 old allocations stopped over %d states", maxStopped, len(states))
	}
	if len(states) < 5 {
		t.Errorf("observed only %d states of the allocations; want the update step by step", len(states))
	}

	ctx, cancel := ctx10s()
	defer cancel()
	d, _, err := a.api().LatestDeployment(ctx, "roll", nil)
	if err != nil || d == nil || d.Status != structs.DeploymentStatusSuccessful || d.JobVersion != 1 {
		t.Fatalf("latest deployment = %+v, %v; want version 1 successful", d, err)
	}
	if g := d.TaskGroups["web"]; g == nil || g.HealthyAllocs != 4 || g.DesiredTotal != 4 {
		t.Errorf("deployment group state = %+v, want 4/4 healthy", g)
	}
	vs, _, err := a.api().JobVersions(ctx, "roll", false, nil)
	if err != nil || len(vs.Versions) == 0 || vs.Versions[0].Version != 1 || !vs.Versions[0].Stable {
		t.Errorf("job versions = %+v, %v; want version 1 stable", vs, err)
	}
	if live := liveAllocs(t, a, "roll"); len(live) != 4 {
		t.Errorf("%d live allocations after the update, want 4", len(live))
	}

	out, code = a.cli(dir, "job", "status", "roll")
	if code != 0 || !strings.Contains(out, "Latest Deployment") || !strings.Contains(out, "successful") {
		t.Errorf("job status exited %d without the latest deployment:\n%s", code, out)
	}
	out, code = a.cli(dir, "deployment", "list")
	if code != 0 || !strings.Contains(out, d.ID[:8]) {
		t.Errorf("deployment list exited %d without %s:\n%s", code, d.ID[:8], out)
	}
}

func describeAllocs(allocs []*structs.AllocListStub) string {
	var b strings.Builder
	for _, al := range allocs {
		fmt.Fprintf(&b, "  %s v%d desired=%s client=%s healthy=%v\n", al.ID[:8], al.JobVersion, al.DesiredStatus, al.ClientStatus,
			al.DeploymentStatus.IsHealthy())
	}
	return b.String()
}

// TestDeploymentCanaryAutoRevert runs a version whose canary fails its
// health (the task writes a line to stderr and exits 1): the deployment
// fails, auto_revert registers version 0 again, and `job run` exits
// non-zero naming the allocation, the task and its stderr line.
func TestDeploymentCanaryAutoRevert(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	update := `      max_parallel      = 1
      canary            = 1
      auto_revert       = true
      min_healthy_time  = "1s"
      healthy_deadline  = "20s"
      progress_deadline = "1m"`
	out, code := a.cli(dir, "job", "run", deployJobFile(t, dir, "canary", "v0", update, loopScript, 2))
	if code != 0 {
		t.Fatalf("job run v0 exited %d, want 0:\n%s", code, out)
	}
	broken := "echo canary-e2e-broken-config: missing key >&2; exit 1"
	out, code = a.cli(dir, "job", "run", deployJobFile(t, dir, "canary", "v1", update, broken, 2))
	if code == 0 {
		t.Fatalf("job run of the broken version exited 0:\n%s", out)
	}
	for _, want := range []string{
		"Failed due to unhealthy allocations",
		"rolling back to job version 0",
		"(canary)",
		`Task "app"`,
		"Alloc Unhealthy",
		"canary-e2e-broken-config: missing key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("job run output lacks %q:\n%s", want, out)
		}
	}

	waitFor(t, 30*time.Second, "the job to be reverted to version 0's spec", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		j, _, err := a.api().Job(ctx, "canary", nil)
		if err != nil {
			return false, err.Error()
		}
		v := j.TaskGroups[0].Tasks[0].Env["VERSION"]
		return j.Version == 2 && v == "v0", fmt.Sprintf("job version %d runs %s", j.Version, v)
	})
	waitFor(t, 30*time.Second, "two live allocations of version 0's spec", func() (bool, string) {
		live := liveAllocs(t, a, "canary")
		ok := len(live) == 2
		for _, al := range live {
			ok = ok && al.JobVersion != 1 && al.ClientStatus == structs.AllocClientStatusRunning
		}
		return ok, describeAllocs(live)
	})
}

// TestDeploymentPromoteCLI places a healthy canary, pauses and resumes the
// deployment, and promotes it with the CLI; the rest of the group then
// rolls out and the deployment succeeds.
func TestDeploymentPromoteCLI(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	update := `      max_parallel      = 1
      canary            = 1
      min_healthy_time  = "1s"
      healthy_deadline  = "20s"
      progress_deadline = "1m"`
	out, code := a.cli(dir, "job", "run", deployJobFile(t, dir, "promo", "v0", update, loopScript, 2))
	if code != 0 {
		t.Fatalf("job run v0 exited %d, want 0:\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "run", "-detach", deployJobFile(t, dir, "promo", "v1", update, loopScript, 2))
	if code != 0 {
		t.Fatalf("job run -detach v1 exited %d:\n%s", code, out)
	}
	var d *structs.Deployment
	waitFor(t, 30*time.Second, "a healthy canary waiting for promotion", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		var err error
		d, _, err = a.api().LatestDeployment(ctx, "promo", nil)
		if err != nil || d == nil {
			return false, fmt.Sprint(d, err)
		}
		g := d.TaskGroups["web"]
		return d.JobVersion == 1 && g != nil && g.HealthyAllocs == 1 && !g.Promoted &&
			d.StatusDescription == structs.DeploymentStatusDescriptionRunningNeedsPromotion, fmt.Sprintf("%s: %s %+v", d.Status, d.StatusDescription, g)
	})
	id := d.ID[:8]
	out, code = a.cli(dir, "deployment", "status", id)
	for _, want := range []string{"ID          = " + id, "Job ID      = promo", "Job Version = 1", "requires manual promotion",
		"Promoted", "Canaries", "web"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("deployment status exited %d without %q:\n%s", code, want, out)
		}
	}
	if out, code = a.cli(dir, "deployment", "pause", id); code != 0 || !strings.Contains(out, "paused") {
		t.Errorf("deployment pause exited %d:\n%s", code, out)
	}
	if out, code = a.cli(dir, "deployment", "resume", id); code != 0 || !strings.Contains(out, "resumed") {
		t.Errorf("deployment resume exited %d:\n%s", code, out)
	}
	if out, code = a.cli(dir, "deployment", "promote", id); code != 0 || !strings.Contains(out, "promoted") {
		t.Fatalf("deployment promote exited %d:\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "the promoted deployment to succeed", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		d, _, err := a.api().Deployment(ctx, d.ID, nil)
		if err != nil {
			return false, err.Error()
		}
		return d.Status == structs.DeploymentStatusSuccessful, d.Status + ": " + d.StatusDescription
	})
	live := liveAllocs(t, a, "promo")
	for _, al := range live {
		if al.JobVersion != 1 {
			t.Errorf("allocation %s still runs version %d after the promotion", al.ID[:8], al.JobVersion)
		}
	}
	if len(live) != 2 {
		t.Errorf("%d live allocations, want 2:\n%s", len(live), describeAllocs(live))
	}
	if out, code = a.cli(dir, "deployment", "fail", id); code == 0 {
		t.Errorf("deployment fail of a finished deployment exited 0:\n%s", out)
	}
}
