package server

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestDispatchChildID(t *testing.T) {
	now := time.Unix(1700000000, 0)
	uuid := "0123abcd-ffff-ffff-ffff-ffffffffffff"
	if got, want := dispatchChildID("p", "", now, uuid), "p/dispatch-1700000000-0123abcd"; got != want {
		t.Errorf("no template: %q, want %q", got, want)
	}
	if got, want := dispatchChildID("p", "nightly", now, uuid), "p/dispatch-nightly-1700000000-0123abcd"; got != want {
		t.Errorf("template: %q, want %q", got, want)
	}
}

func TestDispatchPrefixTemplateAndPriority(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	p := mockJob("param", 1, 100, 64)
	p.Type = structs.JobTypeBatch
	p.Priority = 50
	p.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "optional"}
	registerJob(t, s, p)

	resp, err := s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", IdPrefixTemplate: "nightly", Priority: 80})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^param/dispatch-nightly-\d+-[0-9a-f]{8}$`).MatchString(resp.DispatchedJobID) {
		t.Errorf("child ID %q, want param/dispatch-nightly-<unix>-<8 hex>", resp.DispatchedJobID)
	}
	child := mustJob(t, s, resp.DispatchedJobID)
	if child.Priority != 80 {
		t.Errorf("child priority %d, want 80", child.Priority)
	}
	ev, err := s.state.EvalByID(nil, resp.EvalID)
	if err != nil || ev == nil || ev.Priority != 80 {
		t.Errorf("eval %+v (%v), want priority 80", ev, err)
	}

	resp, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^param/dispatch-\d+-[0-9a-f]{8}$`).MatchString(resp.DispatchedJobID) {
		t.Errorf("child ID %q, want param/dispatch-<unix>-<8 hex>", resp.DispatchedJobID)
	}
	if c := mustJob(t, s, resp.DispatchedJobID); c.Priority != 50 {
		t.Errorf("child priority %d, want the parent's 50", c.Priority)
	}

	for _, bad := range []int{-1, 101} {
		_, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", Priority: bad})
		wantCode(t, err, http.StatusBadRequest, "Priority must be between 1 and 100")
	}
	_, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", IdPrefixTemplate: "a/b"})
	wantCode(t, err, http.StatusBadRequest, "IdPrefixTemplate")
}
