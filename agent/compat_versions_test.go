package agent

import (
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatSubmissionEvaluateTags covers `job inspect -hcl` (the source
// kept with each version), `job eval [-force-reschedule]` and `job tag
// apply|unset` through the official client, with the CLI's requests.
func TestCompatSubmissionEvaluateTags(t *testing.T) {
	_, c, _ := compatAgent(t, nil)
	src := "job \"sub\" {\n  # the source as written\n}\n"
	job := nomad.NewBatchJob("sub", "sub", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "exit 3")))
	job.TaskGroups[0].RestartPolicy = &nomad.RestartPolicy{Attempts: new(0), Mode: new("fail")}
	job.TaskGroups[0].ReschedulePolicy = &nomad.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}
	sub := &nomad.JobSubmission{Source: src, Format: "hcl2", VariableFlags: map[string]string{"who": "me"}}
	if _, _, err := c.Jobs().RegisterOpts(job, &nomad.RegisterOptions{Submission: sub}, nil); err != nil {
		t.Fatalf("RegisterOpts: %v", err)
	}

	t.Run("submission", func(t *testing.T) {
		got, _, err := c.Jobs().Submission("sub", 0, nil)
		if err != nil || got.Source != src || got.Format != "hcl2" || got.VariableFlags["who"] != "me" {
			t.Fatalf("Submission(sub, 0) = %+v, %v", got, err)
		}
		if _, _, err := c.Jobs().Submission("sub", 7, nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("Submission of a missing version: %v, want a 404", err)
		}
	})

	t.Run("evaluate with force reschedule", func(t *testing.T) {
		failed := waitAllocs(t, c, "sub", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "failed" })
		evalID, _, err := c.Jobs().EvaluateWithOpts("sub", nomad.EvalOptions{ForceReschedule: true}, nil)
		if err != nil || evalID == "" {
			t.Fatalf("EvaluateWithOpts: %q, %v", evalID, err)
		}
		waitFor(t, "the failed allocation to be rescheduled", 30*time.Second, func() (bool, string) {
			a, _, err := c.Allocations().Info(failed[0].ID, nil)
			if err != nil {
				return false, err.Error()
			}
			return a.NextAllocation != "", "no NextAllocation"
		})
		if id, _, err := c.Jobs().ForceEvaluate("sub", nil); err != nil || id == "" {
			t.Errorf("ForceEvaluate: %q, %v", id, err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		if _, err := c.Jobs().TagVersion("sub", 0, "golden", "known good", nil); err != nil {
			t.Fatalf("TagVersion: %v", err)
		}
		v, _, err := c.Jobs().VersionByTag("sub", "golden", nil)
		if err != nil || v.VersionTag == nil || v.VersionTag.Description != "known good" || v.VersionTag.TaggedTime == 0 {
			t.Fatalf("VersionByTag: %+v, %v", v, err)
		}
		if _, err := c.Jobs().TagVersion("sub", 9, "other", "", nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("tag of a missing version: %v, want a 404", err)
		}
		if _, err := c.Jobs().UntagVersion("sub", "golden", nil); err != nil {
			t.Fatalf("UntagVersion: %v", err)
		}
		if _, _, err := c.Jobs().VersionByTag("sub", "golden", nil); err == nil {
			t.Errorf("VersionByTag after unset found the tag")
		}
	})
}
