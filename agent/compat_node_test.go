package agent

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatNodePurge runs `node purge` through the official client: the
// node is removed with an evaluation of each job it ran, and a live client
// registers again.
func TestCompatNodePurge(t *testing.T) {
	_, c, nodeID := compatAgent(t, nil)
	job := nomad.NewServiceJob("np", "np", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300")))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	waitAllocs(t, c, "np", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
	resp, _, err := c.Nodes().Purge(nodeID, nil)
	if err != nil || len(resp.EvalIDs) != 1 || resp.NodeModifyIndex == 0 {
		t.Fatalf("Purge = %+v, %v; want one evaluation (job np)", resp, err)
	}
	ev, _, err := c.Evaluations().Info(resp.EvalIDs[0], nil)
	if err != nil || ev.JobID != "np" || ev.NodeID != nodeID {
		t.Errorf("purge evaluation %+v, %v", ev, err)
	}
	if _, _, err := c.Nodes().Purge("00000000-0000-0000-0000-000000000000", nil); err == nil {
		t.Errorf("Purge of an unknown node: no error, want a 404")
	}
	waitFor(t, "the live client to register again", 30*time.Second, func() (bool, string) {
		n, _, err := c.Nodes().Info(nodeID, nil)
		if err != nil {
			return false, err.Error()
		}
		return n.Status == "ready", n.Status
	})
}
