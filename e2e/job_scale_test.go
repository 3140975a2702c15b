package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// runningAllocs returns the running allocations of job.
func runningAllocs(t *testing.T, a *agent, job string) []*structs.AllocListStub {
	t.Helper()
	var out []*structs.AllocListStub
	for _, al := range liveOrDone(t, a, job) {
		if al.ClientStatus == structs.AllocClientStatusRunning && al.DesiredStatus == structs.AllocDesiredStatusRun {
			out = append(out, al)
		}
	}
	return out
}

// TestJobScaleAndRestart scales a service job from 1 to 3 with `job scale`
// and restarts its tasks in place, in batches, with `job restart`.
func TestJobScaleAndRestart(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	file := writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))
	if out, code := a.cli(dir, "job", "run", file); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}

	out, code := a.cli(dir, "job", "scale", "e2e-web", "3")
	if code != 0 || !strings.Contains(out, "Monitoring evaluation") {
		t.Fatalf("job scale e2e-web 3: exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "three running allocations", func() (bool, string) {
		n := len(runningAllocs(t, a, "e2e-web"))
		return n == 3, fmt.Sprintf("%d running", n)
	})
	ctx, cancel := ctx10s()
	st, _, err := a.api().JobScaleStatus(ctx, "e2e-web", nil)
	cancel()
	if err != nil || st.TaskGroups["web"].Desired != 3 || st.TaskGroups["web"].Running != 3 {
		t.Errorf("scale status: %+v, %v", st, err)
	}
	// The scale is recorded as a scaling event, shown as Nomad shows it.
	out, code = a.cli(dir, "job", "scaling-events", "e2e-web")
	if code != 0 || !regexp.MustCompile(`(?m)^Task Group\s+Count\s+PrevCount\s+Date$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web\s+3\s+1\s+\d{4}-\d\d-\d\dT`).MatchString(out) {
		t.Errorf("job scaling-events: exit %d\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "scaling-events", "-verbose", "e2e-web")
	if code != 0 || !strings.Contains(out, "Error  Message") ||
		!regexp.MustCompile(`(?m)^web\s+3\s+1\s+false\s+submitted using the nomadlike CLI\s+[0-9a-f-]{36}\s+`).MatchString(out) {
		t.Errorf("job scaling-events -verbose: exit %d\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "scale", "e2e-web", "db", "2")
	if code != 1 || !strings.Contains(out, `its groups are "web"`) {
		t.Errorf("scale of an unknown group: exit %d, want 1 listing the groups\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "scale", "e2e-web", "web", "-1")
	if code != 1 {
		t.Errorf("scale to -1: exit %d, want 1\n%s", code, out)
	}

	before := runningAllocs(t, a, "e2e-web")
	out, code = a.cli(dir, "job", "restart", "-yes", "-batch-size", "50%", "-task", "loop", "e2e-web")
	if code != 0 || !strings.Contains(out, "All allocations restarted successfully!") || !strings.Contains(out, "Restarting batch 2") {
		t.Fatalf("job restart: exit %d\n%s", code, out)
	}
	ctx, cancel = ctx10s()
	defer cancel()
	for _, stub := range before {
		al, _, err := a.api().Allocation(ctx, stub.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts := al.TaskStates["loop"]
		if ts == nil || ts.Restarts != 1 || ts.State != structs.TaskStateRunning || al.ClientStatus != structs.AllocClientStatusRunning {
			t.Errorf("allocation %s after job restart: %+v (client status %s), want running with 1 restart", stub.ID[:8], ts, al.ClientStatus)
			continue
		}
		signaled := false
		for _, e := range ts.Events {
			signaled = signaled || e.Type == structs.TaskRestartSignal
		}
		if !signaled {
			t.Errorf("allocation %s has no %q event", stub.ID[:8], structs.TaskRestartSignal)
		}
	}
	if n := len(runningAllocs(t, a, "e2e-web")); n != 3 {
		t.Errorf("%d running allocations after the restart, want the same 3", n)
	}
}
