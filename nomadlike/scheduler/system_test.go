package scheduler_test

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func systemJob(typ string) *structs.Job {
	j := schedtest.Job()
	j.Type = typ
	j.TaskGroups[0].Count = 1
	j.TaskGroups[0].ReschedulePolicy = nil
	j.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
	return j
}

// perNode counts the job's live allocations per node name.
func perNode(h *schedtest.Harness, jobID string) map[string]int {
	out := map[string]int{}
	for _, a := range live(h, jobID) {
		out[a.NodeName]++
	}
	return out
}

// TestSystemJobFollowsNodes checks that a system job runs exactly once on
// every eligible node as nodes join, leave, become ineligible and drain.
func TestSystemJobFollowsNodes(t *testing.T) {
	h := schedtest.NewHarness()
	nodes := h.Nodes(3, func(i int, n *structs.Node) {
		if i == 2 {
			n.Attributes["kernel.name"] = "windows"
		}
	})
	job := systemJob(structs.JobTypeSystem)
	job.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
	if err := job.Validate(); err != nil {
		t.Fatalf("system job does not validate: %v", err)
	}
	register(t, h, job)
	check := func(step string, want map[string]int) {
		t.Helper()
		got := perNode(h, job.ID)
		if len(got) != len(want) {
			t.Errorf("%s: got allocations on %v, want %v", step, got, want)
			return
		}
		for n, c := range want {
			if got[n] != c {
				t.Errorf("%s: got %d allocations on %s, want %d (all: %v)", step, got[n], n, c, got)
			}
		}
		for _, a := range live(h, job.ID) {
			if a.Name != job.ID+".web[0]" {
				t.Errorf("%s: got alloc name %q, want %q", step, a.Name, job.ID+".web[0]")
			}
		}
	}
	check("register", map[string]int{"node-0": 1, "node-1": 1})
	if ev := h.LastEval(); ev.Status != structs.EvalStatusComplete || len(ev.FailedTGAllocs) != 0 || len(h.Created) != 0 {
		t.Errorf("got eval %q failed %v created %d, want complete without failures", ev.Status, ev.FailedTGAllocs, len(h.Created))
	}

	// A node joins: a node-update evaluation places on it only.
	added := h.Nodes(1, func(_ int, n *structs.Node) { n.Name = "node-3" })[0]
	plans := len(h.Plans)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	check("node joins", map[string]int{"node-0": 1, "node-1": 1, "node-3": 1})
	if got := len(planned(h.Plans[plans])); got != 1 {
		t.Errorf("node joins: got %d placements, want 1", got)
	}

	// Re-evaluating changes nothing.
	plans = len(h.Plans)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if len(h.Plans) != plans {
		t.Errorf("no-op eval: got a plan %+v, want none", h.LastPlan())
	}

	// Ineligible: the allocation stays.
	n := nodes[0].Copy()
	n.SchedulingEligibility = structs.NodeSchedulingIneligible
	h.State.UpsertNode(n)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	check("node ineligible", map[string]int{"node-0": 1, "node-1": 1, "node-3": 1})

	// Draining: the allocation stops.
	n = n.Copy()
	n.Drain = true
	h.State.UpsertNode(n)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	check("node draining", map[string]int{"node-1": 1, "node-3": 1})

	// A node goes down: its allocation is lost; then it is deleted.
	down := added.Copy()
	down.Status = structs.NodeStatusDown
	h.State.UpsertNode(down)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	check("node down", map[string]int{"node-1": 1})
	for _, a := range stopped(h.LastPlan()) {
		if a.NodeID == added.ID && a.ClientStatus != structs.AllocClientStatusLost {
			t.Errorf("node down: got client status %q, want lost", a.ClientStatus)
		}
	}

	// Back up: placed again.
	up := down.Copy()
	up.Status = structs.NodeStatusReady
	h.State.UpsertNode(up)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	check("node back", map[string]int{"node-1": 1, "node-3": 1})

	// The job is stopped: everything stops.
	stop := job.Copy()
	stop.Stop = true
	register(t, h, stop)
	check("job stopped", map[string]int{})
}

// TestSystemJobExplainsAndQueues checks the metrics of a system job that
// fits no node (filtered everywhere: reported, nothing queued) and of one
// that lacks room on a node (queued, blocked evaluation).
func TestSystemJobExplainsAndQueues(t *testing.T) {
	t.Run("filtered everywhere", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(2, nil)
		job := systemJob(structs.JobTypeSystem)
		job.TaskGroups[0].Tasks[0].Driver = "qemu"
		register(t, h, job)
		ev := h.LastEval()
		m := ev.FailedTGAllocs["web"]
		if m == nil || m.ConstraintFiltered["missing drivers: qemu"] != 2 || m.NodesEvaluated != 2 {
			t.Fatalf("got failed metric %+v, want 2 nodes evaluated and filtered by missing drivers: qemu", m)
		}
		if ev.Status != structs.EvalStatusComplete || ev.BlockedEval != "" || ev.QueuedAllocations["web"] != 0 {
			t.Errorf("got status %q blocked %q queued %v, want complete, no blocked eval, nothing queued", ev.Status, ev.BlockedEval, ev.QueuedAllocations)
		}
	})
	t.Run("no room on one node", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(3, func(i int, n *structs.Node) {
			if i == 1 {
				n.NodeResources.Memory.MemoryMB = 32
			}
		})
		job := systemJob(structs.JobTypeSystem)
		register(t, h, job)
		if got := len(live(h, job.ID)); got != 2 {
			t.Errorf("got %d allocations, want 2", got)
		}
		ev := h.LastEval()
		m := ev.FailedTGAllocs["web"]
		if m == nil || m.DimensionExhausted["memory"] != 1 || m.DimensionFree["memory"].LargestFree != 32 {
			t.Fatalf("got failed metric %+v, want memory exhausted on 1 node with 32 MB free", m)
		}
		if ev.QueuedAllocations["web"] != 1 || ev.BlockedEval == "" {
			t.Errorf("got queued %v blocked %q, want 1 queued and a blocked eval", ev.QueuedAllocations, ev.BlockedEval)
		}
	})
}

