package state

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestPlanResultsShareTheStoredJobVersion: every Raft entry decodes its own
// copy of the plan's job; the store keeps the allocations of one job
// version on one *Job (the job_version row) however many plans placed
// them, and keeps an allocation's own job when the store holds another
// incarnation or spec under that version.
func TestPlanResultsShareTheStoredJobVersion(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	row, err := s.JobByIDAndVersion(nil, structs.DefaultNamespace, "web", job.Version)
	must(t, err)
	place := func(index uint64, id string, planJob *structs.Job) {
		t.Helper()
		a := testAlloc(id, planJob, "n1")
		a.Job = nil
		must(t, errOf(s.ApplyPlanResults(index, &structs.ApplyPlanResultsRequest{Job: planJob, EvalID: "e-" + id, AllocsPlaced: []*structs.Allocation{a}})))
	}
	// Two plans, each with its own decoded copy of the job.
	stale := job.Copy()
	stale.Status = structs.JobStatusRunning // a field that changes without a new version
	place(2, "a1", job.Copy())
	place(3, "a2", stale)
	// A copy claiming the same version of another spec keeps its own job.
	other := job.Copy()
	other.JobModifyIndex = 99
	place(4, "a3", other)
	for id, want := range map[string]*structs.Job{"a1": row, "a2": row} {
		a, err := s.AllocByID(nil, id)
		must(t, err)
		if a.Job != want {
			t.Errorf("alloc %s: Job is its own copy, want the stored job version row (shared)", id)
		}
	}
	a3, err := s.AllocByID(nil, "a3")
	must(t, err)
	if a3.Job == row || a3.Job.JobModifyIndex != 99 {
		t.Errorf("alloc a3: Job = %p (JobModifyIndex %d), want its own job with JobModifyIndex 99", a3.Job, a3.Job.JobModifyIndex)
	}
	// A client update and a server update keep the shared job.
	must(t, s.UpdateAllocsFromClient(5, []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}))
	up, err := s.AllocByID(nil, "a1")
	must(t, err)
	up = up.Copy()
	up.Job = job.Copy()
	up.DesiredStatus = structs.AllocDesiredStatusStop
	must(t, s.UpsertAllocs(6, []*structs.Allocation{up}))
	a1, err := s.AllocByID(nil, "a1")
	must(t, err)
	if a1.Job != row || a1.DesiredStatus != structs.AllocDesiredStatusStop || a1.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("alloc a1 after updates: shared job %v, desired %q, client %q; want the shared job, stop, running", a1.Job == row, a1.DesiredStatus, a1.ClientStatus)
	}
}

// TestAllocsOfNamespace lists a namespace's allocations (from the job
// index's prefix: the allocs table has no namespace index) sorted by ID,
// including one without a job ID, and none of another namespace whose name
// extends this one's.
func TestAllocsOfNamespace(t *testing.T) {
	s := newTestStore(t)
	web, api := testJob("web"), testJob("api")
	must(t, s.UpsertJob(1, web))
	must(t, s.UpsertJob(2, api))
	noJob := testAlloc("c", web, "n1")
	noJob.JobID = ""
	prod := testAlloc("a", web, "n1")
	prod.Namespace = "default-prod"
	must(t, s.UpsertAllocs(3, []*structs.Allocation{testAlloc("d", web, "n1"), testAlloc("b", api, "n1"), noJob, testAlloc("e", api, "n2"), prod}))
	got, err := s.Allocs(nil, structs.DefaultNamespace)
	must(t, err)
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	if want := "b c d e"; strings.Join(ids, " ") != want {
		t.Errorf("Allocs(default) = %q, want %q", strings.Join(ids, " "), want)
	}
	all, err := s.Allocs(nil, "*")
	must(t, err)
	if len(all) != 5 {
		t.Errorf("Allocs(*) returned %d allocations, want 5", len(all))
	}
}

