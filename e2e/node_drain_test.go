package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestNodeDrainFollows drains the only node of a dev agent with the CLI,
// which follows the drain until it completes (Nomad's monitor lines), and
// checks the node's computed class.
func TestNodeDrainFollows(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("drainme", "drainme", "global", 50)
	job.Datacenters = []string{"*"}
	task := nomad.NewTask("web", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "while true; do sleep 0.1; done"}).
		Require(&nomad.Resources{CPU: new(100), MemoryMB: new(64)})
	task.Env = map[string]string{"E2E_RUN": runToken}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	var allocID, nodeID string
	waitFor(t, 30*time.Second, "the allocation to run", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations("drainme", false, nil)
		if err != nil || len(stubs) != 1 || stubs[0].ClientStatus != "running" {
			return false, fmt.Sprintf("%d allocations, err %v", len(stubs), err)
		}
		allocID, nodeID = stubs[0].ID, stubs[0].NodeID
		return true, ""
	})
	ctx, cancel := ctx10s()
	defer cancel()
	stored, _, err := a.api().Node(ctx, nodeID, nil)
	if err != nil {
		t.Fatalf("GET /v1/node/%s: %v", nodeID, err)
	}
	if !strings.HasPrefix(stored.ComputedClass, "v1:") {
		t.Errorf("node ComputedClass = %q, want v1:<hash>", stored.ComputedClass)
	}

	out, code := a.cli(t.TempDir(), "node", "drain", "-enable", "-yes", "-deadline", "30s", nodeID[:8])
	if code != 0 {
		t.Fatalf("node drain exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		"Ctrl-C to stop monitoring: will not cancel the node drain",
		fmt.Sprintf("Node %q drain strategy set", nodeID[:8]),
		fmt.Sprintf("Alloc %q marked for migration", allocID[:8]),
		fmt.Sprintf("Drain complete for node %s", nodeID[:8]),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("node drain output lacks %q", want)
		}
	}
	node, _, err := c.Nodes().Info(nodeID, nil)
	if err != nil || node.Drain || node.SchedulingEligibility != "ineligible" {
		t.Errorf("after the drain: drain %v, eligibility %q (err %v); want a drained, ineligible node", node.Drain, node.SchedulingEligibility, err)
	}

	out, code = a.cli(t.TempDir(), "node", "drain", "-monitor", nodeID[:8])
	if code != 0 || !strings.Contains(out, fmt.Sprintf("No drain strategy set for node %s", nodeID[:8])) {
		t.Errorf("node drain -monitor on a drained node: exit %d, output:\n%s", code, out)
	}
}
