package server

import (
	"fmt"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// countingReader counts what evalDeleteSafety reads of a snapshot.
type countingReader struct {
	evalDeleteReader
	jobReads, allocRows int
}

func (c *countingReader) JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	c.jobReads++
	return c.evalDeleteReader.JobByID(ws, namespace, id)
}

func (c *countingReader) AllocsByJob(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error) {
	allocs, err := c.evalDeleteReader.AllocsByJob(ws, namespace, jobID, all)
	c.allocRows += len(allocs)
	return allocs, err
}

// TestEvalDeleteSafetyReadsEachJobOnce: checking the evaluations of a
// running job reads the job and its allocations once, not once per
// evaluation (E × A rows for E evaluations of a job with A allocations);
// an evaluation with a live allocation is unsafe, one whose allocations
// all finished is safe, and a stopped job's are safe without reading its
// allocations.
func TestEvalDeleteSafetyReadsEachJobOnce(t *testing.T) {
	f := newGCFixture(t)
	f.node("n1", structs.NodeStatusReady, 0)
	web := f.job("web", structs.JobTypeService, 0)
	const n = 300
	var evals []*structs.Evaluation
	for i := range n {
		e := f.eval(fmt.Sprintf("web-e%03d", i), web, structs.EvalStatusComplete, 0)
		status := structs.AllocClientStatusComplete
		if i%2 == 0 {
			status = structs.AllocClientStatusRunning
		}
		f.alloc(fmt.Sprintf("web-a%03d", i), web, e.ID, "n1", structs.AllocDesiredStatusRun, status, 0)
		evals = append(evals, e)
	}
	old := f.job("old", structs.JobTypeService, 0)
	stopped := old.Copy()
	stopped.Stop = true
	if err := f.st.UpsertJob(f.next(), stopped); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		e := f.eval(fmt.Sprintf("old-e%d", i), old, structs.EvalStatusComplete, 0)
		f.alloc(fmt.Sprintf("old-a%d", i), old, e.ID, "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 0)
		evals = append(evals, e)
	}

	r := &countingReader{evalDeleteReader: f.snapshot()}
	d := newEvalDeleteSafety(r)
	for i, e := range evals {
		ok, err := d.safe(e)
		if err != nil {
			t.Fatal(err)
		}
		want := e.JobID == "old" || i%2 == 1
		if ok != want {
			t.Errorf("eval %s of job %s: safe = %v, want %v", e.ID, e.JobID, ok, want)
		}
	}
	if r.jobReads != 2 || r.allocRows != n {
		t.Errorf("checked %d evaluations of 2 jobs (%d allocations, %d of the stopped job): read %d jobs and %d allocation rows, want 2 and %d",
			len(evals), n+10, 10, r.jobReads, r.allocRows, n)
	}
}

// BenchmarkEvalDeleteSafety checks the 2000 evaluations of a running job
// with 2000 allocations (one each).
func BenchmarkEvalDeleteSafety(b *testing.B) {
	f := newGCFixture(b)
	f.node("n1", structs.NodeStatusReady, 0)
	web := f.job("web", structs.JobTypeService, 0)
	var evals []*structs.Evaluation
	for i := range 2000 {
		e := f.eval(fmt.Sprintf("e%04d", i), web, structs.EvalStatusComplete, 0)
		f.alloc(fmt.Sprintf("a%04d", i), web, e.ID, "n1", structs.AllocDesiredStatusRun, structs.AllocClientStatusRunning, 0)
		evals = append(evals, e)
	}
	snap := f.snapshot()
	b.ResetTimer()
	for b.Loop() {
		d := newEvalDeleteSafety(snap)
		for _, e := range evals {
			if ok, err := d.safe(e); err != nil || ok {
				b.Fatalf("eval %s of a running allocation: safe = %v, %v", e.ID, ok, err)
			}
		}
	}
}
