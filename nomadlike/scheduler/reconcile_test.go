package scheduler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestScaleDownStopsHighestIndexes(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(3, nil)
	job := schedtest.Job()
	job.TaskGroups[0].Count = 5
	register(t, h, job)

	smaller := job.Copy()
	smaller.TaskGroups[0].Count = 2
	h.State.UpsertJob(smaller)
	process(t, h, smaller, structs.EvalTriggerJobRegister)

	stops := names(stopped(h.LastPlan()))
	slices.Sort(stops)
	want := []string{job.ID + ".web[2]", job.ID + ".web[3]", job.ID + ".web[4]"}
	if d := cmp.Diff(want, stops); d != "" {
		t.Errorf("stopped (-want +got):\n%s", d)
	}
	if got := len(planned(h.LastPlan())); got != 2 {
		t.Errorf("got %d in-place updates of the kept allocs (count changed), want 2", got)
	}
	kept := names(live(h, job.ID))
	if d := cmp.Diff([]string{job.ID + ".web[0]", job.ID + ".web[1]"}, kept); d != "" {
		t.Errorf("kept (-want +got):\n%s", d)
	}
	du := h.LastPlan().Annotations.DesiredTGUpdates["web"]
	if du.Stop != 3 || du.InPlaceUpdate != 2 {
		t.Errorf("got annotations %+v, want 3 stops and 2 in-place updates", du)
	}
}

func TestStopAndPurgeStopAll(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(h *schedtest.Harness, job *structs.Job)
		desc  string
	}{
		{"stop", func(h *schedtest.Harness, job *structs.Job) {
			j := job.Copy()
			j.Stop = true
			h.State.UpsertJob(j)
		}, "alloc not needed as job is stopped"},
		{"purge", func(h *schedtest.Harness, job *structs.Job) { h.State.DeleteJob(job.Namespace, job.ID) }, "alloc not needed as job is stopped"},
		{"group removed", func(h *schedtest.Harness, job *structs.Job) {
			j := job.Copy()
			j.TaskGroups[0].Name = "api"
			j.TaskGroups[0].Count = 0
			h.State.UpsertJob(j)
		}, "alloc not needed as its task group was removed from the job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(2, nil)
			job := schedtest.Job()
			job.TaskGroups[0].Count = 4
			register(t, h, job)
			tc.apply(h, job)
			process(t, h, job, structs.EvalTriggerJobDeregister)
			stops := stopped(h.LastPlan())
			if len(stops) != 4 {
				t.Fatalf("got %d stops, want 4", len(stops))
			}
			for _, a := range stops {
				if a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != tc.desc {
					t.Errorf("alloc %s: got desired %q %q, want stop %q", a.Name, a.DesiredStatus, a.DesiredDescription, tc.desc)
				}
			}
			if got := len(live(h, job.ID)); got != 0 {
				t.Errorf("got %d live allocs, want 0", got)
			}
			if ev := h.LastEval(); ev.Status != structs.EvalStatusComplete {
				t.Errorf("got eval status %q, want complete", ev.Status)
			}
		})
	}
}

