package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func newTestFSM(t *testing.T) *fsm {
	t.Helper()
	st, err := state.NewStore()
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	b := newEvalBroker(discardLogger(), time.Minute, time.Millisecond, 3)
	return newFSM(discardLogger(), st, b, newBlockedEvals(discardLogger(), b))
}

func applyEntry(t *testing.T, f *fsm, index uint64, typ structs.MessageType, body any) {
	t.Helper()
	buf, err := encodeEntry(typ, body)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); resp != nil {
		t.Fatalf("Apply(type %d) = %v, want nil", typ, resp)
	}
}

func testEval(jobID, status string) *structs.Evaluation {
	return &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, Priority: 50,
		Type: structs.JobTypeService, TriggeredBy: structs.EvalTriggerJobRegister, JobID: jobID, Status: status}
}

// populateFSM applies one entry of every message type and returns the IDs it used.
func populateFSM(t *testing.T, f *fsm) (node *structs.Node, job *structs.Job, alloc *structs.Allocation) {
	t.Helper()
	node = mockNode("n1")
	node.Status = structs.NodeStatusReady
	applyEntry(t, f, 10, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node, Timestamp: 1})
	job = mockJob("web", 1, 100, 64)
	job.Canonicalize()
	job.SubmitTime = 42
	reg := testEval("web", structs.EvalStatusPending)
	applyEntry(t, f, 11, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: reg, SubmitTime: 42})
	alloc = &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: reg.ID, Name: "web.web[0]",
		NodeID: node.ID, JobID: "web", TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusPending,
		AllocatedResources: &structs.AllocatedResources{},
	}
	applyEntry(t, f, 12, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Job: job, AllocsPlaced: []*structs.Allocation{alloc}, EvalID: reg.ID, Timestamp: 100})
	applyEntry(t, f, 13, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{
		Allocs: []*structs.Allocation{{ID: alloc.ID, NodeID: node.ID, ClientStatus: structs.AllocClientStatusRunning}}, Timestamp: 200})
	stored, err := f.state.EvalByID(nil, reg.ID)
	if err != nil || stored == nil {
		t.Fatalf("EvalByID(%s): got %v, %v", reg.ID, stored, err)
	}
	done := stored.Copy()
	done.Status = structs.EvalStatusComplete
	applyEntry(t, f, 14, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{done}})
	return node, job, alloc
}

