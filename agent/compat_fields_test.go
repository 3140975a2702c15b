package agent

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatLastDrain follows Node.LastDrain through the official client
// as `nomad node drain` and `node status` read it: a drain with meta is
// "complete" when the drainer finishes it (the user's cancel is
// TestLastDrain in state); a re-registration of the node (new dynamic
// metadata) keeps its eligibility and LastDrain.
func TestCompatLastDrain(t *testing.T) {
	_, c, nodeID := compatAgent(t, nil)
	if n, _, err := c.Nodes().Info(nodeID, nil); err != nil || n.LastDrain != nil {
		t.Fatalf("a fresh node: LastDrain %+v, %v; want nil", n.LastDrain, err)
	}
	drain := func(spec *nomad.DrainSpec, meta map[string]string) {
		t.Helper()
		if _, err := c.Nodes().UpdateDrainOpts(nodeID, &nomad.DrainOptions{DrainSpec: spec, Meta: meta}, nil); err != nil {
			t.Fatalf("UpdateDrainOpts: %v", err)
		}
	}
	lastDrain := func(want string) *nomad.DrainMetadata {
		t.Helper()
		var got *nomad.DrainMetadata
		waitFor(t, "LastDrain "+want, 30*time.Second, func() (bool, string) {
			n, _, err := c.Nodes().Info(nodeID, nil)
			if err != nil {
				return false, err.Error()
			}
			got = n.LastDrain
			if got == nil {
				return false, "no LastDrain"
			}
			return got.Status == nomad.DrainStatus(want), string(got.Status)
		})
		return got
	}
	before := time.Now().Add(-time.Second)
	drain(&nomad.DrainSpec{Deadline: time.Hour}, map[string]string{"reason": "kernel"})
	d := lastDrain("complete") // no allocations: the drainer finishes at once
	if d.Meta["reason"] != "kernel" || d.StartedAt.Before(before) || d.UpdatedAt.Before(d.StartedAt) {
		t.Errorf("completed drain = %+v; want the meta and StartedAt <= UpdatedAt, both now", d)
	}
	stubs, _, err := c.Nodes().List(nil)
	if err != nil || stubs[0].LastDrain == nil || stubs[0].LastDrain.Status != "complete" {
		t.Errorf("Nodes().List LastDrain: %+v, %v", stubs, err)
	}

	// The node is ineligible after the drain; new metadata re-registers it
	// and must not make it eligible.
	if _, err := c.Nodes().Meta().Apply(&nomad.NodeMetaApplyRequest{Meta: map[string]*string{"after": ptr("drain")}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the re-registration with the new meta", 30*time.Second, func() (bool, string) {
		n, _, err := c.Nodes().Info(nodeID, nil)
		if err != nil {
			return false, err.Error()
		}
		if n.Meta["after"] != "drain" {
			return false, "meta not there yet"
		}
		if n.SchedulingEligibility != "ineligible" || n.LastDrain == nil || n.LastDrain.Status != "complete" {
			t.Errorf("after a re-registration: eligibility %q, LastDrain %+v; want ineligible and the completed drain", n.SchedulingEligibility, n.LastDrain)
		}
		return true, ""
	})
}

// TestCompatStopOptions: `job stop -eval-priority` gives the deregistration
// its evaluation's priority (DELETE /v1/job/{id}?eval_priority=, as the
// official client sends it, 0 meaning unset); `alloc stop
// -no-shutdown-delay` sends no_shutdown_delay and gets AllocStopResponse.
func TestCompatStopOptions(t *testing.T) {
	_, c, _ := compatAgent(t, nil)
	job := nomad.NewServiceJob("stoppable", "stoppable", "global", 40)
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300")))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	allocs := waitAllocs(t, c, "stoppable", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
	alloc, _, err := c.Allocations().Info(allocs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := c.Allocations().Stop(alloc, &nomad.QueryOptions{Params: map[string]string{"no_shutdown_delay": "true"}})
	if err != nil || stop.EvalID == "" || stop.LastIndex == 0 {
		t.Fatalf("Allocations().Stop(no_shutdown_delay) = %+v, %v; want an evaluation and an index", stop, err)
	}
	if _, err := c.Allocations().Stop(alloc, &nomad.QueryOptions{Params: map[string]string{"no_shutdown_delay": "maybe"}}); err == nil {
		t.Errorf("no_shutdown_delay=maybe: no error, want a 400")
	}
	evalID, _, err := c.Jobs().DeregisterOpts("stoppable", &nomad.DeregisterOptions{EvalPriority: 90, NoShutdownDelay: true}, nil)
	if err != nil {
		t.Fatalf("DeregisterOpts(eval_priority=90): %v", err)
	}
	ev, _, err := c.Evaluations().Info(evalID, nil)
	if err != nil || ev.Priority != 90 || ev.TriggeredBy != "job-deregister" {
		t.Errorf("deregistration eval = %+v, %v; want priority 90", ev, err)
	}
	if _, _, err := c.Jobs().DeregisterOpts("stoppable", &nomad.DeregisterOptions{EvalPriority: 101}, nil); err == nil {
		t.Errorf("eval_priority=101: no error, want a 400")
	}
	evalID, _, err = c.Jobs().DeregisterOpts("stoppable", &nomad.DeregisterOptions{Purge: true}, nil)
	if err != nil {
		t.Fatalf("DeregisterOpts(purge, eval_priority=0): %v", err)
	}
	if ev, _, err := c.Evaluations().Info(evalID, nil); err != nil || ev.Priority != 40 {
		t.Errorf("purge eval = %+v, %v; want the job's priority 40", ev, err)
	}
}
