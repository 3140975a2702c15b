package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestForceGCPurgesFinishedBatchJob runs a batch job to completion through
// the real write path, then forces a collection: the job, its versions,
// evaluations and allocations are gone, a running service job is untouched.
func TestForceGCPurgesFinishedBatchJob(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("gc-node")
	registerNode(t, s, node)

	batch := mockJob("batch-gc", 1, 100, 64)
	batch.Type = structs.JobTypeBatch
	registerJob(t, s, batch)
	svc := mockJob("svc-gc", 1, 100, 64)
	registerJob(t, s, svc)
	waitLiveAllocs(t, s, "svc-gc", 1)
	for _, a := range waitLiveAllocs(t, s, "batch-gc", 1) {
		u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusComplete, ModifyTime: time.Now().UnixNano(),
			TaskStates: map[string]*structs.TaskState{"server": {State: structs.TaskStateDead, FinishedAt: time.Now()}}}
		if _, err := s.UpdateAllocsFromClient(context.Background(), node.ID, node.SecretID, []*structs.Allocation{u}); err != nil {
			t.Fatalf("UpdateAllocsFromClient: %v", err)
		}
	}
	st := s.state
	waitFor(t, 10*time.Second, "batch job dead with terminal evals", func() (bool, string) {
		j, _ := st.JobByID(nil, structs.DefaultNamespace, "batch-gc")
		evals, _ := st.EvalsByJob(nil, structs.DefaultNamespace, "batch-gc")
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false, "eval " + e.ID + " is " + e.Status
			}
		}
		return j != nil && j.Status == structs.JobStatusDead, "job status " + j.Status
	})

	// The periodic thresholds keep everything this young.
	if stats, err := s.collectGarbage(context.Background(), time.Now(), false); err != nil || stats != (structs.GCStats{}) {
		t.Fatalf("periodic pass = %+v, %v; want nothing collected", stats, err)
	}

	stats, err := s.ForceGC(context.Background())
	if err != nil {
		t.Fatalf("ForceGC: %v", err)
	}
	if stats.Jobs != 1 || stats.Allocs != 1 || stats.Evals < 1 {
		t.Errorf("ForceGC stats = %+v, want 1 job, 1 alloc, its evals", stats)
	}
	if j, _ := st.JobByID(nil, structs.DefaultNamespace, "batch-gc"); j != nil {
		t.Errorf("batch job still in state after GC")
	}
	if vs, _ := st.JobVersionsByID(nil, structs.DefaultNamespace, "batch-gc"); len(vs) != 0 {
		t.Errorf("%d versions of the batch job left after GC", len(vs))
	}
	if es, _ := st.EvalsByJob(nil, structs.DefaultNamespace, "batch-gc"); len(es) != 0 {
		t.Errorf("%d evaluations of the batch job left after GC", len(es))
	}
	if as, _ := st.AllocsByJob(nil, structs.DefaultNamespace, "batch-gc", true); len(as) != 0 {
		t.Errorf("%d allocations of the batch job left after GC", len(as))
	}
	if j, _ := st.JobByID(nil, structs.DefaultNamespace, "svc-gc"); j == nil || len(liveAllocs(t, s, "svc-gc")) != 1 {
		t.Errorf("running service job was collected")
	}
	// Nothing left to collect: a second pass is a no-op.
	if stats, err := s.ForceGC(context.Background()); err != nil || stats.Jobs != 0 || stats.Allocs != 0 {
		t.Errorf("second ForceGC = %+v, %v; want nothing", stats, err)
	}
}

// TestFSMDeploymentDelete applies a deployment delete entry.
func TestFSMDeploymentDelete(t *testing.T) {
	s := newTestServer(t, nil)
	job := mockJob("dep-gc", 1, 100, 64)
	registerJob(t, s, job)
	stored, _ := s.state.JobByID(nil, structs.DefaultNamespace, "dep-gc")
	d := structs.NewDeployment(structs.GenerateUUID(), stored, 50, time.Now())
	d.Status = structs.DeploymentStatusFailed
	if err := s.state.UpsertDeployment(999999, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.raftApply(context.Background(), structs.DeploymentDeleteRequestType,
		&structs.DeploymentDeleteRequest{Deployments: []string{d.ID, "no-such-deployment"}}); err != nil {
		t.Fatalf("deployment delete entry: %v", err)
	}
	if got, _ := s.state.DeploymentByID(nil, d.ID); got != nil {
		t.Errorf("deployment %s still in state", d.ID)
	}
}

// TestLeaderGCLoopCollects lets the leader's periodic pass, with tiny
// thresholds, collect a finished batch job on its own.
func TestLeaderGCLoopCollects(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.GC = GCConfig{Interval: 20 * time.Millisecond, JobThreshold: time.Nanosecond, EvalThreshold: time.Nanosecond,
			BatchEvalThreshold: time.Nanosecond, DeploymentThreshold: time.Nanosecond, NodeThreshold: time.Nanosecond}
	})
	node := mockNode("gc-loop-node")
	registerNode(t, s, node)
	batch := mockJob("batch-loop", 1, 100, 64)
	batch.Type = structs.JobTypeBatch
	registerJob(t, s, batch)
	for _, a := range waitLiveAllocs(t, s, "batch-loop", 1) {
		u := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusComplete, ModifyTime: time.Now().UnixNano()}
		if _, err := s.UpdateAllocsFromClient(context.Background(), node.ID, node.SecretID, []*structs.Allocation{u}); err != nil {
			t.Fatalf("UpdateAllocsFromClient: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "the GC loop to purge the finished batch job", func() (bool, string) {
		j, _ := s.state.JobByID(nil, structs.DefaultNamespace, "batch-loop")
		as, _ := s.state.AllocsByJob(nil, structs.DefaultNamespace, "batch-loop", true)
		if j == nil && len(as) == 0 {
			return true, ""
		}
		status := "purged"
		if j != nil {
			status = j.Status
		}
		return false, fmt.Sprintf("job %s, %d allocs", status, len(as))
	})
	if n, _ := s.state.NodeByID(nil, node.ID); n == nil {
		t.Errorf("a ready node was collected")
	}
}

// TestGCOfNodeStopsItsHeartbeatTimer: a node deleted by GC keeps no TTL timer
// on the leader (a timer left behind would fire for a node that no longer
// exists and keep it counted in the heartbeat rate).
func TestGCOfNodeStopsItsHeartbeatTimer(t *testing.T) {
	s := newTestServer(t, nil)
	node := mockNode("gc-timer-node")
	registerNode(t, s, node)
	req := &structs.NodeUpdateStatusRequest{NodeID: node.ID, Status: structs.NodeStatusDown, Timestamp: time.Now().Add(-time.Hour).Unix()}
	if _, err := s.raftApply(context.Background(), structs.NodeUpdateStatusRequestType, req); err != nil {
		t.Fatalf("mark node down: %v", err)
	}
	stats, err := s.ForceGC(context.Background())
	if err != nil || stats.Nodes != 1 {
		t.Fatalf("ForceGC = %+v, %v; want the down node collected", stats, err)
	}
	s.hb.mu.Lock()
	_, armed := s.hb.timers[node.ID]
	s.hb.mu.Unlock()
	if armed {
		t.Errorf("node %s was deleted but its heartbeat timer is still armed", node.ID)
	}
}
