package scheduler_test

import (
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// disconnectSetup runs a job of 6 allocations on 3 nodes, with window as the
// group's max_client_disconnect (nil: none), then marks node 0
// disconnected since `ago` before the harness clock and its allocations
// unknown, as the servers do on a missed heartbeat.
func disconnectSetup(t *testing.T, window *time.Duration, ago time.Duration) (*schedtest.Harness, *structs.Job, *structs.Node, []*structs.Allocation) {
	t.Helper()
	h := schedtest.NewHarness()
	nodes := h.Nodes(3, nil)
	job := schedtest.Job()
	job.TaskGroups[0].Count = 6
	job.TaskGroups[0].MaxClientDisconnect = window
	register(t, h, job)
	var onNode []*structs.Allocation
	for _, a := range live(h, job.ID) {
		if a.NodeID == nodes[0].ID {
			onNode = append(onNode, setClientStatus(h, a, structs.AllocClientStatusUnknown))
		}
	}
	if len(onNode) == 0 {
		t.Fatal("setup: no alloc on node 0")
	}
	n := nodes[0].Copy()
	n.Status = structs.NodeStatusDisconnected
	n.StatusUpdatedAt = h.Now.Add(-ago).Unix()
	h.State.UpsertNode(n)
	return h, job, n, onNode
}

func TestDisconnectWithinWindowKeepsAllocs(t *testing.T) {
	window := time.Hour
	h, job, _, onNode := disconnectSetup(t, &window, 10*time.Minute)
	before := h.LastPlan()
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if plan := newPlan(h, before); len(stopped(plan)) != 0 || len(planned(plan)) != 0 {
		t.Fatalf("got %d stops and %d placements, want none: unknown allocations within max_client_disconnect are neither lost nor replaced",
			len(stopped(plan)), len(planned(plan)))
	}
	for _, a := range onNode {
		if got := h.State.AllocByID(a.ID); got.DesiredStatus != structs.AllocDesiredStatusRun || got.ClientStatus != structs.AllocClientStatusUnknown {
			t.Errorf("alloc %s: got desired %q client %q, want run and unknown", a.Name, got.DesiredStatus, got.ClientStatus)
		}
	}
}

func TestDisconnectedAllocsNotUpdated(t *testing.T) {
	window := time.Hour
	h, job, node, onNode := disconnectSetup(t, &window, time.Minute)
	newer := job.Copy()
	newer.Version++
	newer.JobModifyIndex++
	newer.TaskGroups[0].Meta = map[string]string{"v": "2"} // an in-place change
	h.State.UpsertJob(newer)
	process(t, h, newer, structs.EvalTriggerJobRegister)
	plan := h.LastPlan()
	for _, a := range append(planned(plan), stopped(plan)...) {
		if a.NodeID == node.ID {
			t.Errorf("plan changes alloc %s on the disconnected node; want it left alone until the node is back", a.Name)
		}
	}
	if got := len(planned(plan)); got != 6-len(onNode) {
		t.Errorf("got %d in-place updates, want %d (the allocations on the other nodes)", got, 6-len(onNode))
	}
}

func TestDisconnectWindowExpiredReplaces(t *testing.T) {
	window := time.Minute
	h, job, node, onNode := disconnectSetup(t, &window, 0)
	// The evaluation the servers create for the end of the window.
	h.Now = h.Now.Add(window + time.Second)
	process(t, h, job, "max-disconnect-timeout")
	assertLostAndReplaced(t, h, node, onNode)
}

func TestDisconnectWithoutWindowIsLostAtOnce(t *testing.T) {
	h, job, node, onNode := disconnectSetup(t, nil, 0)
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	assertLostAndReplaced(t, h, node, onNode)
}

func TestReconnectedNodeKeepsAllocs(t *testing.T) {
	window := time.Hour
	h, job, node, _ := disconnectSetup(t, &window, time.Minute)
	n := node.Copy()
	n.Status = structs.NodeStatusReady
	h.State.UpsertNode(n)
	before := h.LastPlan()
	process(t, h, job, structs.EvalTriggerNodeUpdate)
	if plan := newPlan(h, before); len(stopped(plan)) != 0 || len(planned(plan)) != 0 {
		t.Fatalf("got %d stops and %d placements, want none after the node reconnected", len(stopped(plan)), len(planned(plan)))
	}
}

func TestDisconnectSystemJob(t *testing.T) {
	for _, tc := range []struct {
		name     string
		window   time.Duration
		wantLost bool
	}{
		{"within window", time.Hour, false},
		{"window passed", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			nodes := h.Nodes(2, nil)
			job := schedtest.Job()
			job.Type = structs.JobTypeSystem
			job.TaskGroups[0].MaxClientDisconnect = &tc.window
			register(t, h, job)
			n := nodes[0].Copy()
			n.Status = structs.NodeStatusDisconnected
			n.StatusUpdatedAt = h.Now.Add(-10 * time.Minute).Unix()
			h.State.UpsertNode(n)
			before := h.LastPlan()
			process(t, h, job, structs.EvalTriggerNodeUpdate)
			stops := stopped(newPlan(h, before))
			if !tc.wantLost {
				if len(stops) != 0 {
					t.Fatalf("got %d stops, want none within the window", len(stops))
				}
				return
			}
			if len(stops) != 1 || stops[0].NodeID != n.ID || stops[0].ClientStatus != structs.AllocClientStatusLost {
				t.Fatalf("got stops %+v, want the alloc on the disconnected node stopped as lost", stops)
			}
		})
	}
}

// newPlan returns the harness's last plan if it is not before (nil when
// the evaluation submitted none: nothing to change).
func newPlan(h *schedtest.Harness, before *structs.Plan) *structs.Plan {
	if p := h.LastPlan(); p != before {
		return p
	}
	return nil
}

// assertLostAndReplaced checks that the last plan stopped onNode as lost and
// placed as many replacements elsewhere.
func assertLostAndReplaced(t *testing.T, h *schedtest.Harness, node *structs.Node, onNode []*structs.Allocation) {
	t.Helper()
	plan := h.LastPlan()
	stops := stopped(plan)
	if len(stops) != len(onNode) {
		t.Fatalf("got %d stops, want %d", len(stops), len(onNode))
	}
	want := map[string]bool{}
	for _, a := range onNode {
		want[a.ID] = true
	}
	for _, s := range stops {
		if !want[s.ID] {
			t.Errorf("stop %s (%s): not one of the disconnected node's allocations", s.Name, s.ID)
		}
		if s.ClientStatus != structs.AllocClientStatusLost || s.DesiredStatus != structs.AllocDesiredStatusStop {
			t.Errorf("stop %s: got client %q desired %q, want lost and stop", s.Name, s.ClientStatus, s.DesiredStatus)
		}
	}
	placed := planned(plan)
	if len(placed) != len(onNode) {
		t.Fatalf("got %d replacements, want %d", len(placed), len(onNode))
	}
	for _, a := range placed {
		if a.NodeID == node.ID {
			t.Errorf("replacement %s placed on the disconnected node", a.Name)
		}
	}
}
