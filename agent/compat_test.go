package agent

import (
	"context"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatOfficialClient drives a dev agent with HashiCorp's official Go
// client: every call must decode without error and carry the right values.
func TestCompatOfficialClient(t *testing.T) {
	a, c, nodeID := compatAgent(t, nil)

	job := nomad.NewBatchJob("compat", "compat", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "echo compat"})
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	reg, _, err := c.Jobs().Register(job, nil)
	if err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	if reg.EvalID == "" {
		t.Fatalf("Jobs().Register: no EvalID")
	}

	info, _, err := c.Jobs().Info("compat", nil)
	if err != nil || *info.ID != "compat" || *info.Type != "batch" || len(info.TaskGroups) != 1 {
		t.Fatalf("Jobs().Info: got %+v, %v", info, err)
	}
	var allocID string
	waitFor(t, "an allocation", 30*time.Second, func() (bool, string) {
		allocs, _, err := c.Jobs().Allocations("compat", false, nil)
		if err != nil {
			return false, err.Error()
		}
		if len(allocs) == 0 {
			return false, "no allocations"
		}
		allocID = allocs[0].ID
		return true, ""
	})
	alloc, _, err := c.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatalf("Allocations().Info: %v", err)
	}
	if alloc.JobID != "compat" || alloc.NodeID != nodeID || alloc.TaskGroup != "g" || alloc.Job == nil || *alloc.Job.ID != "compat" {
		t.Errorf("Allocations().Info: got job %q node %q group %q, want compat, %s, g with the job", alloc.JobID, alloc.NodeID, alloc.TaskGroup, nodeID)
	}
	node, _, err := c.Nodes().Info(nodeID, nil)
	if err != nil || node.ID != nodeID || node.HTTPAddr != a.HTTPAddr() {
		t.Errorf("Nodes().Info: got %+v, %v; want ID %s and HTTPAddr %s", node, err, nodeID, a.HTTPAddr())
	}
	eval, _, err := c.Evaluations().Info(reg.EvalID, nil)
	if err != nil || eval.JobID != "compat" {
		t.Errorf("Evaluations().Info: got %+v, %v", eval, err)
	}
	self, err := c.Agent().Self()
	if err != nil || self.Member.Tags["region"] != "global" || self.Config["Region"] != "global" {
		t.Errorf("Agent().Self: got %+v, %v", self, err)
	}
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		t.Errorf("Status().Leader: got %q, %v", leader, err)
	}
	members, err := c.Agent().Members()
	if err != nil || len(members.Members) != 1 || members.Members[0].Tags["role"] != "nomad" {
		t.Errorf("Agent().Members: got %+v, %v", members, err)
	}
	regions, err := c.Regions().List()
	if err != nil || len(regions) != 1 || regions[0] != "global" {
		t.Errorf("Regions().List: got %v, %v", regions, err)
	}
	sum, _, err := c.Jobs().Summary("compat", nil)
	if err != nil || sum.JobID != "compat" {
		t.Errorf("Jobs().Summary: got %+v, %v", sum, err)
	}
	versions, _, _, err := c.Jobs().Versions("compat", false, nil)
	if err != nil || len(versions) != 1 {
		t.Errorf("Jobs().Versions: got %d versions, %v", len(versions), err)
	}
	// Blocking query through the official client's QueryOptions.
	_, meta, err := c.Jobs().List(nil)
	if err != nil || meta.LastIndex == 0 {
		t.Fatalf("Jobs().List: meta %+v, %v", meta, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := (&nomad.QueryOptions{WaitIndex: meta.LastIndex + 1000, WaitTime: 100 * time.Millisecond}).WithContext(ctx)
	if _, _, err := c.Jobs().List(q); err != nil {
		t.Errorf("blocking Jobs().List: %v", err)
	}
	if _, _, err := c.Jobs().Deregister("compat", true, nil); err != nil {
		t.Errorf("Jobs().Deregister: %v", err)
	}
	if _, _, err := c.Jobs().Info("compat", nil); err == nil {
		t.Errorf("Jobs().Info after purge: got no error, want a 404")
	}
}
