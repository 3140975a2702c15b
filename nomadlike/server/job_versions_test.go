package server

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestRevertAndStableJob(t *testing.T) {
	s := newTestServer(t, nil)
	registerJob(t, s, mockJob("web", 1, 100, 64)) // version 0
	registerJob(t, s, mockJob("web", 1, 200, 64)) // version 1
	u := func(v uint64) *uint64 { return &v }

	errCases := []struct {
		name string
		req  *structs.JobRevertRequest
		want int
	}{
		{"no job ID", &structs.JobRevertRequest{}, http.StatusBadRequest},
		{"unknown job", &structs.JobRevertRequest{JobID: "nope"}, http.StatusNotFound},
		{"current version", &structs.JobRevertRequest{JobID: "web", JobVersion: 1}, http.StatusBadRequest},
		{"missing version", &structs.JobRevertRequest{JobID: "web", JobVersion: 9}, http.StatusBadRequest},
		{"stale prior version", &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: u(0)}, http.StatusConflict},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RevertJob(context.Background(), tc.req)
			var coded *structs.CodedError
			if !errors.As(err, &coded) || coded.Code != tc.want {
				t.Errorf("RevertJob error = %v, want code %d", err, tc.want)
			}
		})
	}

	resp, err := s.RevertJob(context.Background(), &structs.JobRevertRequest{JobID: "web", JobVersion: 0, EnforcePriorVersion: u(1)})
	if err != nil {
		t.Fatalf("RevertJob to version 0: %v", err)
	}
	cur, err := s.state.JobByID(nil, "default", "web")
	if err != nil || cur == nil {
		t.Fatalf("JobByID: %v, %v", cur, err)
	}
	if got, want := cur.Version, uint64(2); got != want {
		t.Errorf("version after revert = %d, want %d", got, want)
	}
	if got, want := cur.TaskGroups[0].Tasks[0].Resources.CPU, 100; got != want {
		t.Errorf("CPU after revert = %d, want version 0's %d", got, want)
	}
	if ev, err := s.state.EvalByID(nil, resp.EvalID); err != nil || ev == nil || ev.JobID != "web" {
		t.Errorf("revert evaluation %q = %+v, %v; want an eval of job web", resp.EvalID, ev, err)
	}

	stableCases := []struct {
		name    string
		req     *structs.JobStabilityRequest
		want    int // 0: success
		version uint64
	}{
		{"mark old version", &structs.JobStabilityRequest{JobID: "web", JobVersion: 0, Stable: true}, 0, 0},
		{"mark current version", &structs.JobStabilityRequest{JobID: "web", JobVersion: 2, Stable: true}, 0, 2},
		{"missing version", &structs.JobStabilityRequest{JobID: "web", JobVersion: 7, Stable: true}, http.StatusNotFound, 0},
		{"unknown job", &structs.JobStabilityRequest{JobID: "nope", Stable: true}, http.StatusNotFound, 0},
		{"no job ID", &structs.JobStabilityRequest{}, http.StatusBadRequest, 0},
	}
	for _, tc := range stableCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.StableJob(context.Background(), tc.req)
			if tc.want != 0 {
				var coded *structs.CodedError
				if !errors.As(err, &coded) || coded.Code != tc.want {
					t.Errorf("StableJob error = %v, want code %d", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("StableJob: %v", err)
			}
			v, err := s.state.JobByIDAndVersion(nil, "default", "web", tc.version)
			if err != nil || v == nil || !v.Stable {
				t.Errorf("version %d after StableJob = %+v, %v; want stable", tc.version, v, err)
			}
		})
	}
	cur, err = s.state.JobByID(nil, "default", "web")
	if err != nil || cur == nil || !cur.Stable {
		t.Errorf("current job after marking version 2 stable: Stable = %v (%v), want true", cur != nil && cur.Stable, err)
	}
}
