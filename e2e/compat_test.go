package e2e

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestNomadAPICompat drives the agent with HashiCorp's official Go client:
// register a job built from its types, list the allocations, read the node,
// the evaluation and the agent.
func TestNomadAPICompat(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}

	job := officialSleepJob("compat", "default")

	resp, _, err := c.Jobs().Register(job, nil)
	if err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	if resp.EvalID == "" {
		t.Errorf("register response has no EvalID")
	}

	var allocs []*nomad.AllocationListStub
	waitFor(t, 30*time.Second, "the job's allocation to run", func() (bool, string) {
		allocs, _, err = c.Jobs().Allocations("compat", false, nil)
		if err != nil {
			return false, err.Error()
		}
		return len(allocs) == 1 && allocs[0].ClientStatus == "running", "allocations not running yet"
	})

	alloc, _, err := c.Allocations().Info(allocs[0].ID, nil)
	if err != nil {
		t.Fatalf("Allocations().Info: %v", err)
	}
	if alloc.JobID != "compat" || alloc.TaskGroup != "g" || alloc.Job == nil || *alloc.Job.ID != "compat" {
		t.Errorf("allocation decoded wrong: job %q group %q", alloc.JobID, alloc.TaskGroup)
	}
	if alloc.TaskStates["sleep"] == nil || alloc.TaskStates["sleep"].State != "running" {
		t.Errorf("task state of sleep: got %+v, want running", alloc.TaskStates["sleep"])
	}

	nodes, _, err := c.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes().List: %d nodes, %v", len(nodes), err)
	}
	node, _, err := c.Nodes().Info(nodes[0].ID, nil)
	if err != nil {
		t.Fatalf("Nodes().Info: %v", err)
	}
	if node.ID != alloc.NodeID || node.Status != "ready" || node.Drivers["raw_exec"] == nil || !node.Drivers["raw_exec"].Healthy {
		t.Errorf("node decoded wrong: id %s status %s drivers %v", node.ID, node.Status, node.Drivers)
	}
	if node.NodeResources == nil || node.NodeResources.Memory.MemoryMB == 0 {
		t.Errorf("node has no resources: %+v", node.NodeResources)
	}

	eval, _, err := c.Evaluations().Info(resp.EvalID, nil)
	if err != nil {
		t.Fatalf("Evaluations().Info: %v", err)
	}
	if eval.JobID != "compat" || eval.Status != "complete" {
		t.Errorf("evaluation: job %q status %q, want compat complete", eval.JobID, eval.Status)
	}

	if _, err := c.Agent().Self(); err != nil {
		t.Errorf("Agent().Self: %v", err)
	}
	if leader, err := c.Status().Leader(); err != nil || leader == "" {
		t.Errorf("Status().Leader: %q, %v", leader, err)
	}

	if _, _, err := c.Jobs().Deregister("compat", true, nil); err != nil {
		t.Errorf("Jobs().Deregister: %v", err)
	}
}
