package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func systemJob(id string, cpu, memMB int) *structs.Job {
	j := mockJob(id, 1, cpu, memMB)
	j.Type = structs.JobTypeSystem
	return j
}

// allocsByNode counts the job's live allocations per node ID.
func allocsByNode(t testing.TB, s *Server, jobID string) map[string]int {
	out := map[string]int{}
	for _, a := range liveAllocs(t, s, jobID) {
		out[a.NodeID]++
	}
	return out
}

func TestSystemJobOnEveryNode(t *testing.T) {
	s := newTestServer(t, nil)
	var nodes []*structs.Node
	for i := range 3 {
		n := mockNode(fmt.Sprintf("node-%d", i))
		registerNode(t, s, n)
		nodes = append(nodes, n)
	}
	registerJob(t, s, systemJob("sys", 100, 64))
	waitLiveAllocs(t, s, "sys", 3)
	late := mockNode("node-late")
	registerNode(t, s, late)
	nodes = append(nodes, late)
	waitLiveAllocs(t, s, "sys", 4)
	got := allocsByNode(t, s, "sys")
	for _, n := range nodes {
		if got[n.ID] != 1 {
			t.Errorf("node %s has %d allocs of the system job, want 1 (all: %v)", n.Name, got[n.ID], got)
		}
	}
}

func TestPreemptionFollowsSchedulerConfig(t *testing.T) {
	tests := []struct {
		name        string
		preempt     bool
		wantEvicted bool
	}{
		{"enabled for service jobs", true, true},
		{"disabled for service jobs", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, nil)
			ctx := context.Background()
			resp, err := s.SetSchedulerConfig(ctx, &structs.SchedulerConfig{
				SchedulerAlgorithm: structs.SchedulerAlgorithmBinpack,
				PreemptionConfig:   structs.PreemptionConfig{ServiceSchedulerEnabled: tt.preempt, SystemSchedulerEnabled: true},
			}, false, 0)
			if err != nil || !resp.Updated {
				t.Fatalf("SetSchedulerConfig = %+v, %v", resp, err)
			}
			registerNode(t, s, mockNode("only"))
			low := mockJob("low", 1, 3000, 1024)
			low.Priority = 20
			registerJob(t, s, low)
			victim := waitLiveAllocs(t, s, "low", 1)[0]
			high := mockJob("high", 1, 3000, 1024)
			high.Priority = 80
			registerJob(t, s, high)
			if !tt.wantEvicted {
				waitFor(t, 10*time.Second, "blocked eval of the high-priority job", func() (bool, string) {
					return s.blocked.count() == 1, fmt.Sprintf("%d blocked", s.blocked.count())
				})
				if got := liveAllocs(t, s, "low"); len(got) != 1 {
					t.Fatalf("low-priority job has %d live allocs, want 1 (no preemption)", len(got))
				}
				return
			}
			placed := waitLiveAllocs(t, s, "high", 1)[0]
			evicted, err := s.state.AllocByID(nil, victim.ID)
			if err != nil {
				t.Fatal(err)
			}
			if evicted.DesiredStatus != structs.AllocDesiredStatusEvict || evicted.PreemptedByAllocation != placed.ID {
				t.Errorf("victim: desired %q preempted by %q; want evict by %s", evicted.DesiredStatus, evicted.PreemptedByAllocation, placed.ID)
			}
			if evicted.DesiredDescription == "" {
				t.Error("victim has no DesiredDescription")
			}
			evals, err := s.state.EvalsByJob(nil, structs.DefaultNamespace, "low")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range evals {
				found = found || e.TriggeredBy == structs.EvalTriggerPreemption
			}
			if !found {
				t.Errorf("no %q evaluation for the preempted job", structs.EvalTriggerPreemption)
			}
		})
	}
}

