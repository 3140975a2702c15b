package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// registerJobTxnTouched is registerJobTxn as it was before
// refreshRegisteredTxn: the registration's evaluation went through
// upsertEvalsTxn, whose touchedJobs looked the job and its summary up
// again and refreshed them.
func registerJobTxnTouched(txn *memdb.Txn, index uint64, req *structs.JobRegisterRequest) error {
	stored, err := storeJobTxn(txn, index, req.Job.Copy())
	if err != nil {
		return err
	}
	if err := upsertJobSubmissionTxn(txn, index, stored, req.Submission); err != nil {
		return err
	}
	if req.Eval == nil {
		return nil
	}
	eval := *req.Eval
	eval.JobModifyIndex = stored.JobModifyIndex
	_, err = upsertEvalsTxn(txn, index, []*structs.Evaluation{&eval})
	return err
}

// stateDump is everything a registration writes, for comparing stores.
func stateDump(t *testing.T, s *Store) string {
	t.Helper()
	jobs, err := s.Jobs(nil, "")
	must(t, err)
	versions, err := s.JobVersions(nil)
	must(t, err)
	sums, err := s.JobSummaries(nil)
	must(t, err)
	evals, err := s.Evals(nil, "")
	must(t, err)
	idx, err := s.Indexes()
	must(t, err)
	out, err := json.MarshalIndent(map[string]any{"jobs": jobs, "versions": versions, "summaries": sums, "evals": evals, "indexes": idx}, "", " ")
	must(t, err)
	return string(out)
}

// TestRegisterRefreshMatchesTouchedJobs: a registration's evaluation
// refreshes its job's status and summary as the generic touchedJobs path
// did, in every case a registration meets: a new job, a new version, a
// dead job evaluated again, a running job, terminal evaluations, a stopped
// job, system and parameterized jobs, queued counts, a blocked evaluation
// replacing another, an evaluation ID already stored, a dispatched child
// (its parent's children counts) and an evaluation of another job.
func TestRegisterRefreshMatchesTouchedJobs(t *testing.T) {
	newer, touched := newTestStore(t), newTestStore(t)
	var index uint64
	both := func(name string, f func(s *Store, index uint64) error) {
		t.Helper()
		index += 10
		for _, s := range []*Store{newer, touched} {
			if err := f(s, index); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if a, b := stateDump(t, newer), stateDump(t, touched); a != b {
			t.Fatalf("%s: the stores differ\nrefreshRegisteredTxn:\n%s\ntouchedJobs:\n%s", name, a, b)
		}
	}
	register := func(name string, job *structs.Job, eval *structs.Evaluation) {
		t.Helper()
		both(name, func(s *Store, index uint64) error {
			req := &structs.JobRegisterRequest{Job: job.Copy(), Eval: eval.Copy()}
			if s == touched {
				_, err := s.write(index, func(txn *memdb.Txn) error { return registerJobTxnTouched(txn, index, req) })
				return err
			}
			_, err := s.JobRegister(index, req)
			return err
		})
	}
	web := testJob("web")
	register("new job", web, testEval("e1", web, structs.EvalStatusPending))
	web2 := web.Copy()
	web2.TaskGroups[0].Count = 3
	register("new version", web2, testEval("e2", web2, structs.EvalStatusPending))
	both("evaluations complete", func(s *Store, index uint64) error {
		return s.UpsertEvals(index, []*structs.Evaluation{testEval("e1", web, structs.EvalStatusComplete), testEval("e2", web, structs.EvalStatusComplete)})
	})
	queued := testEval("e3", web2, structs.EvalStatusPending)
	queued.QueuedAllocations = map[string]int{"web": 3}
	register("dead job evaluated again, queued counts", web2, queued)
	both("an allocation runs", func(s *Store, index uint64) error {
		if err := s.UpsertNode(index, testNode("n1")); err != nil {
			return err
		}
		a := testAlloc("a1", web2, "n1")
		a.ClientStatus = structs.AllocClientStatusRunning
		return s.UpsertAllocs(index+1, []*structs.Allocation{a})
	})
	register("running job", web2, testEval("e4", web2, structs.EvalStatusPending))
	register("running job, a complete evaluation", web2, testEval("e5", web2, structs.EvalStatusComplete))
	fresh := testJob("fresh")
	register("new job, a complete evaluation", fresh, testEval("f1", fresh, structs.EvalStatusComplete))
	register("dead job, a failed evaluation", fresh, testEval("f2", fresh, structs.EvalStatusFailed))
	stopped := fresh.Copy()
	stopped.Stop = true
	register("stopped job, a pending evaluation", stopped, testEval("f3", stopped, structs.EvalStatusPending))
	sys := testJob("sys")
	sys.Type = structs.JobTypeSystem
	register("system job", sys, testEval("s1", sys, structs.EvalStatusPending))
	register("system job, a complete evaluation", sys, testEval("s2", sys, structs.EvalStatusComplete))
	register("blocked", web2, testEval("b1", web2, structs.EvalStatusBlocked))
	blocked := testEval("b2", web2, structs.EvalStatusBlocked)
	blocked.QueuedAllocations = map[string]int{"web": 2}
	register("blocked replaces blocked", web2, blocked)
	register("evaluation ID already stored", web2, testEval("e1", web2, structs.EvalStatusPending))
	parent := testJob("batch")
	parent.Type = structs.JobTypeBatch
	parent.ParameterizedJob = &structs.ParameterizedJobConfig{}
	register("parameterized parent", parent, nil)
	register("parameterized parent, an evaluation", parent, testEval("p1", parent, structs.EvalStatusComplete))
	child := testJob("batch/dispatch-1")
	child.Type = structs.JobTypeBatch
	child.ParentID = "batch"
	register("dispatched child", child, testEval("c1", child, structs.EvalStatusPending))
	register("evaluation of another job", testJob("other"), testEval("x1", web2, structs.EvalStatusPending))
	register("without an evaluation", testJob("quiet"), nil)

	// Edge cases (rev-state): a job purged and registered again while its
	// old incarnation's evaluations (one live, one with queued counts) and
	// a live allocation remain; an evaluation ID of the old incarnation
	// reused; a stopped job with a live allocation; a dead batch job
	// registered again; a periodic parent and its launched child.
	old := testJob("again")
	old.Type = structs.JobTypeBatch
	oldQueued := testEval("g1", old, structs.EvalStatusComplete)
	oldQueued.QueuedAllocations = map[string]int{"web": 5}
	register("batch job", old, oldQueued)
	register("batch job, a live evaluation", old, testEval("g2", old, structs.EvalStatusPending))
	both("batch allocation complete", func(s *Store, index uint64) error {
		a := testAlloc("g-a1", old, "n1")
		a.ClientStatus = structs.AllocClientStatusComplete
		return s.UpsertAllocs(index, []*structs.Allocation{a})
	})
	both("batch evaluation complete", func(s *Store, index uint64) error {
		return s.UpsertEvals(index, []*structs.Evaluation{testEval("g2", old, structs.EvalStatusComplete)})
	})
	register("dead batch job registered again", old, testEval("g3", old, structs.EvalStatusComplete))
	both("purge", func(s *Store, index uint64) error {
		_, err := s.JobDeregister(index, &structs.JobDeregisterRequest{Namespace: structs.DefaultNamespace, JobID: "again", Purge: true})
		return err
	})
	register("purged, registered again, a complete evaluation", old, testEval("g4", old, structs.EvalStatusComplete))
	register("purged, the old incarnation's evaluation ID reused", old, testEval("g1", old, structs.EvalStatusComplete))
	both("purge again", func(s *Store, index uint64) error {
		_, err := s.JobDeregister(index, &structs.JobDeregisterRequest{Namespace: structs.DefaultNamespace, JobID: "again", Purge: true})
		return err
	})
	both("an old live allocation and evaluation", func(s *Store, index uint64) error {
		a := testAlloc("g-a2", old, "n1")
		a.ClientStatus = structs.AllocClientStatusRunning
		if err := s.UpsertAllocs(index, []*structs.Allocation{a}); err != nil {
			return err
		}
		return s.UpsertEvals(index+1, []*structs.Evaluation{testEval("g5", old, structs.EvalStatusPending)})
	})
	register("purged with live leftovers, a complete evaluation", old, testEval("g6", old, structs.EvalStatusComplete))
	stopRun := web2.Copy()
	stopRun.Stop = true
	register("stopped job with a live allocation", stopRun, testEval("e6", stopRun, structs.EvalStatusComplete))
	register("stopped job with a live allocation, a pending evaluation", stopRun, testEval("e7", stopRun, structs.EvalStatusPending))
	cron := testJob("cron")
	cron.Type = structs.JobTypeBatch
	cron.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "*/5 * * * *", SpecType: structs.PeriodicSpecCron}
	register("periodic parent", cron, testEval("r1", cron, structs.EvalStatusPending))
	launched := testJob("cron/periodic-1")
	launched.Type = structs.JobTypeBatch
	launched.ParentID = "cron"
	register("periodic child", launched, testEval("r2", launched, structs.EvalStatusPending))
	register("periodic child, complete", launched, testEval("r2", launched, structs.EvalStatusComplete))
	cronStop := cron.Copy()
	cronStop.Stop = true
	register("periodic parent stopped", cronStop, testEval("r3", cronStop, structs.EvalStatusComplete))
}

