package agent

import (
	"context"
	"sync"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fakeServer implements ServerAPI over a real state store, writing directly
// (no Raft), so handler tests exercise real reads and blocking queries.
type fakeServer struct {
	t     testing.TB
	st    *state.Store
	mu    sync.Mutex
	index uint64
	// panicOn makes RegisterJob panic, to test panic recovery.
	panicOn string
	secret  string
}

var _ ServerAPI = (*fakeServer)(nil)

func newFakeServer(t testing.TB) *fakeServer {
	st, err := state.NewStore()
	if err != nil {
		t.Fatalf("state.NewStore: %v", err)
	}
	return &fakeServer{t: t, st: st, secret: "node-secret"}
}

func (f *fakeServer) next() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	return f.index
}

func (f *fakeServer) State() state.Reader   { return f.st }
func (f *fakeServer) IsLeader() bool        { return true }
func (f *fakeServer) Ready() (bool, string) { return true, "ok" }
func (f *fakeServer) Leader() string        { return "127.0.0.1:4647" }
func (f *fakeServer) Peers() []string       { return []string{"127.0.0.1:4647"} }
func (f *fakeServer) Stats() map[string]string {
	return map[string]string{"state": "Leader"}
}

func (f *fakeServer) RegisterJob(_ context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	if f.panicOn != "" && req.Job.ID == f.panicOn {
		panic("fake server told to panic")
	}
	req.Job.Canonicalize()
	if err := req.Job.Validate(); err != nil {
		return nil, err
	}
	idx := f.next()
	if err := f.st.UpsertJob(idx, req.Job.Copy()); err != nil {
		return nil, err
	}
	eval := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: req.Job.Namespace, JobID: req.Job.ID,
		Status: structs.EvalStatusComplete, Type: req.Job.Type, Priority: req.Job.Priority, TriggeredBy: structs.EvalTriggerJobRegister}
	if err := f.st.UpsertEvals(idx, []*structs.Evaluation{eval}); err != nil {
		return nil, err
	}
	return &structs.JobRegisterResponse{EvalID: eval.ID, EvalCreateIndex: idx, JobModifyIndex: idx, Index: idx}, nil
}

func (f *fakeServer) DeregisterJob(_ context.Context, ns, id string, purge bool) (*structs.JobDeregisterResponse, error) {
	j, err := f.st.JobByID(nil, ns, id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, structs.NewNotFound("job %q not found", id)
	}
	idx := f.next()
	if purge {
		err = f.st.DeleteJob(idx, ns, id)
	} else {
		j = j.Copy()
		j.Stop = true
		err = f.st.UpsertJob(idx, j)
	}
	return &structs.JobDeregisterResponse{Index: idx}, err
}

func (f *fakeServer) RegisterNode(_ context.Context, n *structs.Node) (*structs.NodeUpdateResponse, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	idx := f.next()
	return &structs.NodeUpdateResponse{Index: idx}, f.st.UpsertNode(idx, n)
}

func (f *fakeServer) NodeHeartbeat(_ context.Context, nodeID, secretID string) (*structs.NodeUpdateResponse, error) {
	if secretID != f.secret {
		return nil, structs.ErrPermissionDenied
	}
	return &structs.NodeUpdateResponse{HeartbeatTTL: structs.DefaultHeartbeatTTL, Index: f.index}, nil
}

func (f *fakeServer) UpdateAllocsFromClient(_ context.Context, _, secretID string, allocs []*structs.Allocation) (uint64, error) {
	if secretID != f.secret {
		return 0, structs.ErrPermissionDenied
	}
	idx := f.next()
	return idx, f.st.UpdateAllocsFromClient(idx, allocs)
}

func (f *fakeServer) StopAlloc(_ context.Context, allocID string) (string, uint64, error) {
	a, err := f.st.AllocByID(nil, allocID)
	if err != nil {
		return "", 0, err
	}
	if a == nil {
		return "", 0, structs.NewNotFound("allocation %q not found", allocID)
	}
	return structs.GenerateUUID(), f.next(), nil
}

// upsertAlloc stores an allocation of job on node.
func (f *fakeServer) upsertAlloc(job *structs.Job, id, nodeID string) *structs.Allocation {
	f.t.Helper()
	a := &structs.Allocation{ID: id, Namespace: job.Namespace, JobID: job.ID, Job: job, TaskGroup: job.TaskGroups[0].Name,
		Name: job.ID + "." + job.TaskGroups[0].Name + "[0]", NodeID: nodeID, EvalID: structs.GenerateUUID(),
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		Metrics: &structs.AllocMetric{NodesEvaluated: 1, NodesInPool: 1}}
	if err := f.st.UpsertAllocs(f.next(), []*structs.Allocation{a}); err != nil {
		f.t.Fatalf("UpsertAllocs: %v", err)
	}
	return a
}

// testJob returns a minimal valid raw_exec job.
func testJob(id string) *structs.Job {
	return &structs.Job{ID: id, Datacenters: []string{"dc1"}, Type: structs.JobTypeBatch, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"}}},
	}}}
}

// snapOf returns a fresh read-only snapshot of r.
func snapOf(t testing.TB, r state.Reader) *state.Snapshot {
	t.Helper()
	snap, err := r.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}
