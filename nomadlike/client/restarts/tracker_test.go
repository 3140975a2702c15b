package restarts

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestTracker(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := &drivers.ExitResult{ExitCode: 3}
	ok := &drivers.ExitResult{}
	failPolicy := &structs.RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: structs.RestartModeFail}
	delayPolicy := &structs.RestartPolicy{Attempts: 1, Interval: time.Minute, Delay: 5 * time.Second, Mode: structs.RestartModeDelay}

	type step struct {
		res  *drivers.ExitResult
		at   time.Duration
		want Decision
	}
	exceededFail := `Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"`
	exceededDelay := `Exceeded allowed attempts 1 in interval 1m0s and mode is "delay"`
	cases := []struct {
		name    string
		policy  *structs.RestartPolicy
		jobType string
		steps   []step
	}{
		{"service fails after attempts", failPolicy, structs.JobTypeService, []step{
			{fail, 0, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
			{fail, time.Minute, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
			{fail, 2 * time.Minute, Decision{Fail, 0, exceededFail}},
		}},
		{"service exit 0 still restarts", failPolicy, structs.JobTypeService, []step{
			{ok, 0, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
		}},
		{"batch exit 0 completes", failPolicy, structs.JobTypeBatch, []step{
			{ok, 0, Decision{Complete, 0, "Task completed successfully"}},
		}},
		{"interval end resets the count", failPolicy, structs.JobTypeService, []step{
			{fail, 0, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
			{fail, time.Minute, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
			{fail, 31 * time.Minute, Decision{Restart, 15 * time.Second, ReasonWithinPolicy}},
		}},
		{"delay mode waits until interval end", delayPolicy, structs.JobTypeService, []step{
			{fail, 0, Decision{Restart, 5 * time.Second, ReasonWithinPolicy}},
			{fail, 10 * time.Second, Decision{Restart, 50 * time.Second, exceededDelay}},
			{fail, 61 * time.Second, Decision{Restart, 5 * time.Second, ReasonWithinPolicy}},
		}},
		{"no attempts in fail mode", &structs.RestartPolicy{Mode: structs.RestartModeFail}, structs.JobTypeService, []step{
			{fail, 0, Decision{Fail, 0, ReasonNoRestarts}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(tc.policy, tc.jobType)
			for i, s := range tc.steps {
				got := tr.OnExit(s.res, t0.Add(s.at))
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("step %d: decision (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestTrackerStartError(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := NewTracker(nil, structs.JobTypeService)
	if got := tr.OnStartError(false, t0); got.Action != Fail || got.Reason != ReasonUnrecoverable {
		t.Errorf("unrecoverable: got %+v, want Fail %q", got, ReasonUnrecoverable)
	}
	if got := tr.OnStartError(true, t0); got.Action != Restart {
		t.Errorf("recoverable: got %v, want restart", got.Action)
	}
	if got := tr.Count(); got != 1 {
		t.Errorf("count: got %d, want 1", got)
	}
}
