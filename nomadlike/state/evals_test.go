package state

import (
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestUpsertEvalsIndexesAndBlockedSupersede(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertEvals(2, []*structs.Evaluation{testEval("b1", job, structs.EvalStatusBlocked)}))
	updated := testEval("b1", job, structs.EvalStatusBlocked)
	must(t, s.UpsertEvals(3, []*structs.Evaluation{updated}))
	if updated.CreateIndex != 2 || updated.ModifyIndex != 3 {
		t.Errorf("re-upserted eval indexes = %d/%d, want 2/3", updated.CreateIndex, updated.ModifyIndex)
	}
	must(t, s.UpsertEvals(4, []*structs.Evaluation{testEval("b2", job, structs.EvalStatusBlocked)}))
	tests := []struct {
		id, wantStatus string
		wantModify     uint64
	}{
		{"b1", structs.EvalStatusCancelled, 4},
		{"b2", structs.EvalStatusBlocked, 4},
	}
	for _, tt := range tests {
		e, err := s.EvalByID(nil, tt.id)
		must(t, err)
		if e.Status != tt.wantStatus || e.ModifyIndex != tt.wantModify {
			t.Errorf("eval %s: status %q modify index %d, want %q and %d", tt.id, e.Status, e.ModifyIndex, tt.wantStatus, tt.wantModify)
		}
	}
	evals, err := s.EvalsByJob(nil, "", "web")
	must(t, err)
	if len(evals) != 2 {
		t.Errorf("EvalsByJob returned %d evals, want 2", len(evals))
	}
}

// TestEvalsOfNamespaceAcrossJobs lists a namespace's evaluations (served
// by the job index's {namespace} prefix since the namespace index went):
// every job's, and one without a job, sorted by ID, none of a namespace
// whose name extends it.
func TestEvalsOfNamespaceAcrossJobs(t *testing.T) {
	s := newTestStore(t)
	a, b := testJob("a"), testJob("b")
	must(t, s.UpsertJob(10, a))
	must(t, s.UpsertJob(11, b))
	other := &structs.Evaluation{ID: "dd00", Namespace: "default2", JobID: "a", Status: structs.EvalStatusPending}
	noJob := &structs.Evaluation{ID: "bb00", Namespace: structs.DefaultNamespace, Status: structs.EvalStatusPending}
	must(t, s.UpsertEvals(12, []*structs.Evaluation{
		testEval("cc02", a, structs.EvalStatusComplete), testEval("aa01", b, structs.EvalStatusComplete),
		testEval("ee03", a, structs.EvalStatusComplete), testEval("bb01", b, structs.EvalStatusComplete), other, noJob,
	}))
	evals, err := s.Evals(nil, structs.DefaultNamespace)
	must(t, err)
	var ids []string
	for _, e := range evals {
		ids = append(ids, e.ID)
	}
	if want := []string{"aa01", "bb00", "bb01", "cc02", "ee03"}; !slices.Equal(ids, want) {
		t.Errorf("evaluations of default: %v, want %v", ids, want)
	}
}

// ApplyEvalUpdate (the FSM's) stores the request's evaluations themselves,
// with the indexes, namespace and job status EvalUpdate gives its copies.
func TestApplyEvalUpdateKeepsTheRequestsEvals(t *testing.T) {
	for i, name := range []string{"copied", "kept"} {
		s := newTestStore(t)
		job := testJob("web")
		must(t, s.UpsertJob(1, job))
		first := testEval("e1", job, structs.EvalStatusPending)
		must(t, s.UpsertEvals(2, []*structs.Evaluation{first}))
		done, blocked := testEval("e1", job, structs.EvalStatusComplete), testEval("e2", job, structs.EvalStatusBlocked)
		done.Namespace, blocked.Namespace = "", ""
		req := &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{done, blocked}}
		apply := []func(uint64, *structs.EvalUpdateRequest) (Result, error){s.EvalUpdate, s.ApplyEvalUpdate}[i]
		res, err := apply(3, req)
		must(t, err)
		for _, e := range req.Evals {
			got, err := s.EvalByID(nil, e.ID)
			must(t, err)
			if kept := got == e; kept != (name == "kept") {
				t.Errorf("%s: stored evaluation %s is the request's: %v", name, e.ID, kept)
			}
			if got.Namespace != structs.DefaultNamespace || e.Namespace != got.Namespace || e.ModifyIndex != 3 || got.ModifyIndex != 3 {
				t.Errorf("%s: evaluation %s: stored namespace %q index %d, request's %q %d", name, e.ID, got.Namespace, got.ModifyIndex, e.Namespace, e.ModifyIndex)
			}
		}
		if done.CreateIndex != 2 || blocked.CreateIndex != 3 {
			t.Errorf("%s: CreateIndex %d and %d, want 2 and 3", name, done.CreateIndex, blocked.CreateIndex)
		}
		if len(res.Changes) == 0 {
			t.Errorf("%s: no changes", name)
		}
		j, err := s.JobByID(nil, "", "web")
		must(t, err)
		if j.Status != structs.JobStatusPending {
			t.Errorf("%s: job status %q, want pending (a blocked evaluation)", name, j.Status)
		}
	}
}
