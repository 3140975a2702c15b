package state

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestUpsertPlanResults(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("old", job, "n1")}))
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "old", ClientStatus: structs.AllocClientStatusRunning}}))

	var p structs.Plan
	existing, err := s.AllocByID(nil, "old")
	must(t, err)
	p.AppendStoppedAlloc(existing, "alloc not needed", "")
	placed := testAlloc("new", job, "n2")
	placed.Job = nil // the applier fills it from req.Job
	blocked := testEval("blocked", job, structs.EvalStatusBlocked)
	req := &structs.ApplyPlanResultsRequest{
		Job: job, AllocsStopped: p.NodeUpdate["n1"], AllocsPlaced: []*structs.Allocation{placed},
		EvalID: "e1", Evals: []*structs.Evaluation{blocked}, Timestamp: 777,
	}
	must(t, errOf(s.ApplyPlanResults(4, req)))

	type view struct {
		Desired, Client  string
		HasJob           bool
		Create, AllocMod uint64
		CreateT, ModifyT int64
	}
	tests := []struct {
		id   string
		want view
	}{
		{"old", view{"stop", "running", true, 2, 4, 0, 777}},
		{"new", view{"run", "pending", true, 4, 4, 777, 777}},
	}
	for _, tt := range tests {
		a, err := s.AllocByID(nil, tt.id)
		must(t, err)
		got := view{a.DesiredStatus, a.ClientStatus, a.Job != nil, a.CreateIndex, a.AllocModifyIndex, a.CreateTime, a.ModifyTime}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("alloc %s (-want +got):\n%s", tt.id, diff)
		}
	}
	if blocked.CreateIndex != 4 {
		t.Errorf("caller's eval CreateIndex = %d, want 4", blocked.CreateIndex)
	}
	if placed.Job != nil {
		t.Errorf("the caller's placement was changed (Job set)")
	}
}

// TestApplyPlanResultsBatch: the plans of a batch apply in order in one
// transaction: a later plan sees an earlier one's placement (it stops
// it), the caller's objects get their indexes, and a bad plan anywhere in
// the batch leaves the state as it was.
func TestApplyPlanResultsBatch(t *testing.T) {
	s := newTestStore(t)
	web, api := testJob("web"), testJob("api")
	must(t, s.UpsertJob(1, web))
	must(t, s.UpsertJob(2, api))
	placedWeb := testAlloc("w1", web, "n1")
	placedAPI := testAlloc("a1", api, "n2")

	bad := &structs.ApplyPlanResultsBatchRequest{Plans: []*structs.ApplyPlanResultsRequest{
		{Job: api, EvalID: "e-api", AllocsPlaced: []*structs.Allocation{placedAPI}, Timestamp: 5},
		{Job: web, EvalID: "e-web", AllocsPlaced: []*structs.Allocation{nil}, Timestamp: 5},
	}}
	if _, err := s.ApplyPlanResultsBatch(3, bad); err == nil {
		t.Fatal("a batch with a nil placement applied")
	}
	if a, err := s.AllocByID(nil, "a1"); err != nil || a != nil {
		t.Fatalf("the failed batch's first plan is in the state: %v, %v", a, err)
	}

	stopWeb := placedWeb.Copy()
	stopWeb.DesiredStatus = structs.AllocDesiredStatusStop
	blocked := testEval("blocked", api, structs.EvalStatusBlocked)
	req := &structs.ApplyPlanResultsBatchRequest{Plans: []*structs.ApplyPlanResultsRequest{
		{Job: web, EvalID: "e-web", AllocsPlaced: []*structs.Allocation{placedWeb}, Timestamp: 6},
		{Job: api, EvalID: "e-api", AllocsPlaced: []*structs.Allocation{placedAPI}, AllocsStopped: []*structs.Allocation{stopWeb},
			Evals: []*structs.Evaluation{blocked}, Timestamp: 7},
	}}
	must(t, errOf(s.ApplyPlanResultsBatch(4, req)))
	w, err := s.AllocByID(nil, "w1")
	must(t, err)
	if w == nil || w.DesiredStatus != structs.AllocDesiredStatusStop || w.CreateIndex != 4 || w.CreateTime != 6 || w.ModifyTime != 7 {
		t.Fatalf("w1 after the batch: %+v; want placed by the first plan (created at 4, time 6) and stopped by the second (time 7)", w)
	}
	if a, err := s.AllocByID(nil, "a1"); err != nil || a == nil || a.DesiredStatus != structs.AllocDesiredStatusRun {
		t.Fatalf("a1 after the batch: %+v, %v", a, err)
	}
	if placedAPI.CreateIndex != 4 || blocked.CreateIndex != 4 {
		t.Errorf("caller's objects' indexes: alloc %d, eval %d; want 4", placedAPI.CreateIndex, blocked.CreateIndex)
	}
}

func TestUpdateAllocsDesiredStatus(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a1", job, "n1")}))
	err := errOf(s.AllocDesiredUpdate(3, &structs.AllocDesiredUpdateRequest{AllocIDs: []string{"a1"}, DesiredStatus: "halt"}))
	var coded *structs.CodedError
	if !errors.As(err, &coded) || coded.Code != 400 {
		t.Errorf("unknown desired status: got %v, want a 400 CodedError", err)
	}
	must(t, errOf(s.AllocDesiredUpdate(4, &structs.AllocDesiredUpdateRequest{
		AllocIDs: []string{"a1", "collected"}, DesiredStatus: structs.AllocDesiredStatusStop, Description: "stopped by user", Timestamp: 99,
		Evals: []*structs.Evaluation{testEval("e-stop", job, structs.EvalStatusPending)},
	})))
	a, err := s.AllocByID(nil, "a1")
	must(t, err)
	if a.DesiredStatus != "stop" || a.DesiredDescription != "stopped by user" || a.AllocModifyIndex != 4 || a.ModifyTime != 99 {
		t.Errorf("alloc = desired %q (%q) alloc modify %d time %d; want stop, \"stopped by user\", 4, 99", a.DesiredStatus, a.DesiredDescription, a.AllocModifyIndex, a.ModifyTime)
	}
	j, err := s.JobByID(nil, "default", "web")
	must(t, err)
	if j.Status != structs.JobStatusPending {
		t.Errorf("job status = %q, want pending (stop eval waiting, alloc stopped)", j.Status)
	}
}