func TestJobUpdate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		change          func(j *structs.Job)
		wantDestructive bool
		extraNode       func(n *structs.Node) // added after the first placement
	}{
		{"driver config", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Config["args"] = []string{"60"} }, true, nil},
		{"env", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Env["FOO"] = "baz" }, true, nil},
		{"resources", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 512 }, true, nil},
		{"user", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].User = "nobody" }, true, nil},
		{"driver", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Driver = "exec" }, true, nil},
		{"job meta", func(j *structs.Job) { j.Meta["owner"] = "team-b" }, false, nil},
		{"group meta", func(j *structs.Job) { j.TaskGroups[0].Meta = map[string]string{"x": "y"} }, false, nil},
		{"kill timeout", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].KillTimeout = time.Minute }, false, nil},
		{"constraint still met", func(j *structs.Job) {
			j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
		}, false, nil},
		{"constraint no longer met", func(j *structs.Job) {
			j.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r2", Operand: "="}}
		}, true, func(n *structs.Node) { n.Meta["rack"] = "r2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(2, nil)
			job := schedtest.Job()
			job.TaskGroups[0].Count = 3
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 128}
			register(t, h, job)
			before := live(h, job.ID)
			if tc.extraNode != nil {
				h.Nodes(1, func(_ int, n *structs.Node) { tc.extraNode(n) })
			}

			updated := job.Copy()
			tc.change(updated)
			h.State.UpsertJob(updated)
			process(t, h, updated, structs.EvalTriggerJobRegister)

			plan := h.LastPlan()
			du := plan.Annotations.DesiredTGUpdates["web"]
			placed, stops := planned(plan), stopped(plan)
			if tc.wantDestructive {
				if du.DestructiveUpdate != 3 || len(stops) != 3 || len(placed) != 3 {
					t.Fatalf("got %+v, %d stops, %d placements; want 3 destructive updates", du, len(stops), len(placed))
				}
				prev := map[string]bool{}
				for _, a := range before {
					prev[a.ID] = true
				}
				for _, a := range placed {
					if !prev[a.PreviousAllocation] || a.Job != updated {
						t.Errorf("alloc %s: previous %q job version %d, want a replacement on the new version", a.Name, a.PreviousAllocation, a.Job.Version)
					}
				}
				for _, a := range stops {
					if a.DesiredDescription != "alloc is being updated due to job update" || a.NextAllocation == "" {
						t.Errorf("stop of %s: got %q next %q, want update description and NextAllocation", a.Name, a.DesiredDescription, a.NextAllocation)
					}
				}
			} else {
				if du.InPlaceUpdate != 3 || len(stops) != 0 || len(placed) != 3 {
					t.Fatalf("got %+v, %d stops, %d placements; want 3 in-place updates", du, len(stops), len(placed))
				}
				ids := map[string]bool{}
				for _, a := range before {
					ids[a.ID] = true
				}
				for _, a := range placed {
					if !ids[a.ID] || a.Job != updated {
						t.Errorf("alloc %s: got id known=%v job version %d, want the same alloc on version %d", a.Name, ids[a.ID], a.Job.Version, updated.Version)
					}
				}
			}
			if got := names(live(h, job.ID)); len(got) != 3 {
				t.Errorf("got live %v, want 3", got)
			}
		})
	}
}

func TestRescheduleFailed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    *structs.ReschedulePolicy
		batch     bool
		failedAgo time.Duration
		wantNow   bool
		wantLater time.Duration // WaitUntil - failure time, when !wantNow
		wantNone  bool
	}{
		{"immediate", &structs.ReschedulePolicy{Unlimited: true, DelayFunction: "constant"}, false, 0, true, 0, false},
		{"delay elapsed", &structs.ReschedulePolicy{Unlimited: true, Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour}, false, time.Minute, true, 0, false},
		{"delayed", &structs.ReschedulePolicy{Unlimited: true, Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour}, false, 10 * time.Second, false, 30 * time.Second, false},
		{"no attempts", &structs.ReschedulePolicy{Attempts: 0, Interval: time.Hour}, false, time.Hour, false, 0, true},
		{"batch attempts", &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}, true, time.Minute, true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(3, nil)
			job := schedtest.Job()
			if tc.batch {
				job = schedtest.BatchJob()
			}
			job.TaskGroups[0].Count = 2
			job.TaskGroups[0].ReschedulePolicy = tc.policy
			register(t, h, job)
			failed := live(h, job.ID)[0]
			failTime := h.Now.Add(-tc.failedAgo)
			f := h.State.AllocByID(failed.ID).Copy()
			f.ClientStatus = structs.AllocClientStatusFailed
			f.ModifyTime = failTime.UnixNano()
			h.State.UpsertAllocs(f)
			plansBefore := len(h.Plans)

			eval := process(t, h, job, structs.EvalTriggerRetryFailedAlloc)
			plan := h.LastPlan()
			switch {
			case tc.wantNone:
				if len(h.Plans) != plansBefore {
					t.Errorf("got a plan %+v, want none: no reschedule attempts", plan)
				}
			case tc.wantNow:
				placed := planned(plan)
				if len(placed) != 1 {
					t.Fatalf("got %d placements, want 1 replacement", len(placed))
				}
				r := placed[0]
				if r.Name != failed.Name || r.PreviousAllocation != failed.ID || r.RescheduleTracker == nil ||
					len(r.RescheduleTracker.Events) != 1 || r.RescheduleTracker.Events[0].PrevAllocID != failed.ID {
					t.Errorf("replacement %+v, want same name, PreviousAllocation and a tracker naming %s", r, failed.ID)
				}
				if r.NodeID == failed.NodeID {
					t.Errorf("replacement placed on the node it failed on (%s), want another", r.NodeID)
				}
				stops := stopped(plan)
				if len(stops) != 1 || stops[0].ID != failed.ID || stops[0].NextAllocation != r.ID {
					t.Errorf("got stops %+v, want the failed alloc with NextAllocation %s", stops, r.ID)
				}
			default:
				if len(h.Created) != 1 {
					t.Fatalf("got %d created evals, want 1 follow-up", len(h.Created))
				}
				fe := h.Created[0]
				if fe.Status != structs.EvalStatusPending || fe.TriggeredBy != structs.EvalTriggerRetryFailedAlloc ||
					fe.PreviousEval != eval.ID || !fe.WaitUntil.Equal(failTime.Add(tc.wantLater)) {
					t.Errorf("got follow-up %+v, want pending alloc-failure eval waiting until %s", fe, failTime.Add(tc.wantLater))
				}
				placed := planned(plan)
				if len(placed) != 1 || placed[0].ID != failed.ID || placed[0].FollowupEvalID != fe.ID {
					t.Fatalf("got plan allocations %+v, want the failed alloc updated with FollowupEvalID %s", placed, fe.ID)
				}
				// Another eval before the delay neither places nor creates another follow-up.
				n := len(h.Plans)
				process(t, h, job, structs.EvalTriggerNodeUpdate)
				if len(h.Plans) != n || len(h.Created) != 1 {
					t.Errorf("got %d plans and %d evals, want no change while waiting", len(h.Plans)-n, len(h.Created))
				}
				// The follow-up eval places the replacement.
				h.Now = fe.WaitUntil
				if err := h.Process(fe.Copy()); err != nil {
					t.Fatal(err)
				}
				placed = planned(h.LastPlan())
				if len(placed) != 1 || placed[0].PreviousAllocation != failed.ID || placed[0].RescheduleTracker.Events[0].Delay != tc.wantLater {
					t.Errorf("got %+v, want the replacement of %s with delay %s", placed, failed.ID, tc.wantLater)
				}
			}
		})
	}
}