// TestVersionsAndSubmissionsPruned: a job keeps its JobTrackedVersions
// newest versions and their submissions alone; purged and registered
// again, it has its new version and submission only (a job created by the
// registration skips the prune: it has nothing else to prune).
func TestVersionsAndSubmissionsPruned(t *testing.T) {
	s := newTestStore(t)
	index := uint64(0)
	register := func(count int) {
		t.Helper()
		index++
		job := testJob("web")
		job.TaskGroups[0].Count = count
		_, err := s.JobRegister(index, &structs.JobRegisterRequest{Job: job, Submission: &structs.JobSubmission{Source: fmt.Sprint(count), Format: "hcl2"}})
		must(t, err)
	}
	check := func(wantVersions ...uint64) {
		t.Helper()
		versions, err := s.JobVersionsByID(nil, structs.DefaultNamespace, "web")
		must(t, err)
		var got []uint64
		for _, v := range versions {
			got = append(got, v.Version)
		}
		if !slices.Equal(got, wantVersions) {
			t.Fatalf("versions %v, want %v", got, wantVersions)
		}
		for v := range uint64(12) {
			sub, err := s.JobSubmission(nil, structs.DefaultNamespace, "web", v)
			must(t, err)
			if kept := slices.Contains(wantVersions, v); (sub != nil) != kept {
				t.Errorf("submission of version %d: %v, want kept %t", v, sub, kept)
			}
		}
	}
	for c := range 9 {
		register(c + 1)
	}
	check(8, 7, 6, 5, 4, 3)
	index++
	_, err := s.JobDeregister(index, &structs.JobDeregisterRequest{Namespace: structs.DefaultNamespace, JobID: "web", Purge: true})
	must(t, err)
	register(1)
	check(0)
	register(2)
	check(1, 0)
}
