package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestPlanJob runs job plan against a running job: the scheduler's dry run
// is reported (desired updates, failures, annotations) and nothing is
// committed.
func TestPlanJob(t *testing.T) {
	s := newTestServer(t, nil)
	registerNode(t, s, mockNode("n1"))
	registerJob(t, s, mockJob("web", 2, 100, 64))
	waitLiveAllocs(t, s, "web", 2)
	// The worker marks the registration's evaluation complete just after
	// its plan is applied: wait for that, so it is not taken for a write of
	// the plans below.
	waitFor(t, 10*time.Second, "the registration's evaluations to finish", func() (bool, string) {
		evals, err := s.state.EvalsByJob(nil, "default", "web")
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false, fmt.Sprintf("eval %s is %s", e.ID, e.Status)
			}
		}
		return len(evals) > 0, fmt.Sprintf("%d evals", len(evals))
	})

	cases := []struct {
		name       string
		job        *structs.Job
		wantType   structs.DiffType
		wantTask   []string // annotations of task "server"
		wantCount  []string // annotations of the Count field
		wantDU     structs.DesiredUpdates
		wantFailed bool
		wantIndex  bool // JobModifyIndex is the current job's
	}{
		{
			name: "unchanged", job: mockJob("web", 2, 100, 64),
			wantType: structs.DiffTypeNone, wantDU: structs.DesiredUpdates{Ignore: 2}, wantIndex: true,
		},
		{
			name: "config change is destructive",
			job: func() *structs.Job {
				j := mockJob("web", 2, 100, 64)
				j.TaskGroups[0].Tasks[0].Config["args"] = []any{"2000"}
				return j
			}(),
			wantType: structs.DiffTypeEdited, wantTask: []string{"forces create/destroy update"},
			wantDU: structs.DesiredUpdates{DestructiveUpdate: 2}, wantIndex: true,
		},
		{
			name: "kill timeout change is in place",
			job: func() *structs.Job {
				j := mockJob("web", 2, 100, 64)
				j.TaskGroups[0].Tasks[0].KillTimeout = 30 * time.Second
				return j
			}(),
			wantType: structs.DiffTypeEdited, wantTask: []string{"forces in-place update"},
			wantDU: structs.DesiredUpdates{InPlaceUpdate: 2}, wantIndex: true,
		},
		{
			name: "count up creates", job: mockJob("web", 3, 100, 64),
			wantType: structs.DiffTypeEdited, wantCount: []string{"forces create"},
			wantDU: structs.DesiredUpdates{Place: 1, InPlaceUpdate: 2}, wantIndex: true,
		},
		{
			name: "new job that fits nowhere", job: mockJob("huge", 1, 1_000_000, 64),
			wantType: structs.DiffTypeAdded, wantTask: []string{"forces create"},
			wantDU: structs.DesiredUpdates{Place: 1}, wantFailed: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// What a plan could write: jobs, versions, evaluations,
			// deployments and allocations. (The latest index as a whole
			// moves with the client's status updates, the heartbeats and
			// the leader's loops while the plan runs.)
			before := planWrites(t, s, tc.job.ID)
			current, err := s.state.JobByID(nil, "default", "web")
			if err != nil || current == nil {
				t.Fatalf("current job: %v, %v", current, err)
			}
			resp, err := s.PlanJob(context.Background(), &structs.JobPlanRequest{Job: tc.job, Diff: true})
			if err != nil {
				t.Fatalf("PlanJob: %v", err)
			}
			if after := planWrites(t, s, tc.job.ID); after != before {
				t.Errorf("state a plan could write changed from %q to %q: the plan committed something", before, after)
			}
			if got := len(liveAllocs(t, s, tc.job.ID)); tc.job.ID == "web" && got != 2 {
				t.Errorf("live allocs of web = %d after plan, want 2", got)
			}
			if resp.Diff == nil || resp.Diff.Type != tc.wantType {
				t.Fatalf("diff = %+v, want type %s", resp.Diff, tc.wantType)
			}
			var gotTask, gotCount []string
			for _, g := range resp.Diff.TaskGroups {
				for _, tk := range g.Tasks {
					if tk.Name == "server" {
						gotTask = tk.Annotations
					}
				}
				for _, f := range g.Fields {
					if f.Name == "Count" {
						gotCount = f.Annotations
					}
				}
			}
			if d := cmp.Diff(tc.wantTask, gotTask); d != "" {
				t.Errorf("task annotations (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantCount, gotCount); d != "" {
				t.Errorf("count annotations (-want +got):\n%s", d)
			}
			if resp.Annotations == nil || resp.Annotations.DesiredTGUpdates["web"] == nil {
				t.Fatalf("annotations = %+v, want DesiredTGUpdates for group web", resp.Annotations)
			}
			if d := cmp.Diff(tc.wantDU, *resp.Annotations.DesiredTGUpdates["web"]); d != "" {
				t.Errorf("desired updates (-want +got):\n%s", d)
			}
			if got := resp.FailedTGAllocs["web"] != nil; got != tc.wantFailed {
				t.Errorf("failed placement reported = %t, want %t (%+v)", got, tc.wantFailed, resp.FailedTGAllocs)
			}
			if tc.wantFailed && (len(resp.CreatedEvals) != 1 || resp.CreatedEvals[0].Status != structs.EvalStatusBlocked) {
				t.Errorf("created evals = %+v, want one blocked eval", resp.CreatedEvals)
			}
			wantIndex := uint64(0)
			if tc.wantIndex {
				wantIndex = current.JobModifyIndex
			}
			if resp.JobModifyIndex != wantIndex {
				t.Errorf("JobModifyIndex = %d, want %d", resp.JobModifyIndex, wantIndex)
			}
		})
	}
	evals, err := s.state.EvalsByJob(nil, "default", "huge")
	if err != nil || len(evals) != 0 {
		t.Errorf("evals of the planned job huge = %d (%v), want none", len(evals), err)
	}
}

func TestPlanJobInvalid(t *testing.T) {
	s := newTestServer(t, nil)
	cases := []struct {
		name string
		req  *structs.JobPlanRequest
	}{
		{"no job", &structs.JobPlanRequest{}},
		{"no groups", &structs.JobPlanRequest{Job: &structs.Job{ID: "x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.PlanJob(context.Background(), tc.req)
			var coded *structs.CodedError
			if !errors.As(err, &coded) || coded.Code != 400 {
				t.Errorf("PlanJob error = %v, want a 400", err)
			}
		})
	}
}

// TestPlanJobMissingDriver: a driver nomadlike lacks is planned (and fails
// to place) with a warning, as Nomad plans it.
func TestPlanJobMissingDriver(t *testing.T) {
	s := newTestServer(t, nil)
	j := mockJob("x", 1, 100, 64)
	j.TaskGroups[0].Tasks[0].Driver = "podman"
	resp, err := s.PlanJob(context.Background(), &structs.JobPlanRequest{Job: j})
	if err != nil || !strings.Contains(resp.Warnings, `driver "podman"`) {
		t.Fatalf("PlanJob = %+v, %v; want a plan with a podman warning", resp, err)
	}
}

// planWrites summarises what a job plan must not change: the indexes of the
// jobs, job version, evaluation and deployment tables, and the IDs of the
// job's allocations.
func planWrites(t *testing.T, s *Server, jobID string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"jobs", "job_version", "evals", "deployment"} {
		idx, err := s.state.Index(table)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, idx)
	}
	allocs, err := s.state.AllocsByJob(nil, "default", jobID, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(allocs))
	for _, a := range allocs {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	fmt.Fprintf(&b, "allocs=%v", ids)
	return b.String()
}
