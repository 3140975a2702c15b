package scheduler_test

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// walkState hides the per-node sums: every node reads as holding ports, so
// the scheduler counts each node's allocations one by one, as it did
// before the state kept the sums.
type walkState struct{ *schedtest.State }

func (walkState) NodeUsage(_ memdb.WatchSet, nodeID string) (*structs.NodeUsage, error) {
	return &structs.NodeUsage{NodeID: nodeID, Exclusive: 1}, nil
}

// recordPlanner accepts every plan without applying it and records what
// the scheduler decided.
type recordPlanner struct{ out []string }

func (r *recordPlanner) SubmitPlan(p *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	names := func(m map[string][]*structs.Allocation, what func(a *structs.Allocation) string) string {
		var out []string
		for node, allocs := range m {
			for _, a := range allocs {
				out = append(out, node[:8]+":"+what(a))
			}
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	r.out = append(r.out,
		"place "+names(p.NodeAllocation, func(a *structs.Allocation) string {
			return fmt.Sprintf("%s/%d/%v", a.Name, a.AllocatedResources.Comparable().CPU, a.PreemptedAllocations)
		}),
		"stop "+names(p.NodeUpdate, func(a *structs.Allocation) string { return a.ID[:8] + "/" + a.DesiredStatus }),
		"preempt "+names(p.NodePreemptions, func(a *structs.Allocation) string { return a.ID[:8] }))
	return &structs.PlanResult{NodeAllocation: p.NodeAllocation, NodeUpdate: p.NodeUpdate, NodePreemptions: p.NodePreemptions, AllocIndex: 1000}, nil, nil
}

func (r *recordPlanner) UpdateEval(e *structs.Evaluation) error {
	var failed []string
	for tg, m := range e.FailedTGAllocs {
		failed = append(failed, fmt.Sprintf("%s:%d:%v", tg, m.CoalescedFailures, m.DimensionExhausted))
	}
	slices.Sort(failed)
	r.out = append(r.out, fmt.Sprintf("eval %s queued=%v failed=%v", e.Status, e.QueuedAllocations, failed))
	return nil
}

func (r *recordPlanner) CreateEval(e *structs.Evaluation) error {
	r.out = append(r.out, "create "+e.Status+" "+e.TriggeredBy)
	return nil
}

// TestNodeUsageSumsScheduleAsAllocs checks that the scheduler decides the
// same whether it ranks nodes from the state's per-node sums or by reading
// each node's allocations: new jobs on busy nodes, a destructive update
// (stops and replacements), an update shrinking a job, preemption by a
// service and by a system job, with terminal allocations about.
func TestNodeUsageSumsScheduleAsAllocs(t *testing.T) {
	h := schedtest.NewHarness()
	h.State.SetSchedulerConfig(&structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{
		ServiceSchedulerEnabled: true, BatchSchedulerEnabled: true, SystemSchedulerEnabled: true}})
	h.Nodes(12, nil)
	var fillers []*structs.Job
	for i, prio := range []int{20, 30, 50, 70} {
		j := schedtest.Job()
		j.ID = fmt.Sprintf("fill-%d", i)
		j.Priority = prio
		j.TaskGroups[0].Count = 12
		j.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 300 + 100*i, MemoryMB: 900}
		register(t, h, j)
		for k, a := range live(h, j.ID) {
			switch k % 5 {
			case 0:
				setClientStatus(h, a, structs.AllocClientStatusFailed)
			case 1:
				setClientStatus(h, a, structs.AllocClientStatusRunning)
			}
		}
		fillers = append(fillers, j)
	}
	big := schedtest.Job()
	big.ID, big.Priority = "big", 90
	big.TaskGroups[0].Count = 40
	big.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 900, MemoryMB: 2000}
	small := schedtest.Job()
	small.ID = "small"
	small.TaskGroups[0].Count = 30
	update := fillers[1].Copy()
	update.Version++
	update.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 700, MemoryMB: 1200}
	shrink := fillers[2].Copy()
	shrink.Version++
	shrink.TaskGroups[0].Count = 4
	sys := schedtest.Job()
	sys.ID, sys.Type, sys.Priority = "sys", structs.JobTypeSystem, 95
	sys.TaskGroups[0].ReschedulePolicy = nil
	sys.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 1000, MemoryMB: 3000}
	for _, job := range []*structs.Job{small, big, update, shrink, sys} {
		t.Run(job.ID, func(t *testing.T) {
			h.State.UpsertJob(job)
			eval := schedtest.Eval(job)
			var got [2][]string
			for i, st := range []scheduler.State{h.State.Snapshot(), walkState{h.State.Snapshot()}} {
				rec := &recordPlanner{}
				s, err := scheduler.NewScheduler(job.Type, h.Logger, st, rec, rand.New(rand.NewSource(7)), func() time.Time { return h.Now })
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Process(eval.Copy()); err != nil {
					t.Fatalf("process: %v", err)
				}
				got[i] = rec.out
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("decisions differ:\nfrom sums:  %q\nfrom allocs: %q", got[0], got[1])
			}
			if len(got[0]) == 0 || !strings.Contains(strings.Join(got[0], " "), "place "+"") {
				t.Errorf("no plan submitted: %q", got[0])
			}
			t.Logf("%q", got[0])
		})
	}
}
