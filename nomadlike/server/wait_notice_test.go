package server

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRaftApplyNoticesItsWait: a write made with a WithWaitNotice context
// calls the notice before it waits for its entry to commit (so the HTTP
// layer frees the request's admission slot), and applies as before.
func TestRaftApplyNoticesItsWait(t *testing.T) {
	s := newTestServer(t, nil)
	var noticed atomic.Int32
	ctx := WithWaitNotice(context.Background(), func() { noticed.Add(1) })
	job := mockJob("notice", 1, 100, 64)
	if _, err := s.raftApply(ctx, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job}); err != nil {
		t.Fatal(err)
	}
	if noticed.Load() == 0 {
		t.Error("raftApply waited for the commit without noticing the request")
	}
	if got, err := s.state.JobByID(nil, job.Namespace, job.ID); err != nil || got == nil {
		t.Errorf("job after the apply: %v, %v", got, err)
	}
}
