package state

import (
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