func TestBatchCompleteNotReplaced(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(2, nil)
	job := schedtest.BatchJob()
	job.TaskGroups[0].Count = 3
	register(t, h, job)
	for _, a := range live(h, job.ID) {
		setClientStatus(h, a, structs.AllocClientStatusComplete)
	}
	n := len(h.Plans)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if len(h.Plans) != n {
		t.Errorf("got a plan %+v, want none: completed batch allocs are never replaced", h.LastPlan())
	}
}

// TestPurgedInstanceIgnored: `job stop -purge X; job run X` places X again;
// the completed allocations of the purged instance do not count.
func TestPurgedInstanceIgnored(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(2, nil)
	job := schedtest.BatchJob()
	job.TaskGroups[0].Count = 2
	register(t, h, job)
	for _, a := range live(h, job.ID) {
		setClientStatus(h, a, structs.AllocClientStatusComplete)
	}
	h.State.DeleteJob(job.Namespace, job.ID)
	again := job.Copy()
	h.State.UpsertJob(again)
	process(t, h, again, structs.EvalTriggerJobRegister)
	if got := len(planned(h.LastPlan())); got != 2 {
		t.Fatalf("placed %d allocations for the re-registered job, want 2", got)
	}
}

func TestLostAllocsReplaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(h *schedtest.Harness, n *structs.Node)
	}{
		{"node down", func(h *schedtest.Harness, n *structs.Node) {
			c := n.Copy()
			c.Status = structs.NodeStatusDown
			h.State.UpsertNode(c)
		}},
		{"node missing", func(h *schedtest.Harness, n *structs.Node) {
			h.State.DeleteNode(n.ID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			nodes := h.Nodes(3, nil)
			job := schedtest.Job()
			job.TaskGroups[0].Count = 6
			register(t, h, job)
			var onNode []*structs.Allocation
			for _, a := range live(h, job.ID) {
				if a.NodeID == nodes[0].ID {
					onNode = append(onNode, a)
				}
			}
			if len(onNode) == 0 {
				t.Fatal("setup: no alloc on node 0")
			}
			tc.kill(h, nodes[0])
			process(t, h, job, structs.EvalTriggerNodeUpdate)
			plan := h.LastPlan()
			stops := stopped(plan)
			if len(stops) != len(onNode) {
				t.Fatalf("got %d stops, want %d", len(stops), len(onNode))
			}
			for _, s := range stops {
				if s.ClientStatus != structs.AllocClientStatusLost || s.DesiredStatus != structs.AllocDesiredStatusStop || s.NextAllocation == "" {
					t.Errorf("stop %s: got client %q desired %q next %q, want lost, stop and a replacement", s.Name, s.ClientStatus, s.DesiredStatus, s.NextAllocation)
				}
			}
			placed := planned(plan)
			if len(placed) != len(onNode) {
				t.Fatalf("got %d replacements, want %d", len(placed), len(onNode))
			}
			for _, a := range placed {
				if a.NodeID == nodes[0].ID {
					t.Errorf("replacement %s placed on the lost node", a.Name)
				}
			}
			if got := len(live(h, job.ID)); got != 6 {
				t.Errorf("got %d live allocs, want 6", got)
			}
		})
	}
}

