package server

import (
	"context"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRegisterJobOwned: RegisterJob leaves the caller's job as it was (a
// revert passes it one of the state's jobs); RegisterJobOwned, for a
// caller that hands its request over (the HTTP API), canonicalizes and
// stamps the job it is given instead of a copy, and registers it as
// RegisterJob does.
func TestRegisterJobOwned(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	kept := mockJob("kept", 1, 100, 64)
	if _, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: kept}); err != nil {
		t.Fatal(err)
	}
	if kept.SubmitTime != 0 {
		t.Errorf("RegisterJob stamped the caller's job (SubmitTime %d)", kept.SubmitTime)
	}
	given := mockJob("given", 1, 100, 64)
	resp, err := s.RegisterJobOwned(ctx, &structs.JobRegisterRequest{Job: given})
	if err != nil {
		t.Fatal(err)
	}
	if given.SubmitTime == 0 {
		t.Errorf("RegisterJobOwned stamped a copy, not the job it was handed")
	}
	for _, id := range []string{"kept", "given"} {
		stored, err := s.state.JobByID(nil, structs.DefaultNamespace, id)
		if err != nil || stored == nil {
			t.Fatalf("job %s after its registration: %v, %v", id, stored, err)
		}
		if stored.SubmitTime == 0 || stored.Version != 0 || stored.Status != structs.JobStatusPending {
			t.Errorf("job %s stored with SubmitTime %d, version %d, status %q", id, stored.SubmitTime, stored.Version, stored.Status)
		}
	}
	if stored, _ := s.state.JobByID(nil, structs.DefaultNamespace, "given"); stored.SubmitTime != given.SubmitTime || resp.EvalID == "" {
		t.Errorf("stored SubmitTime %d, stamped %d; eval %q", stored.SubmitTime, given.SubmitTime, resp.EvalID)
	}
}