func TestFSMApplyEveryMessageType(t *testing.T) {
	f := newTestFSM(t)
	node, job, alloc := populateFSM(t, f)
	st := f.state

	checks := []struct {
		name  string
		index uint64
		typ   structs.MessageType
		body  any
		check func(t *testing.T)
	}{
		{"node status down", 20, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
			NodeID: node.ID, Status: structs.NodeStatusDown, Timestamp: int64(5 * time.Second),
			Event: &structs.NodeEvent{Message: "Node heartbeat missed", Subsystem: "Cluster"}},
			func(t *testing.T) {
				n, _ := st.NodeByID(nil, node.ID)
				if n.Status != structs.NodeStatusDown {
					t.Errorf("node status: got %q, want down", n.Status)
				}
				if last := n.Events[len(n.Events)-1]; last.Message != "Node heartbeat missed" {
					t.Errorf("last node event: got %q, want %q", last.Message, "Node heartbeat missed")
				}
			}},
		{"alloc desired stop", 21, structs.AllocDesiredUpdateRequestType, &structs.AllocDesiredUpdateRequest{
			AllocIDs: []string{alloc.ID}, DesiredStatus: structs.AllocDesiredStatusStop, Description: "stopped by test", Timestamp: 300},
			func(t *testing.T) {
				a, _ := st.AllocByID(nil, alloc.ID)
				if a.DesiredStatus != structs.AllocDesiredStatusStop || a.DesiredDescription != "stopped by test" {
					t.Errorf("alloc desired: got %q %q, want stop %q", a.DesiredStatus, a.DesiredDescription, "stopped by test")
				}
				if a.ClientStatus != structs.AllocClientStatusRunning {
					t.Errorf("alloc client status: got %q, want running (kept from the client update)", a.ClientStatus)
				}
				if a.Job == nil || a.Job.ID != job.ID {
					t.Errorf("alloc job: got %v, want the plan's job", a.Job)
				}
			}},
		{"job deregister (stop)", 22, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
			JobID: "web", Namespace: structs.DefaultNamespace, Eval: testEval("web", structs.EvalStatusPending), SubmitTime: 77},
			func(t *testing.T) {
				j, _ := st.JobByID(nil, structs.DefaultNamespace, "web")
				if j == nil || !j.Stop || j.SubmitTime != 77 {
					t.Errorf("job after stop: got %+v, want Stop=true SubmitTime=77", j)
				}
			}},
		{"eval delete", 23, structs.EvalDeleteRequestType, &structs.EvalDeleteRequest{Allocs: []string{alloc.ID}},
			func(t *testing.T) {
				if a, _ := st.AllocByID(nil, alloc.ID); a != nil {
					t.Errorf("alloc after delete: got %s, want nil", a.ID)
				}
			}},
		{"job deregister (purge)", 24, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
			JobID: "web", Namespace: structs.DefaultNamespace, Purge: true},
			func(t *testing.T) {
				if j, _ := st.JobByID(nil, structs.DefaultNamespace, "web"); j != nil {
					t.Errorf("job after purge: got %s, want nil", j.ID)
				}
			}},
		{"node deregister", 25, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{node.ID}},
			func(t *testing.T) {
				if n, _ := st.NodeByID(nil, node.ID); n != nil {
					t.Errorf("node after deregister: got %s, want nil", n.ID)
				}
			}},
	}
	// The entries populateFSM applied.
	t.Run("populate", func(t *testing.T) {
		j, _ := st.JobByID(nil, structs.DefaultNamespace, "web")
		if j == nil || j.SubmitTime != 42 {
			t.Fatalf("job: got %+v, want SubmitTime 42", j)
		}
		evals, _ := st.EvalsByJob(nil, structs.DefaultNamespace, "web")
		if len(evals) != 1 || evals[0].JobModifyIndex != j.JobModifyIndex || evals[0].Status != structs.EvalStatusComplete {
			t.Errorf("evals: got %d (first %+v), want 1 complete with JobModifyIndex %d", len(evals), evals, j.JobModifyIndex)
		}
		a, _ := st.AllocByID(nil, alloc.ID)
		if a == nil || a.ClientStatus != structs.AllocClientStatusRunning || a.CreateTime != 100 || a.Job == nil {
			t.Errorf("alloc: got %+v, want running, CreateTime 100, with job", a)
		}
		if got := f.appliedIndex(); got != 14 {
			t.Errorf("applied index: got %d, want 14", got)
		}
	})
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			applyEntry(t, f, c.index, c.typ, c.body)
			c.check(t)
		})
	}
}

func TestFSMUnknownMessageTypes(t *testing.T) {
	f := newTestFSM(t)
	t.Run("ignorable", func(t *testing.T) {
		data := []byte{byte(structs.IgnoreUnknownTypeFlag | 100), 0xc0}
		if resp := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data}); resp != nil {
			t.Errorf("Apply of an ignorable unknown type: got %v, want nil", resp)
		}
	})
	t.Run("not ignorable", func(t *testing.T) {
		defer func() {
			r := recover()
			msg, _ := r.(string)
			if !strings.Contains(msg, "unknown message type 100") || !strings.Contains(msg, "upgrade") {
				t.Errorf("panic: got %v, want one naming type 100 and telling to upgrade", r)
			}
		}()
		f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: []byte{100, 0xc0}})
	})
}