func TestPartialCommitRetried(t *testing.T) {
	t.Run("retry succeeds", func(t *testing.T) {
		h := schedtest.NewHarness()
		nodes := h.Nodes(3, nil)
		for _, n := range nodes {
			h.RefuseNode(n.ID, 1)
		}
		job := schedtest.Job()
		job.TaskGroups[0].Count = 6
		register(t, h, job)
		if len(h.Plans) != 2 {
			t.Errorf("got %d plans, want 2 (refused, then retried)", len(h.Plans))
		}
		if got := len(live(h, job.ID)); got != 6 {
			t.Errorf("got %d live allocs, want 6", got)
		}
		if ev := h.LastEval(); ev.Status != structs.EvalStatusComplete {
			t.Errorf("got status %q, want complete", ev.Status)
		}
	})
	t.Run("retry places only the refused part", func(t *testing.T) {
		h := schedtest.NewHarness()
		nodes := h.Nodes(2, nil)
		h.RefuseNode(nodes[0].ID, 1)
		job := schedtest.Job()
		job.TaskGroups[0].Count = 4
		register(t, h, job)
		if got := len(live(h, job.ID)); got != 4 {
			t.Errorf("got %d live allocs, want 4 (no duplicates, none missing)", got)
		}
		seen := map[string]bool{}
		for _, a := range live(h, job.ID) {
			if seen[a.Name] {
				t.Errorf("name %s placed twice", a.Name)
			}
			seen[a.Name] = true
		}
	})
	t.Run("max attempts", func(t *testing.T) {
		h := schedtest.NewHarness()
		nodes := h.Nodes(1, nil)
		h.RefuseNode(nodes[0].ID, -1)
		job := schedtest.Job()
		job.TaskGroups[0].Count = 2
		eval := register(t, h, job)
		if len(h.Plans) != 5 {
			t.Errorf("got %d plans, want 5 attempts", len(h.Plans))
		}
		ev := h.LastEval()
		if ev.Status != structs.EvalStatusFailed || ev.StatusDescription != "maximum attempts reached (5)" {
			t.Errorf("got status %q %q, want failed with maximum attempts reached (5)", ev.Status, ev.StatusDescription)
		}
		if len(h.Created) != 1 || h.Created[0].TriggeredBy != structs.EvalTriggerMaxPlans || h.Created[0].PreviousEval != eval.ID || ev.BlockedEval != h.Created[0].ID {
			t.Errorf("got created %+v, want one blocked max-plan-attempts eval", h.Created)
		}
	})
}

func TestDestructiveUpdateBacksOutWhenUnplaceable(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(1, nil)
	job := schedtest.Job()
	job.TaskGroups[0].Count = 2
	register(t, h, job)
	before := names(live(h, job.ID))

	updated := job.Copy()
	updated.TaskGroups[0].Tasks[0].Driver = "qemu" // no node has it
	h.State.UpsertJob(updated)
	process(t, h, updated, structs.EvalTriggerJobRegister)

	if got := stopped(h.LastPlan()); len(got) != 0 {
		t.Errorf("got %d stops, want 0: the old version keeps running when its replacement cannot be placed", len(got))
	}
	if d := cmp.Diff(before, names(live(h, job.ID))); d != "" {
		t.Errorf("live allocs (-want +got):\n%s", d)
	}
	ev := h.LastEval()
	if m := ev.FailedTGAllocs["web"]; m == nil || m.ConstraintFiltered["missing drivers: qemu"] != 1 || m.CoalescedFailures != 1 {
		t.Errorf("got failed metric %+v, want missing drivers on 1 node and 1 coalesced failure", m)
	}
}
