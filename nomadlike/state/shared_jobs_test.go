package state

import (
	"strings"
	"testing"

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
