package state

import (
	memdb "github.com/hashicorp/go-memdb"

	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestDeleteDeploymentsSkipsUnknownAndBumpsIndex(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(10, job))
	d := structs.NewDeployment("dep-1", job, 50, time.Unix(1_800_000_000, 0))
	must(t, s.UpsertDeployment(11, d))

	must(t, s.DeleteDeployments(12, []string{"unknown"}))
	if idx, _ := s.Index(tableDeployment); idx != 11 {
		t.Errorf("deleting only unknown IDs moved the deployment index to %d, want 11", idx)
	}
	must(t, s.DeleteDeployments(13, []string{"dep-1", "unknown"}))
	if got, _ := s.DeploymentByID(nil, "dep-1"); got != nil {
		t.Errorf("dep-1 still stored")
	}
	if idx, _ := s.Index(tableDeployment); idx != 13 {
		t.Errorf("deployment index = %d, want 13", idx)
	}
}

func TestDeleteEvalsAndPurgeLeaveNothing(t *testing.T) {
	s := newTestStore(t)
	job := testJob("batch")
	job.Type = structs.JobTypeBatch
	must(t, s.UpsertJob(10, job))
	stored, _ := s.JobByID(nil, job.Namespace, job.ID)
	must(t, s.UpsertEvals(11, []*structs.Evaluation{testEval("e1", stored, structs.EvalStatusComplete)}))
	a := testAlloc("a1", stored, "n1")
	a.EvalID = "e1"
	a.ClientStatus = structs.AllocClientStatusComplete
	must(t, s.UpsertAllocs(12, []*structs.Allocation{a}))

	must(t, s.DeleteEvals(13, []string{"e1"}, []string{"a1"}))
	if j, _ := s.JobByID(nil, job.Namespace, job.ID); j == nil || j.Status != structs.JobStatusDead {
		t.Fatalf("job after its evals were collected = %+v, want dead", j)
	}
	must(t, s.DeleteJob(14, job.Namespace, job.ID))
	if vs, _ := s.JobVersionsByID(nil, job.Namespace, job.ID); len(vs) != 0 {
		t.Errorf("%d versions left after purge", len(vs))
	}
	if sum, _ := s.JobSummaryByID(nil, job.Namespace, job.ID); sum != nil {
		t.Errorf("summary left after purge")
	}
	if as, _ := s.AllocsByJob(nil, job.Namespace, job.ID, true); len(as) != 0 {
		t.Errorf("%d allocs left", len(as))
	}
}

func TestReconcileJobSummariesRepairsCounts(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(10, job))
	stored, _ := s.JobByID(nil, job.Namespace, job.ID)
	a := testAlloc("a1", stored, "n1")
	a.ClientStatus = structs.AllocClientStatusRunning
	must(t, s.UpsertAllocs(11, []*structs.Allocation{a}))

	// Damage the summary behind the store's back.
	bad := &structs.JobSummary{JobID: job.ID, Namespace: stored.Namespace, CreateIndex: 10, ModifyIndex: 11,
		Summary: map[string]structs.TaskGroupSummary{"web": {Failed: 7}}}
	must(t, errOf(s.write(11, func(txn *memdb.Txn) error { return txn.Insert(tableJobSummary, bad) })))

	must(t, errOf(s.ReconcileJobSummaries(12, nil)))
	sum, _ := s.JobSummaryByID(nil, job.Namespace, job.ID)
	if got := sum.Summary["web"]; got.Running != 1 || got.Failed != 0 || sum.ModifyIndex != 12 {
		t.Errorf("summary after reconcile = %+v (modify index %d), want 1 running at index 12", got, sum.ModifyIndex)
	}
	must(t, errOf(s.ReconcileJobSummaries(13, nil)))
	if sum, _ := s.JobSummaryByID(nil, job.Namespace, job.ID); sum.ModifyIndex != 12 {
		t.Errorf("a reconcile with nothing to fix rewrote the summary (modify index %d)", sum.ModifyIndex)
	}
}