func TestFSMSnapshotRestore(t *testing.T) {
	f := newTestFSM(t)
	populateFSM(t, f)
	blocked := testEval("web", structs.EvalStatusBlocked)
	blocked.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {NodesEvaluated: 1, DimensionExhausted: map[string]int{"memory": 1}}}
	applyEntry(t, f, 15, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{blocked}})

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
		t.Fatalf("write snapshot: %v", err)
	}
	g := newTestFSM(t)
	if err := g.Restore(nopCloser{&buf}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := g.appliedIndex(); got != 15 {
		t.Errorf("applied index after restore: got %d, want 15", got)
	}
	a, b := f.state, g.state
	tables := []struct {
		name string
		get  func(s *state.Store) (any, error)
	}{
		{"jobs", func(s *state.Store) (any, error) { return s.Jobs(nil, "*") }},
		{"job versions", func(s *state.Store) (any, error) { return s.JobVersions(nil) }},
		{"job summaries", func(s *state.Store) (any, error) { return s.JobSummaries(nil) }},
		{"nodes", func(s *state.Store) (any, error) { return s.Nodes(nil) }},
		{"allocs", func(s *state.Store) (any, error) { return s.Allocs(nil, "*") }},
		{"evals", func(s *state.Store) (any, error) { return s.Evals(nil, "*") }},
		{"indexes", func(s *state.Store) (any, error) { return s.Indexes() }},
	}
	for _, tb := range tables {
		t.Run(tb.name, func(t *testing.T) {
			want, err := tb.get(a)
			if err != nil {
				t.Fatalf("read original: %v", err)
			}
			got, err := tb.get(b)
			if err != nil {
				t.Fatalf("read restored: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("restored %s differ (-want +got):\n%s", tb.name, diff)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		var full bytes.Buffer
		if err := writeSnapshot(snap.(*fsmSnapshot).snap, &full); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		h := newTestFSM(t)
		err := h.Restore(nopCloser{bytes.NewReader(full.Bytes()[:full.Len()/2])})
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("Restore of half a snapshot: got %v, want an error mentioning truncation", err)
		}
	})
}

type nopCloser struct {
	r interface{ Read([]byte) (int, error) }
}

func (n nopCloser) Read(p []byte) (int, error) { return n.r.Read(p) }
func (n nopCloser) Close() error               { return nil }

// TestFSMApplyBatch: a batch from Raft with a bad entry is applied entry by
// entry, each in its own transaction and with its own response (the bad
// entry fails alone, the others commit), non-command entries are skipped,
// and the state ends as applying the same entries one by one leaves it.
func TestFSMApplyBatch(t *testing.T) {
	node := mockNode("n1")
	job := mockJob("web", 1, 100, 64)
	job.Canonicalize()
	entry := func(typ structs.MessageType, body any) []byte {
		buf, err := encodeEntry(typ, body)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		return buf
	}
	logs := []*raft.Log{
		{Index: 10, Type: raft.LogCommand, Data: entry(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node, Timestamp: 1})},
		{Index: 11, Type: raft.LogConfiguration},
		{Index: 12, Type: raft.LogCommand, Data: entry(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, SubmitTime: 2})},
		{Index: 13, Type: raft.LogCommand, Data: entry(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
			Job: job, EvalID: "e", AllocsPlaced: []*structs.Allocation{nil}})}, // a nil placement: refused
		{Index: 14, Type: raft.LogCommand, Data: entry(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{
			Evals: []*structs.Evaluation{testEval("web", structs.EvalStatusComplete)}})},
	}
	batched := newTestFSM(t)
	resps := batched.ApplyBatch(logs)
	if len(resps) != len(logs) {
		t.Fatalf("%d responses for %d entries", len(resps), len(logs))
	}
	for i, r := range resps {
		if err, _ := r.(error); (err != nil) != (i == 3) {
			t.Errorf("response %d (index %d): %v; want an error only for the bad entry", i, logs[i].Index, r)
		}
	}
	if got := batched.state.Commits(); got != 3 {
		t.Errorf("%d transactions, want 3 (one per good command entry)", got)
	}
	if got := batched.appliedIndex(); got != 14 {
		t.Errorf("applied index %d, want 14", got)
	}
	single := newTestFSM(t)
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			single.Apply(l)
		}
	}
	if diff := cmp.Diff(allRows(t, single.state), allRows(t, batched.state)); diff != "" {
		t.Errorf("batched state differs from one-by-one (-single +batched):\n%s", diff)
	}
}