// TestPlacementsShareWhatTheyHaveInCommon: the allocations of one plan
// entry (each decoded on its own) share the evaluation's strings, the
// nodes table's node IDs and identical resources, keep their metrics
// packed, and keep their values; a later desired-status update shares
// the stored version's sub-objects instead of copying them, and leaves the
// stored version unchanged.
func TestPlacementsShareWhatTheyHaveInCommon(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertNode(2, testNode("node-1")))
	var placed []*structs.Allocation
	for i := range 3 {
		a := testAlloc(fmt.Sprintf("a%d", i), job, strings.Clone("node-1"))
		a.Job = nil
		a.EvalID = strings.Clone("eval-1")
		a.AllocatedResources = &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"server": {Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}}}}
		a.Metrics = &structs.AllocMetric{NodesAvailable: map[string]int{"dc1": 1}, ScoreMetaData: []*structs.NodeScoreMeta{
			{NodeID: strings.Clone("node-1"), Scores: structs.NodeScores{{Name: "binpack", Score: 0.5}}, NormScore: 0.5}}}
		placed = append(placed, a)
	}
	want := make([]*structs.Allocation, len(placed))
	for i, a := range placed {
		want[i] = a.Copy()
	}
	must(t, errOf(s.ApplyPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, EvalID: "eval-1", AllocsPlaced: placed})))
	node, err := s.NodeByID(nil, "node-1")
	must(t, err)
	var got []*structs.Allocation
	for i := range placed {
		a, err := s.AllocByID(nil, fmt.Sprintf("a%d", i))
		must(t, err)
		got = append(got, a)
		w := want[i]
		if a.EvalID != w.EvalID || a.NodeID != w.NodeID || !reflect.DeepEqual(a.AllocatedResources, w.AllocatedResources) || !a.UnpackedMetrics().Equal(w.Metrics) {
			t.Errorf("alloc %s: a shared field changed value", a.ID)
		}
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	for _, a := range got[1:] {
		if !same(a.EvalID, got[0].EvalID) {
			t.Errorf("alloc %s: EvalID not shared", a.ID)
		}
		if !same(a.NodeID, node.ID) {
			t.Errorf("alloc %s: node ID is not the nodes table's", a.ID)
		}
		if a.Metrics != nil || len(a.UnpackedMetrics().ScoreMetaData) != 1 {
			t.Errorf("alloc %s: metric not packed: %+v", a.ID, a.Metrics)
		}
		if a.AllocatedResources != got[0].AllocatedResources {
			t.Errorf("alloc %s: identical resources not shared", a.ID)
		}
	}

	before := got[0].Copy()
	must(t, errOf(s.AllocDesiredUpdate(4, &structs.AllocDesiredUpdateRequest{AllocIDs: []string{"a0"}, DesiredStatus: structs.AllocDesiredStatusStop, NoShutdownDelay: true, Timestamp: 9})))
	stopped, err := s.AllocByID(nil, "a0")
	must(t, err)
	if stopped.DesiredStatus != structs.AllocDesiredStatusStop || stopped.DesiredTransition.NoShutdownDelay == nil || stopped.ModifyTime != 9 {
		t.Errorf("desired update not applied: %q, %v, %d", stopped.DesiredStatus, stopped.DesiredTransition.NoShutdownDelay, stopped.ModifyTime)
	}
	if stopped.Metrics != got[0].Metrics || stopped.UnpackedMetrics() == nil || stopped.AllocatedResources != got[0].AllocatedResources {
		t.Errorf("desired update copied the metrics or resources instead of sharing them")
	}
	if diff := cmp.Diff(before, got[0]); diff != "" {
		t.Errorf("the previous stored version changed (-before +after):\n%s", diff)
	}
}

// TestClientUpdatesPackTaskStates: task states reported by clients are
// stored packed (TaskStates nil, TaskStateMap giving them back) and keep
// their values and their JSON (an empty event Details stays an empty
// object, not null); states that cannot be packed (a time in a named zone)
// are stored as they are, their repeated strings interned across updates.
func TestClientUpdatesPackTaskStates(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a0", job, "n1"), testAlloc("a1", job, "n1"), testAlloc("a2", job, "n1")}))
	named, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	report := func(index uint64, id string, now time.Time) map[string]*structs.TaskState {
		ev := structs.NewTaskEvent(strings.Clone(structs.TaskStarted), now, strings.Clone("Task started by client"))
		states := map[string]*structs.TaskState{strings.Clone("server"): {State: strings.Clone(structs.TaskStateRunning),
			StartedAt: now, Events: []*structs.TaskEvent{ev}}}
		must(t, errOf(s.AllocClientUpdate(index, &structs.AllocClientUpdateRequest{Allocs: []*structs.Allocation{{
			ID: id, ClientStatus: strings.Clone(structs.AllocClientStatusRunning), TaskStates: states}}})))
		return states
	}
	utc := time.Unix(1700000000, 5).UTC()
	want := report(3, "a0", utc)
	a0, err := s.AllocByID(nil, "a0")
	must(t, err)
	if a0.TaskStates != nil {
		t.Errorf("task states stored unpacked: %v", a0.TaskStates)
	}
	if diff := cmp.Diff(want, a0.TaskStateMap()); diff != "" {
		t.Errorf("packed task states (-reported +stored):\n%s", diff)
	}
	b, err := json.Marshal(a0)
	must(t, err)
	if !strings.Contains(string(b), `"Details":{}`) || !strings.Contains(string(b), `"Message":"Task started by client"`) ||
		!strings.Contains(string(b), `"StartedAt":"2023-11-14T22:13:20.000000005Z"`) {
		t.Errorf("allocation JSON lost its task states: %s", b)
	}

	// Not packable: kept as reported, strings shared between updates.
	inZone := utc.In(named)
	for i, id := range []string{"a1", "a2"} {
		want = report(uint64(4+i), id, inZone)
	}
	a1, err := s.AllocByID(nil, "a1")
	must(t, err)
	a2, err := s.AllocByID(nil, "a2")
	must(t, err)
	if diff := cmp.Diff(want, a2.TaskStates); diff != "" {
		t.Errorf("unpacked task states (-reported +stored):\n%s", diff)
	}
	same := func(a, b string) bool { return a == b && unsafe.StringData(a) == unsafe.StringData(b) }
	t1, t2 := a1.TaskStates["server"], a2.TaskStates["server"]
	if t1 == nil || t2 == nil || len(t1.Events) != 1 || len(t2.Events) != 1 {
		t.Fatalf("task states not stored: %+v %+v", t1, t2)
	}
	e1, e2 := t1.Events[0], t2.Events[0]
	for what, ok := range map[string]bool{
		"task state": same(t1.State, t2.State), "event type": same(e1.Type, e2.Type),
		"event message": same(e1.Message, e2.Message), "display message": same(e1.DisplayMessage, e2.DisplayMessage),
	} {
		if !ok {
			t.Errorf("%s not shared between the two updates", what)
		}
	}
	if reflect.ValueOf(e1.Details).Pointer() != reflect.ValueOf(e2.Details).Pointer() {
		t.Errorf("empty event details not one shared empty map: %v %v", e1.Details, e2.Details)
	}
	// The copy a reader changes is its own.
	c := t1.Copy()
	c.Events[0].Details["k"] = "v"
	if len(e2.Details) != 0 {
		t.Errorf("changing a copy's details changed the stored ones")
	}
}
