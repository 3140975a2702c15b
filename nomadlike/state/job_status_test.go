package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestJobStatusTransitions(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	steps := []struct {
		name  string
		write func(index uint64) error
		want  string
	}{
		{"registered, no evals", func(i uint64) error { return s.UpsertJob(i, job) }, structs.JobStatusPending},
		{"pending eval", func(i uint64) error {
			return s.UpsertEvals(i, []*structs.Evaluation{testEval("e1", job, structs.EvalStatusPending)})
		}, structs.JobStatusPending},
		{"eval complete, nothing placed", func(i uint64) error {
			return s.UpsertEvals(i, []*structs.Evaluation{testEval("e1", job, structs.EvalStatusComplete)})
		}, structs.JobStatusDead},
		{"blocked eval", func(i uint64) error {
			return s.UpsertEvals(i, []*structs.Evaluation{testEval("e2", job, structs.EvalStatusBlocked)})
		}, structs.JobStatusPending},
		{"alloc placed", func(i uint64) error {
			return s.UpsertAllocs(i, []*structs.Allocation{testAlloc("a1", job, "n1")})
		}, structs.JobStatusRunning},
		{"alloc completes on client", func(i uint64) error {
			return s.UpdateAllocsFromClient(i, []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusComplete}})
		}, structs.JobStatusPending}, // the blocked eval e2 is still waiting
		{"blocked eval canceled", func(i uint64) error {
			return s.UpsertEvals(i, []*structs.Evaluation{testEval("e2", job, structs.EvalStatusCancelled)})
		}, structs.JobStatusDead},
		{"evals and allocs garbage collected", func(i uint64) error {
			return s.DeleteEvals(i, []string{"e1", "e2"}, []string{"a1"})
		}, structs.JobStatusDead},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			index := uint64(10 * (i + 1))
			must(t, st.write(index))
			got, err := s.JobByID(nil, "default", "web")
			must(t, err)
			if got.Status != st.want {
				t.Errorf("job status = %q, want %q", got.Status, st.want)
			}
		})
	}
}

func TestJobStatusStoppedWithoutHistoryIsDead(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	job.Stop = true
	must(t, s.UpsertJob(1, job))
	got, err := s.JobByID(nil, "default", "web")
	must(t, err)
	if got.Status != structs.JobStatusDead {
		t.Errorf("stopped job status = %q, want %q", got.Status, structs.JobStatusDead)
	}
}

func TestJobStatusChangeBumpsModifyIndexOnlyWhenChanged(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a1", job, "n1")}))
	got, err := s.JobByID(nil, "default", "web")
	must(t, err)
	if got.Status != structs.JobStatusRunning || got.ModifyIndex != 2 {
		t.Fatalf("after placement: status %q modify index %d, want running and 2", got.Status, got.ModifyIndex)
	}
	must(t, s.UpsertAllocs(3, []*structs.Allocation{testAlloc("a2", job, "n1")}))
	got, err = s.JobByID(nil, "default", "web")
	must(t, err)
	if got.ModifyIndex != 2 {
		t.Errorf("status unchanged but job modify index = %d, want 2", got.ModifyIndex)
	}
}

func TestJobSummaryCounts(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	stored, err := s.JobByID(nil, "default", "web")
	must(t, err)
	var allocs []*structs.Allocation
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		allocs = append(allocs, testAlloc(id, stored, "n1"))
	}
	must(t, s.UpsertAllocs(2, allocs))
	ev := testEval("e1", stored, structs.EvalStatusComplete)
	ev.QueuedAllocations = map[string]int{"web": 3}
	must(t, s.UpsertEvals(3, []*structs.Evaluation{ev}))
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{
		{ID: "a2", ClientStatus: structs.AllocClientStatusRunning},
		{ID: "a3", ClientStatus: structs.AllocClientStatusComplete},
		{ID: "a4", ClientStatus: structs.AllocClientStatusFailed},
		{ID: "a5", ClientStatus: structs.AllocClientStatusLost},
		{ID: "a6", ClientStatus: structs.AllocClientStatusUnknown},
		{ID: "no-such-alloc", ClientStatus: structs.AllocClientStatusRunning},
	}))
	sum, err := s.JobSummaryByID(nil, "default", "web")
	must(t, err)
	want := map[string]structs.TaskGroupSummary{"web": {Queued: 3, Starting: 1, Running: 1, Complete: 1, Failed: 1, Lost: 1, Unknown: 1}}
	if diff := cmp.Diff(want, sum.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if sum.CreateIndex != 1 || sum.ModifyIndex != 4 {
		t.Errorf("summary indexes = %d/%d, want 1/4", sum.CreateIndex, sum.ModifyIndex)
	}

	// A new group appears in the summary when the job gains it.
	j2 := testJob("web")
	j2.TaskGroups = append(j2.TaskGroups, &structs.TaskGroup{Name: "db", Count: 1, Tasks: j2.TaskGroups[0].Tasks})
	must(t, s.UpsertJob(5, j2))
	sum, err = s.JobSummaryByID(nil, "default", "web")
	must(t, err)
	if _, ok := sum.Summary["db"]; !ok {
		t.Errorf("summary groups = %v, want a \"db\" entry after the job gained that group", sum.Summary)
	}
}
