package command

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// waitRequest waits until the fake agent has received a request starting
// with prefix and containing every one of parts.
func waitRequest(t *testing.T, f *fakeAgent, prefix string, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		for _, r := range f.requests {
			ok := strings.HasPrefix(r, prefix)
			for _, p := range parts {
				ok = ok && strings.Contains(r, p)
			}
			if ok {
				f.mu.Unlock()
				return
			}
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Errorf("no request %s with %v within 10s", prefix, parts)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func drainFixtureAlloc(id, job, typ string, index uint64) *structs.Allocation {
	return &structs.Allocation{
		ID: id, Name: job + ".web[0]", JobID: job, NodeID: nodeID, TaskGroup: "web",
		Job:           &structs.Job{ID: job, Type: typ},
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		CreateIndex: 5, ModifyIndex: index,
	}
}

// TestNodeDrainMonitor enables a drain and follows it through blocking
// queries while the fake agent moves it on: the service allocation is
// marked, stopped and completes, the system one stays (-ignore-system), and
// the node's drain completes.
func TestNodeDrainMonitor(t *testing.T) {
	yes := true
	idle := &structs.Node{ID: nodeID, Name: "node1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible", ModifyIndex: 10}
	draining := *idle
	draining.Drain, draining.SchedulingEligibility, draining.ModifyIndex = true, "ineligible", 11
	draining.DrainStrategy = structs.NewDrainStrategy(structs.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true}, testNow)
	done := draining
	done.Drain, done.DrainStrategy, done.ModifyIndex = false, nil, 14
	done.Events = []*structs.NodeEvent{{Message: structs.NodeEventDrainStarted}, {Message: structs.NodeEventDrainComplete}}

	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/nodes", 10, []*structs.NodeListStub{idle.Stub()})
	f.on("GET", "/v1/node/"+nodeID, 11, &draining)
	f.on("PUT", "/v1/node/"+nodeID+"/drain", 11, &structs.NodeDrainUpdateResponse{NodeModifyIndex: 11, Index: 11})
	allocs := "/v1/node/" + nodeID + "/allocations"
	svc := drainFixtureAlloc("aaaa1111-0000-4000-8000-000000000001", "web", "service", 11)
	sys := drainFixtureAlloc("bbbb2222-0000-4000-8000-000000000002", "agent", "system", 11)
	f.on("GET", allocs, 11, []*structs.Allocation{svc, sys})
	go func() {
		waitRequest(t, f, "GET "+allocs, "index=11")
		marked := *svc
		marked.DesiredTransition.Migrate, marked.ModifyIndex = &yes, 12
		marked.DesiredStatus = structs.AllocDesiredStatusStop
		f.on("GET", allocs, 12, []*structs.Allocation{&marked, sys})
		waitRequest(t, f, "GET "+allocs, "index=12")
		f.on("GET", "/v1/node/"+nodeID, 14, &done)
		stopped := marked
		stopped.ClientStatus, stopped.ModifyIndex = structs.AllocClientStatusComplete, 13
		f.on("GET", allocs, 13, []*structs.Allocation{&stopped, sys})
	}()
	code, out, errOut := runCLI(t, "", "-address="+addr, "node", "drain", "-enable", "-yes", "-ignore-system", "9f8e")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	got := lines(out)
	head := []string{
		`<T>: Ctrl-C to stop monitoring: will not cancel the node drain`,
		`<T>: Node "9f8e7d6c" drain strategy set`,
	}
	allocLines := []string{
		`<T>: Alloc "aaaa1111" marked for migration`,
		`<T>: Alloc "aaaa1111" draining`,
		`<T>: Alloc "aaaa1111" status running -> complete`,
		`<T>: All allocations on node "9f8e7d6c" have stopped`,
	}
	// The node's and the allocations' lines interleave as they arrive.
	if len(got) != len(head)+len(allocLines)+1 || !slices.Equal(got[:2], head) {
		t.Fatalf("output:\n%s\nwant %q, then %q and the drain's completion", out, head, allocLines)
	}
	if missing, ok := containsInOrder(got, allocLines); !ok {
		t.Errorf("output lacks %q (in order):\n%s", missing, out)
	}
	if !slices.Contains(got, `<T>: Drain complete for node 9f8e7d6c`) {
		t.Errorf("output lacks the drain's completion:\n%s", out)
	}
	if !f.requested("GET /v1/node/" + nodeID + "/allocations") {
		t.Error("the allocations were not read before the drain was set")
	}
}

func TestNodeDrainMonitorFlags(t *testing.T) {
	idle := &structs.Node{ID: nodeID, Name: "node1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible", ModifyIndex: 10}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{name: "monitor a node not draining", args: []string{"-monitor", "9f8e"},
			wantOut: []string{`<T>: Ctrl-C to stop monitoring: will not cancel the node drain`, `<T>: No drain strategy set for node 9f8e7d6c`}},
		{name: "monitor with enable", args: []string{"-monitor", "-enable", "9f8e"}, wantCode: 1, wantErr: "without -enable or -disable"},
		{name: "monitor with detach", args: []string{"-monitor", "-detach", "9f8e"}, wantCode: 1, wantErr: "-monitor and -detach contradict"},
		{name: "detach", args: []string{"-enable", "-yes", "-detach", "9f8e"},
			wantOut: []string{`Node "9f8e7d6c" drain strategy set`, `Watch it with 'nomadlike node drain -monitor 9f8e7d6c' or 'nomadlike node status 9f8e7d6c'.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			f.on("GET", "/v1/nodes", 10, []*structs.NodeListStub{idle.Stub()})
			f.on("GET", "/v1/node/"+nodeID, 10, idle)
			f.on("GET", "/v1/node/"+nodeID+"/allocations", 10, []*structs.Allocation{})
			f.on("PUT", "/v1/node/"+nodeID+"/drain", 11, &structs.NodeDrainUpdateResponse{NodeModifyIndex: 11, Index: 11})
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr, "node", "drain"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d stderr %q; want %d and %q", code, errOut, tc.wantCode, tc.wantErr)
			}
			if tc.wantOut != nil {
				if diff := cmp.Diff(tc.wantOut, lines(out)); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
		})
	}
}
