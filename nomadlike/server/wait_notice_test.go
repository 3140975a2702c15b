package server

import (
	"context"
	"net/http"
	"net/http/httptest"
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

// TestSetWaitNoticeInRequestState: a request with a RequestState gets its
// wait notice recorded there, without a copy of the request; one without
// gets a copy carrying it. Either way NoticeWait calls it.
func TestSetWaitNoticeInRequestState(t *testing.T) {
	for _, withState := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPut, "/v1/jobs", nil)
		if withState {
			r = r.WithContext(WithRequestState(r.Context(), &RequestState{}))
		}
		var noticed atomic.Int32
		r2 := SetWaitNotice(r, func() { noticed.Add(1) })
		if withState != (r2 == r) {
			t.Errorf("with a RequestState %v: request copied %v", withState, r2 != r)
		}
		NoticeWait(r2.Context())
		if noticed.Load() != 1 {
			t.Errorf("with a RequestState %v: noticed %d times, want 1", withState, noticed.Load())
		}
	}
	// Without either, NoticeWait does nothing.
	NoticeWait(WithRequestState(context.Background(), &RequestState{}))
}