// runReplacements marks every pending allocation on nodes other than
// skip running, as a client would.
func runReplacements(t testing.TB, s *Server, nodes map[string]*structs.Node, skip, jobID string) {
	t.Helper()
	for _, a := range liveAllocs(t, s, jobID) {
		if a.NodeID == skip || a.ClientStatus != structs.AllocClientStatusPending {
			continue
		}
		n := nodes[a.NodeID]
		u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}
		if _, err := s.UpdateAllocsFromClient(context.Background(), n.ID, n.SecretID, []*structs.Allocation{u}); err != nil {
			t.Fatalf("UpdateAllocsFromClient: %v", err)
		}
	}
}

func TestDrainMigratesWithMaxParallel(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	a, b := mockNode("a"), mockNode("b")
	registerNode(t, s, a)
	nodes := map[string]*structs.Node{a.ID: a, b.ID: b}
	job := mockJob("web", 2, 100, 64)
	registerJob(t, s, job)
	waitLiveAllocs(t, s, "web", 2)
	runReplacements(t, s, nodes, "", "web")
	registerNode(t, s, b)
	sys := systemJob("sys", 50, 32)
	registerJob(t, s, sys)
	waitLiveAllocs(t, s, "sys", 2)

	if _, err := s.UpdateNodeDrain(ctx, &structs.NodeUpdateDrainRequest{NodeID: a.ID, DrainSpec: &structs.DrainSpec{Deadline: time.Hour}}); err != nil {
		t.Fatalf("UpdateNodeDrain: %v", err)
	}
	waitFor(t, 20*time.Second, "drain of node a to complete", func() (bool, string) {
		// max_parallel 1: at most one allocation of the group migrating.
		allocs, _ := s.state.AllocsByJob(nil, structs.DefaultNamespace, "web", true)
		progress, err := migrating(s.state, onNode(allocs, a.ID), job.TaskGroups[0], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if progress.inflight > 1 {
			t.Fatalf("%d allocations migrating at once, want at most 1", progress.inflight)
		}
		runReplacements(t, s, nodes, a.ID, "web")
		n, _ := s.state.NodeByID(nil, a.ID)
		return !n.Drain, fmt.Sprintf("drain=%t, web per node %v", n.Drain, allocsByNode(t, s, "web"))
	})
	n, _ := s.state.NodeByID(nil, a.ID)
	if n.SchedulingEligibility != structs.NodeSchedulingIneligible || n.DrainStrategy != nil {
		t.Errorf("drained node: eligibility %q, strategy %v; want ineligible and none", n.SchedulingEligibility, n.DrainStrategy)
	}
	if last := n.Events[len(n.Events)-1].Message; last != structs.NodeEventDrainComplete {
		t.Errorf("last node event %q, want %q", last, structs.NodeEventDrainComplete)
	}
	if got := allocsByNode(t, s, "web"); got[b.ID] != 2 || got[a.ID] != 0 {
		t.Errorf("web allocs per node = %v, want both on b", got)
	}
	if got := allocsByNode(t, s, "sys"); got[a.ID] != 0 {
		t.Errorf("system alloc still on the drained node: %v", got)
	}
}

func onNode(allocs []*structs.Allocation, nodeID string) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range allocs {
		if a.NodeID == nodeID {
			out = append(out, a)
		}
	}
	return out
}

func TestDrainDeadlineStopsTheRest(t *testing.T) {
	s := newTestServer(t, nil)
	a := mockNode("a")
	registerNode(t, s, a)
	registerJob(t, s, mockJob("web", 3, 100, 64))
	waitLiveAllocs(t, s, "web", 3)
	registerNode(t, s, mockNode("b"))
	// The replacements never run (no client), so only the deadline ends the drain.
	if _, err := s.UpdateNodeDrain(context.Background(), &structs.NodeUpdateDrainRequest{NodeID: a.ID,
		DrainSpec: &structs.DrainSpec{Deadline: 300 * time.Millisecond, IgnoreSystemJobs: true}}); err != nil {
		t.Fatalf("UpdateNodeDrain: %v", err)
	}
	waitFor(t, 20*time.Second, "drain to complete at the deadline", func() (bool, string) {
		n, _ := s.state.NodeByID(nil, a.ID)
		return !n.Drain, fmt.Sprintf("per node %v", allocsByNode(t, s, "web"))
	})
	if got := allocsByNode(t, s, "web"); got[a.ID] != 0 {
		t.Errorf("allocs left on the drained node: %v", got)
	}
}

