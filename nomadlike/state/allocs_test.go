package state

import (
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func allocIDs(allocs []*structs.Allocation) []string {
	var ids []string
	for _, a := range allocs {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestAllocsByJobExcludesOldIncarnations(t *testing.T) {
	s := newTestStore(t)
	old := testJob("web")
	must(t, s.UpsertJob(1, old))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("old-1", old, "n1")}))
	must(t, s.DeleteJob(3, "default", "web"))

	// Purged: every alloc with the job's ID is returned, so they can be stopped.
	got, err := s.AllocsByJob(nil, "default", "web", false)
	must(t, err)
	if diff := cmp.Diff([]string{"old-1"}, allocIDs(got)); diff != "" {
		t.Errorf("allocs of purged job (-want +got):\n%s", diff)
	}

	cur := testJob("web")
	must(t, s.UpsertJob(4, cur))
	must(t, s.UpsertAllocs(5, []*structs.Allocation{testAlloc("new-1", cur, "n1")}))
	tests := []struct {
		all  bool
		want []string
	}{
		{false, []string{"new-1"}},
		{true, []string{"new-1", "old-1"}},
	}
	for _, tt := range tests {
		got, err := s.AllocsByJob(nil, "default", "web", tt.all)
		must(t, err)
		if diff := cmp.Diff(tt.want, allocIDs(got)); diff != "" {
			t.Errorf("AllocsByJob(all=%v) (-want +got):\n%s", tt.all, diff)
		}
	}
}

func TestUpsertAllocsKeepsClientFields(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	alloc := testAlloc("a1", job, "n1")
	alloc.CreateTime = 111
	must(t, s.UpsertAllocs(2, []*structs.Allocation{alloc}))
	taskStates := map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning}}
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{
		ID: "a1", ClientStatus: structs.AllocClientStatusRunning, ClientDescription: "Tasks are running",
		TaskStates: taskStates, ModifyTime: 333,
	}}))
	taskStates["server"].State = structs.TaskStateDead // the store must have copied the update

	stale := alloc.Copy() // the scheduler's view from before the client update
	stale.DesiredStatus = structs.AllocDesiredStatusStop
	stale.DesiredDescription = "alloc not needed"
	stale.Job = nil
	stale.ClientStatus = structs.AllocClientStatusPending
	stale.CreateTime = 999
	lost := testAlloc("a2", job, "n1")
	must(t, s.UpsertAllocs(4, []*structs.Allocation{lost}))
	lost = lost.Copy()
	lost.Job = nil
	lost.ClientStatus = structs.AllocClientStatusLost
	lost.ClientDescription = "node down"
	must(t, s.UpsertAllocs(5, []*structs.Allocation{stale, lost}))

	type view struct {
		DesiredStatus, ClientStatus, ClientDescription, TaskState string
		HasJob                                                    bool
		CreateIndex, ModifyIndex, AllocModifyIndex                uint64
		CreateTime                                                int64
	}
	viewOf := func(a *structs.Allocation) view {
		v := view{DesiredStatus: a.DesiredStatus, ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription,
			HasJob: a.Job != nil, CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
			AllocModifyIndex: a.AllocModifyIndex, CreateTime: a.CreateTime}
		if ts := a.TaskStateMap()["server"]; ts != nil {
			v.TaskState = ts.State
		}
		return v
	}
	tests := []struct {
		id   string
		want view
	}{
		{"a1", view{"stop", "running", "Tasks are running", "running", true, 2, 5, 5, 111}},
		{"a2", view{"run", "lost", "node down", "", true, 4, 5, 5, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := s.AllocByID(nil, tt.id)
			must(t, err)
			if diff := cmp.Diff(tt.want, viewOf(got)); diff != "" {
				t.Errorf("stored alloc (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateAllocsFromClientKeepsServerFields(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	alloc := testAlloc("a1", job, "n1")
	alloc.DesiredDescription = "placed"
	must(t, s.UpsertAllocs(2, []*structs.Allocation{alloc}))
	// A client update carries only client fields; everything else must survive.
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{
		ID: "a1", ClientStatus: structs.AllocClientStatusFailed, ClientDescription: "exit 1",
		DesiredStatus: "bogus", NodeID: "other",
	}}))
	got, err := s.AllocByID(nil, "a1")
	must(t, err)
	type view struct {
		Desired, DesiredDesc, Node, Client string
		HasJob                             bool
		Modify, AllocModify                uint64
	}
	want := view{"run", "placed", "n1", "failed", true, 3, 2}
	gotV := view{got.DesiredStatus, got.DesiredDescription, got.NodeID, got.ClientStatus, got.Job != nil, got.ModifyIndex, got.AllocModifyIndex}
	if diff := cmp.Diff(want, gotV); diff != "" {
		t.Errorf("alloc after client update (-want +got):\n%s", diff)
	}
}

func TestUpsertAllocsRejectsOddInput(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	noJob := testAlloc("a1", job, "n1")
	noJob.Job = nil
	tests := []struct {
		name   string
		allocs []*structs.Allocation
	}{
		{"nil alloc", []*structs.Allocation{nil}},
		{"no ID", []*structs.Allocation{{Name: "x"}}},
		{"new alloc without job", []*structs.Allocation{noJob}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.UpsertAllocs(1, tt.allocs)
			var coded *structs.CodedError
			if !errors.As(err, &coded) || coded.Code != 400 {
				t.Errorf("UpsertAllocs: got %v, want a 400 CodedError", err)
			}
		})
	}
	all, err := s.Allocs(nil, "*")
	must(t, err)
	if len(all) != 0 {
		t.Errorf("failed writes stored %d allocs, want 0", len(all))
	}
}