// TestSysBatchRunsOncePerNode checks that a sysbatch job runs once per node
// and version: a completed allocation is not run again, a new node gets
// one, and a new job version runs again everywhere.
func TestSysBatchRunsOncePerNode(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(2, nil)
	job := systemJob(structs.JobTypeSysBatch)
	if err := job.Validate(); err != nil {
		t.Fatalf("sysbatch job does not validate: %v", err)
	}
	register(t, h, job)
	first := live(h, job.ID)
	if len(first) != 2 {
		t.Fatalf("got %d allocations, want 2", len(first))
	}
	for _, a := range first {
		setClientStatus(h, a, structs.AllocClientStatusComplete)
	}
	plans := len(h.Plans)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if len(h.Plans) != plans {
		t.Errorf("got a plan after every node ran the job: %+v", h.LastPlan())
	}
	h.Nodes(1, func(_ int, n *structs.Node) { n.Name = "node-2" })
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if got := perNode(h, job.ID); len(got) != 1 || got["node-2"] != 1 {
		t.Errorf("got live allocations %v, want one on the new node-2", got)
	}
	v2 := job.Copy()
	v2.TaskGroups[0].Tasks[0].Env = map[string]string{"RUN": "2"}
	register(t, h, v2)
	if got := len(live(h, job.ID)); got != 3 {
		t.Errorf("got %d live allocations after a new version, want 3 (node-2's updated, two new)", got)
	}
}

// TestSystemPropertyOncePerEligibleNode is a property test: over random
// node joins, losses, drains and eligibility changes, a system job runs
// exactly once on every ready node that matches it and nowhere else except
// nodes merely marked ineligible.
func TestSystemPropertyOncePerEligibleNode(t *testing.T) {
	for seed := int64(1); seed <= 10; seed++ {
		h := schedtest.NewHarness()
		r := newRand(seed)
		h.Nodes(4, nil)
		job := systemJob(structs.JobTypeSystem)
		job.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r9", Operand: "!="}}
		register(t, h, job)
		ineligibleWithAlloc := map[string]bool{}
		for step := range 25 {
			nodes, _ := h.State.Nodes(nil)
			op := r.Intn(5)
			if len(nodes) == 0 {
				op = 0
			}
			switch op {
			case 0:
				h.Nodes(1, func(_ int, n *structs.Node) {
					if r.Intn(3) == 0 {
						n.Meta["rack"] = "r9"
					}
				})
			case 1, 2, 3:
				n := nodes[r.Intn(len(nodes))].Copy()
				switch op {
				case 1:
					n.Status = map[bool]string{true: structs.NodeStatusDown, false: structs.NodeStatusReady}[n.Status == structs.NodeStatusReady]
				case 2:
					n.Drain = !n.Drain
				case 3:
					if n.SchedulingEligibility == structs.NodeSchedulingIneligible {
						n.SchedulingEligibility = structs.NodeSchedulingEligible
					} else {
						n.SchedulingEligibility = structs.NodeSchedulingIneligible
					}
				}
				h.State.UpsertNode(n)
			case 4:
				h.State.DeleteNode(nodes[r.Intn(len(nodes))].ID)
			}
			process(t, h, job, structs.EvalTriggerNodeUpdate)
			got := map[string]int{}
			for _, a := range live(h, job.ID) {
				got[a.NodeID]++
			}
			nodes, _ = h.State.Nodes(nil)
			for _, n := range nodes {
				want := 0
				if n.Ready() && n.Meta["rack"] != "r9" {
					want = 1
				}
				if n.SchedulingEligibility == structs.NodeSchedulingIneligible && n.Status == structs.NodeStatusReady && !n.Drain && got[n.ID] == 1 {
					ineligibleWithAlloc[n.ID] = true
					want = 1 // kept until drained
				}
				if got[n.ID] != want {
					t.Fatalf("seed %d step %d: node %s (status %s, drain %v, eligibility %s, rack %s) has %d allocations, want %d",
						seed, step, n.Name, n.Status, n.Drain, n.SchedulingEligibility, n.Meta["rack"], got[n.ID], want)
				}
				delete(got, n.ID)
			}
			for id, c := range got {
				t.Fatalf("seed %d step %d: %d allocations on deleted node %s, want 0", seed, step, c, id)
			}
		}
	}
}
