package state

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestNoShutdownDelayMarksAllocs: a job stop or alloc stop with
// NoShutdownDelay marks the live allocations it stops, and only those, in
// the same entry; without it nothing is marked.
func TestNoShutdownDelayMarksAllocs(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("live", job, "n1"), testAlloc("done", job, "n1"), testAlloc("other", job, "n2")}))
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "done", ClientStatus: structs.AllocClientStatusComplete}}))
	marked := func(id string) bool {
		a, err := s.AllocByID(nil, id)
		must(t, err)
		return a.DesiredTransition.ShouldIgnoreShutdownDelay()
	}

	must(t, errOf(s.AllocDesiredUpdate(4, &structs.AllocDesiredUpdateRequest{AllocIDs: []string{"other"}, DesiredStatus: structs.AllocDesiredStatusStop})))
	if marked("other") {
		t.Errorf("alloc stop without no_shutdown_delay marked the allocation")
	}
	must(t, errOf(s.AllocDesiredUpdate(5, &structs.AllocDesiredUpdateRequest{AllocIDs: []string{"other"},
		DesiredStatus: structs.AllocDesiredStatusStop, NoShutdownDelay: true})))
	if !marked("other") {
		t.Errorf("alloc stop with no_shutdown_delay did not mark the allocation")
	}

	must(t, errOf(s.JobDeregister(6, &structs.JobDeregisterRequest{JobID: "web", Namespace: structs.DefaultNamespace,
		Eval: testEval("e-stop", job, structs.EvalStatusPending), NoShutdownDelay: true})))
	if !marked("live") || marked("done") {
		t.Errorf("job stop with no_shutdown_delay: live marked %v, done marked %v; want true, false", marked("live"), marked("done"))
	}
	if j, err := s.JobByID(nil, structs.DefaultNamespace, "web"); err != nil || j == nil || !j.Stop {
		t.Errorf("job not stopped: %+v, %v", j, err)
	}
}