func TestAllocLookups(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	other := testJob("api")
	other.Namespace = "prod"
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertJob(2, other))
	a := []*structs.Allocation{testAlloc("aa11", job, "n1"), testAlloc("aa22", job, "n2"), testAlloc("bb33", other, "n1")}
	a[1].EvalID = "e-shared"
	a[2].EvalID = "e-shared" // of another job: not the eval's allocation
	must(t, s.UpsertAllocs(3, a))
	must(t, s.UpsertEvals(4, []*structs.Evaluation{testEval("e-shared", job, structs.EvalStatusComplete)}))
	tests := []struct {
		name string
		get  func() ([]*structs.Allocation, error)
		want []string
	}{
		{"all namespaces", func() ([]*structs.Allocation, error) { return s.Allocs(nil, "*") }, []string{"aa11", "aa22", "bb33"}},
		{"namespace prod", func() ([]*structs.Allocation, error) { return s.Allocs(nil, "prod") }, []string{"bb33"}},
		{"prefix aa", func() ([]*structs.Allocation, error) { return s.AllocsByIDPrefix(nil, "", "aa") }, []string{"aa11", "aa22"}},
		{"prefix in other ns", func() ([]*structs.Allocation, error) { return s.AllocsByIDPrefix(nil, "prod", "aa") }, nil},
		{"by node", func() ([]*structs.Allocation, error) { return s.AllocsByNode(nil, "n1") }, []string{"aa11", "bb33"}},
		{"by eval", func() ([]*structs.Allocation, error) { return s.AllocsByEval(nil, "e-shared") }, []string{"aa22"}},
		{"by unknown eval", func() ([]*structs.Allocation, error) { return s.AllocsByEval(nil, "e-gone") }, nil},
		{"by job in prod", func() ([]*structs.Allocation, error) { return s.AllocsByJob(nil, "prod", "api", false) }, []string{"bb33"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			must(t, err)
			ids := allocIDs(got)
			if !sort.StringsAreSorted(ids) {
				t.Errorf("result %v is not sorted by ID", ids)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
