package state

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestRestoreSwapsContentAndWakesWatchers(t *testing.T) {
	src := newTestStore(t)
	job := testJob("restored")
	must(t, src.UpsertJob(20, job))
	must(t, src.UpsertNode(21, testNode("n9")))
	must(t, src.UpsertAllocs(22, []*structs.Allocation{testAlloc("a9", job, "n9")}))
	must(t, src.UpsertEvals(23, []*structs.Evaluation{testEval("e9", job, structs.EvalStatusComplete)}))

	dst := newTestStore(t)
	must(t, dst.UpsertNode(5, testNode("old")))
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	calls := make(chan struct{}, 1)
	done := make(chan queryResult, 1)
	go func() {
		res, idx, err := dst.BlockingQuery(ctx, 5, nodesQuery(calls))
		done <- queryResult{res, idx, err}
	}()
	select {
	case <-calls:
	case <-ctx.Done():
		t.Fatal("blocking query never ran")
	}

	// Copy src into dst the way the FSM does: snapshot writer -> restore.
	snap, err := src.Snapshot()
	must(t, err)
	r, err := dst.NewRestore()
	must(t, err)
	defer r.Abort()
	jobs, _ := snap.Jobs(nil, "*")
	for _, j := range jobs {
		must(t, r.Row(tableJobs, j))
	}
	versions, _ := snap.JobVersions(nil)
	for _, j := range versions {
		must(t, r.Row(tableJobVersion, j))
	}
	sums, _ := snap.JobSummaries(nil)
	for _, s := range sums {
		must(t, r.Row(tableJobSummary, s))
	}
	nodes, _ := snap.Nodes(nil)
	for _, n := range nodes {
		must(t, r.Row(tableNodes, n))
	}
	allocs, _ := snap.Allocs(nil, "*")
	for _, a := range allocs {
		must(t, r.Row(tableAllocs, a))
	}
	evals, _ := snap.Evals(nil, "*")
	for _, e := range evals {
		must(t, r.Row(tableEvals, e))
	}
	idx, _ := snap.Indexes()
	for table, i := range idx {
		must(t, r.IndexRestore(table, i))
	}
	if err := r.IndexRestore("bogus", 1); err == nil {
		t.Error("IndexRestore of an unknown table succeeded, want an error")
	}
	abandon := dst.AbandonCh()
	if n, _ := dst.NodeByID(nil, "n9"); n != nil {
		t.Fatal("restored data visible before Commit")
	}
	must(t, r.Commit())
	if err := r.Commit(); err == nil {
		t.Error("second Commit succeeded, want an error")
	}

	select {
	case <-abandon:
	default:
		t.Error("AbandonCh not closed by Commit")
	}
	if dst.AbandonCh() == abandon {
		t.Error("AbandonCh not replaced by Commit")
	}
	select {
	case q := <-done:
		got := q.result.([]*structs.Node)
		if q.err != nil || q.index != 21 || len(got) != 1 || got[0].ID != "n9" {
			t.Errorf("woken query = index %d, %d nodes, err %v; want index 21 and node n9", q.index, len(got), q.err)
		}
	case <-ctx.Done():
		t.Fatal("blocking query did not wake on restore")
	}

	wantIdx, _ := src.Indexes()
	gotIdx, err := dst.Indexes()
	must(t, err)
	if diff := cmp.Diff(wantIdx, gotIdx); diff != "" {
		t.Errorf("restored indexes (-want +got):\n%s", diff)
	}
	for name, check := range map[string]func() bool{
		"old node gone": func() bool { n, _ := dst.NodeByID(nil, "old"); return n == nil },
		"job": func() bool {
			j, _ := dst.JobByID(nil, "default", "restored")
			return j != nil && j.Status == structs.JobStatusRunning
		},
		"summary": func() bool {
			s, _ := dst.JobSummaryByID(nil, "default", "restored")
			return s != nil && s.Summary["web"].Starting == 1
		},
		"alloc by job": func() bool { a, _ := dst.AllocsByJob(nil, "default", "restored", false); return len(a) == 1 },
		"eval":         func() bool { e, _ := dst.EvalByID(nil, "e9"); return e != nil },
		"versions":     func() bool { v, _ := dst.JobVersionsByID(nil, "default", "restored"); return len(v) == 1 },
	} {
		if !check() {
			t.Errorf("after restore: %s check failed", name)
		}
	}
}

func TestRestoreAbortLeavesStore(t *testing.T) {
	s := newTestStore(t)
	must(t, s.UpsertNode(1, testNode("keep")))
	r, err := s.NewRestore()
	must(t, err)
	must(t, r.Row(tableNodes, testNode("discard")))
	r.Abort()
	r.Abort() // idempotent
	if err := r.Row(tableNodes, testNode("late")); err == nil {
		t.Error("NodeRestore after Abort succeeded, want an error")
	}
	nodes, err := s.Nodes(nil)
	must(t, err)
	if len(nodes) != 1 || nodes[0].ID != "keep" {
		t.Errorf("nodes after aborted restore = %d (first %q), want only \"keep\"", len(nodes), nodes[0].ID)
	}
}
