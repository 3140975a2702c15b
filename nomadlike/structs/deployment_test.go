package structs

import (
	"testing"
	"time"
)

func updateJob(jobU, groupU *UpdateStrategy, typ string) *Job {
	return &Job{ID: "web", Type: typ, Update: jobU, TaskGroups: []*TaskGroup{{
		Name: "web", Count: 1, Update: groupU,
		Tasks: []*Task{{Name: "t", Driver: "raw_exec"}},
	}}}
}

func TestCanonicalizeGroupUpdate(t *testing.T) {
	jobU := &UpdateStrategy{MaxParallel: 2, Canary: 2, AutoRevert: true, HealthyDeadline: time.Minute}

	// A group without a block takes the job's.
	j := updateJob(jobU, nil, JobTypeService)
	j.Canonicalize()
	if u := j.TaskGroups[0].Update; u == nil || u.MaxParallel != 2 || u.Canary != 2 || !u.AutoRevert {
		t.Fatalf("group without update block: got %+v, want the job's", u)
	}
	if j.TaskGroups[0].Update == j.Update {
		t.Fatal("the group's strategy must be a copy, not the job's pointer")
	}

	// A group's own block is complete: explicit zeros stay.
	j = updateJob(jobU, &UpdateStrategy{MaxParallel: 1, HealthyDeadline: time.Minute}, JobTypeService)
	j.Canonicalize()
	if u := j.TaskGroups[0].Update; u.Canary != 0 || u.AutoRevert || u.MaxParallel != 1 {
		t.Fatalf("group block with canary = 0, auto_revert = false: got %+v", u)
	}

	// Zero healthy deadline, stagger and health check get defaults; zero
	// min_healthy_time and progress_deadline mean something and stay.
	j = updateJob(&UpdateStrategy{MaxParallel: 1}, nil, JobTypeService)
	j.Canonicalize()
	u := j.TaskGroups[0].Update
	if u.HealthyDeadline != 5*time.Minute || u.Stagger != 30*time.Second || u.HealthCheck != UpdateStrategyHealthCheckChecks {
		t.Fatalf("defaults not filled: %+v", u)
	}
	if u.MinHealthyTime != 0 || u.ProgressDeadline != 0 {
		t.Fatalf("explicit zero min_healthy_time/progress_deadline changed: %+v", u)
	}
	if err := j.Validate(); err != nil {
		t.Fatalf("valid job refused: %v", err)
	}

	// Only service jobs deploy.
	j = updateJob(jobU, nil, JobTypeBatch)
	j.Canonicalize()
	if j.TaskGroups[0].Update != nil {
		t.Fatalf("batch group kept an update strategy: %+v", j.TaskGroups[0].Update)
	}
}

func TestUpdateStrategyValidate(t *testing.T) {
	for name, u := range map[string]*UpdateStrategy{
		"bad health check":         {MaxParallel: 1, HealthCheck: "pings", HealthyDeadline: time.Minute},
		"negative canary":          {MaxParallel: 1, Canary: -1, HealthyDeadline: time.Minute},
		"auto promote, no canary":  {MaxParallel: 1, AutoPromote: true, HealthyDeadline: time.Minute},
		"min healthy >= deadline":  {MaxParallel: 1, MinHealthyTime: time.Minute, HealthyDeadline: time.Minute},
		"deadline beyond progress": {MaxParallel: 1, HealthyDeadline: 2 * time.Minute, ProgressDeadline: time.Minute},
	} {
		if err := u.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, u)
		}
	}
}
