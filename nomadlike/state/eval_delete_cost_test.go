package state

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// bigFinishedJob stores a stopped job with n finished evaluations and
// allocations and returns the evaluations.
func bigFinishedJob(t testing.TB, s *Store, n int) []*structs.Evaluation {
	t.Helper()
	job := testJob("big")
	job.Stop = true
	if err := s.UpsertJob(10, job); err != nil {
		t.Fatal(err)
	}
	var evals []*structs.Evaluation
	var allocs []*structs.Allocation
	for i := range n {
		evals = append(evals, testEval(fmt.Sprintf("e%05d", i), job, structs.EvalStatusComplete))
		a := testAlloc(fmt.Sprintf("a%05d", i), job, "n1")
		a.ClientStatus, a.DesiredStatus = structs.AllocClientStatusComplete, structs.AllocDesiredStatusStop
		allocs = append(allocs, a)
	}
	if err := s.UpsertEvals(11, evals); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAllocs(12, allocs); err != nil {
		t.Fatal(err)
	}
	return evals
}

// TestEvalDeleteCostsWhatItDeletes: deleting one finished evaluation of a
// dead job with 10,000 evaluations and allocations allocates a few
// kilobytes, not a copy of the job's evaluation list (it was ~300 kB per
// Raft entry: the job's summary collected every evaluation to find the
// latest), and leaves the job dead.
func TestEvalDeleteCostsWhatItDeletes(t *testing.T) {
	s := newTestStore(t)
	evals := bigFinishedJob(t, s, 10_000)
	var before, after runtime.MemStats
	const deletes = 20
	runtime.ReadMemStats(&before)
	for i := range deletes {
		if err := s.DeleteEvals(uint64(100+i), []string{evals[i].ID}, nil); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / deletes; per > 64<<10 {
		t.Errorf("deleting one evaluation of a job with 10,000 allocated %d bytes, want under 64 kB", per)
	}
	job, err := s.JobByID(nil, evals[0].Namespace, "big")
	if err != nil || job == nil || job.Status != structs.JobStatusDead {
		t.Fatalf("job after deleting some of its evaluations: %+v %v, want dead", job, err)
	}
}

// BenchmarkEvalDeleteOneOfMany deletes one finished evaluation per Raft
// entry of a dead job with 10,000 evaluations and allocations.
func BenchmarkEvalDeleteOneOfMany(b *testing.B) {
	s, err := NewStore()
	if err != nil {
		b.Fatal(err)
	}
	evals := bigFinishedJob(b, s, 10_000)
	b.ReportAllocs()
	i := 0
	index := uint64(100)
	for b.Loop() {
		if i == len(evals) { // all deleted: store them again
			b.StopTimer()
			index++
			if err := s.UpsertEvals(index, evals); err != nil {
				b.Fatal(err)
			}
			i = 0
			b.StartTimer()
		}
		index++
		if err := s.DeleteEvals(index, []string{evals[i].ID}, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestEvalDeleteKeepsOrRecomputesStatus: a running job that loses a
// finished evaluation stays running (its status is not recomputed); one
// that loses its pending evaluation is recomputed (dead).
func TestEvalDeleteKeepsOrRecomputesStatus(t *testing.T) {
	s := newTestStore(t)
	run, pend := testJob("run"), testJob("pend")
	for i, j := range []*structs.Job{run, pend} {
		if err := s.UpsertJob(uint64(10+i), j); err != nil {
			t.Fatal(err)
		}
	}
	done, waiting := testEval("done", run, structs.EvalStatusComplete), testEval("waiting", pend, structs.EvalStatusPending)
	if err := s.UpsertEvals(20, []*structs.Evaluation{done, waiting}); err != nil {
		t.Fatal(err)
	}
	a := testAlloc("a1", run, "n1")
	a.ClientStatus = structs.AllocClientStatusRunning
	if err := s.UpsertAllocs(21, []*structs.Allocation{a}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"run": structs.JobStatusRunning, "pend": structs.JobStatusPending} {
		if j, _ := s.JobByID(nil, run.Namespace, id); j == nil || j.Status != want {
			t.Fatalf("job %s before: %+v, want %s", id, j, want)
		}
	}
	if err := s.DeleteEvals(30, []string{"done", "waiting"}, nil); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"run": structs.JobStatusRunning, "pend": structs.JobStatusDead} {
		if j, _ := s.JobByID(nil, run.Namespace, id); j == nil || j.Status != want {
			t.Errorf("job %s after its evaluation was deleted: %+v, want %s", id, j, want)
		}
	}
}
