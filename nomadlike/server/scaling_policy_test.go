package server

import (
	"context"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func scaledJob(id string, max int64) *structs.Job {
	j := mockJob(id, 1, 100, 64)
	j.TaskGroups[0].Scaling = &structs.ScalingPolicy{Min: 1, Max: max, Enabled: true, Policy: map[string]any{"cooldown": "1m"}}
	return j
}

func TestScalingPolicyIDsKeptAcrossVersions(t *testing.T) {
	s := newTestServer(t, nil)
	registerJob(t, s, scaledJob("a", 3))
	first := mustJob(t, s, "a").TaskGroups[0].Scaling
	if first.ID == "" {
		t.Fatal("registered policy has no ID")
	}
	want := map[string]string{"Namespace": "default", "Job": "a", "Group": "web"}
	for k, v := range want {
		if first.Target[k] != v {
			t.Errorf("Target = %v, want %v", first.Target, want)
		}
	}
	if first.Type != structs.ScalingPolicyTypeHorizontal {
		t.Errorf("Type %q", first.Type)
	}

	// A new version keeps the ID, even when the request carries another.
	j := scaledJob("a", 5)
	j.TaskGroups[0].Scaling.ID = "forged"
	registerJob(t, s, j)
	second := mustJob(t, s, "a")
	if second.Version == 0 || second.TaskGroups[0].Scaling.ID != first.ID {
		t.Errorf("version %d policy ID %q, want %q kept", second.Version, second.TaskGroups[0].Scaling.ID, first.ID)
	}
	// Scaling the job keeps it as well.
	if _, err := s.ScaleJob(context.Background(), "", "a", &structs.ScalingRequest{Count: new(int64(2)), Target: map[string]string{"Group": "web"}}); err != nil {
		t.Fatal(err)
	}
	if got := mustJob(t, s, "a").TaskGroups[0].Scaling.ID; got != first.ID {
		t.Errorf("after scale, policy ID %q, want %q", got, first.ID)
	}

	// Another job gets its own ID, even with a copied one.
	b := scaledJob("b", 3)
	b.TaskGroups[0].Scaling.ID = first.ID
	registerJob(t, s, b)
	if got := mustJob(t, s, "b").TaskGroups[0].Scaling.ID; got == first.ID || got == "" {
		t.Errorf("job b policy ID %q, want a new one", got)
	}

	jobs, err := s.state.Jobs(nil, "*")
	if err != nil {
		t.Fatal(err)
	}
	all := JobScalingPolicies(jobs, "")
	if len(all) != 2 {
		t.Fatalf("%d policies, want 2", len(all))
	}
	onlyA := JobScalingPolicies(jobs, "a")
	if len(onlyA) != 1 || onlyA[0].ID != first.ID || onlyA[0].CreateIndex == 0 || onlyA[0].ModifyIndex < onlyA[0].CreateIndex {
		t.Errorf("policies of a: %+v", onlyA)
	}
}

func TestScalingPolicyOfDispatchedChild(t *testing.T) {
	s := newTestServer(t, nil)
	p := scaledJob("param", 3)
	p.Type = structs.JobTypeBatch
	p.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "optional"}
	registerJob(t, s, p)
	parent := mustJob(t, s, "param").TaskGroups[0].Scaling
	resp, err := s.DispatchJob(context.Background(), "", &structs.JobDispatchRequest{JobID: "param"})
	if err != nil {
		t.Fatal(err)
	}
	child := mustJob(t, s, resp.DispatchedJobID).TaskGroups[0].Scaling
	if child.ID == "" || child.ID == parent.ID || child.Target["Job"] != resp.DispatchedJobID {
		t.Errorf("child policy %+v, want its own ID and target (parent's ID %q)", child, parent.ID)
	}
}

func TestPlanUnchangedScaledJobHasNoDiff(t *testing.T) {
	s := newTestServer(t, nil)
	registerJob(t, s, scaledJob("a", 3))
	resp, err := s.PlanJob(context.Background(), &structs.JobPlanRequest{Job: scaledJob("a", 3), Diff: true})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Diff.IsEmpty() {
		t.Errorf("plan of the unchanged job: diff %+v, want none (the policy ID is not a change)", resp.Diff)
	}
}