func TestNodeEligibilityAndDrainErrors(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	n := mockNode("n")
	registerNode(t, s, n)
	elig := func(e string) error {
		_, err := s.UpdateNodeEligibility(ctx, &structs.NodeUpdateEligibilityRequest{NodeID: n.ID, Eligibility: e})
		return err
	}
	steps := []struct {
		name     string
		call     func() error
		wantCode int
		want     string
	}{
		{"ineligible", func() error { return elig(structs.NodeSchedulingIneligible) }, 0, structs.NodeSchedulingIneligible},
		{"eligible", func() error { return elig(structs.NodeSchedulingEligible) }, 0, structs.NodeSchedulingEligible},
		{"unknown value", func() error { return elig("maybe") }, http.StatusBadRequest, structs.NodeSchedulingEligible},
		{"unknown node", func() error {
			_, err := s.UpdateNodeEligibility(ctx, &structs.NodeUpdateEligibilityRequest{NodeID: "nope", Eligibility: "eligible"})
			return err
		}, http.StatusNotFound, structs.NodeSchedulingEligible},
		{"disable a drain that is not on", func() error {
			_, err := s.UpdateNodeDrain(ctx, &structs.NodeUpdateDrainRequest{NodeID: n.ID})
			return err
		}, http.StatusBadRequest, structs.NodeSchedulingEligible},
		{"drain (no deadline)", func() error {
			_, err := s.UpdateNodeDrain(ctx, &structs.NodeUpdateDrainRequest{NodeID: n.ID, DrainSpec: &structs.DrainSpec{IgnoreSystemJobs: true}})
			return err
		}, 0, structs.NodeSchedulingIneligible},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.call()
			var ce *structs.CodedError
			switch {
			case st.wantCode == 0 && err != nil:
				t.Fatalf("error: %v", err)
			case st.wantCode != 0 && (!errors.As(err, &ce) || ce.Code != st.wantCode):
				t.Fatalf("error = %v, want HTTP %d", err, st.wantCode)
			}
			got, _ := s.state.NodeByID(nil, n.ID)
			if got.SchedulingEligibility != st.want {
				t.Errorf("eligibility = %q, want %q", got.SchedulingEligibility, st.want)
			}
		})
	}
	// An empty node's drain completes at once.
	waitFor(t, 10*time.Second, "empty node's drain to complete", func() (bool, string) {
		got, _ := s.state.NodeByID(nil, n.ID)
		return !got.Drain, "still draining"
	})
}

// A node or allocation change committed while a drainer pass is between
// its snapshot and its watches must wake the next pass: the watches are
// taken first. Taken after the snapshot (as before), they missed it, and
// a drain whose last step that change was waited forever
// (TestDrainDeadlineStopsTheRest failed a CI run so).
func TestDrainerWakesForAChangeDuringItsPass(t *testing.T) {
	s := newTestServer(t, nil)
	registerNode(t, s, mockNode("a"))
	var once sync.Once
	hook := func() {
		once.Do(func() { registerNode(t, s, mockNode("b")) })
	}
	drainSnapshotTaken.Store(&hook)
	t.Cleanup(func() { drainSnapshotTaken.Store(nil) })
	ws := memdb.NewWatchSet()
	if _, err := s.drainOnce(context.Background(), ws, time.Now()); err != nil {
		t.Fatalf("drainOnce: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.WatchCtx(ctx); err != nil {
		t.Fatalf("a node registered after the pass's snapshot did not wake the next pass: %v", err)
	}
}
