package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestServerSurvivesSIGKILL: an agent with a data dir is killed with SIGKILL
// and restarted; it comes back with its jobs and allocations, and the task,
// which outlives the agent, is running again.
func TestServerSurvivesSIGKILL(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))
	if out, code := a.cli(dir, "job", "run", jobFile); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	var allocID string
	waitFor(t, 30*time.Second, "the allocation to run", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-web")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		allocID = live[0].ID
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})

	a.kill()
	a.start()

	ctx, cancel := ctx10s()
	defer cancel()
	job, _, err := a.api().Job(ctx, "e2e-web", nil)
	if err != nil {
		t.Fatalf("after restart the job is gone: %v", err)
	}
	if job.Stop {
		t.Errorf("after restart the job is stopped")
	}
	al, _, err := a.api().Allocation(ctx, allocID, nil)
	if err != nil {
		t.Fatalf("after restart allocation %s is gone: %v", allocID, err)
	}
	if al.DesiredStatus != structs.AllocDesiredStatusRun {
		t.Errorf("after restart allocation desired status %q, want run", al.DesiredStatus)
	}
	waitFor(t, 30*time.Second, "the allocation to be running after the restart", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-web")
		if len(live) != 1 {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})
	if out, code := a.cli(dir, "job", "stop", "e2e-web"); code != 0 || strings.Contains(out, "Error") {
		t.Errorf("job stop after restart exited %d:\n%s", code, out)
	}
}
