package agent

import (
	"regexp"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatScalingPoliciesAndDispatchOpts reads group scaling policies and
// dispatches with an ID prefix template and a priority through HashiCorp's
// official Go client.
func TestCompatScalingPoliciesAndDispatchOpts(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	task := func() *nomad.Task {
		return nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"300"})
	}
	svc := nomad.NewServiceJob("svc", "svc", "global", 50)
	g := nomad.NewTaskGroup("web", 1).AddTask(task())
	g.Scaling = &nomad.ScalingPolicy{Min: new(int64(1)), Max: new(int64(4)), Policy: map[string]any{"cooldown": "1m"}}
	svc.AddTaskGroup(g)
	other := nomad.NewServiceJob("other", "other", "global", 50)
	og := nomad.NewTaskGroup("g", 1).AddTask(task())
	og.Scaling = &nomad.ScalingPolicy{Min: new(int64(0)), Max: new(int64(2)), Enabled: new(false)}
	other.AddTaskGroup(og)
	for _, j := range []*nomad.Job{svc, other} {
		if _, _, err := c.Jobs().Register(j, nil); err != nil {
			t.Fatalf("Register %s: %v", *j.ID, err)
		}
	}

	stubs, meta, err := c.Scaling().ListPolicies(nil)
	if err != nil || len(stubs) != 2 || meta.LastIndex == 0 {
		t.Fatalf("ListPolicies: %+v, %+v, %v", stubs, meta, err)
	}
	only, _, err := c.Scaling().ListPolicies(&nomad.QueryOptions{Params: map[string]string{"job": "svc"}})
	if err != nil || len(only) != 1 {
		t.Fatalf("ListPolicies(job=svc): %+v, %v", only, err)
	}
	st := only[0]
	if st.ID == "" || st.Type != "horizontal" || !st.Enabled || st.Target["Job"] != "svc" || st.Target["Group"] != "web" ||
		st.Target["Namespace"] != "default" || st.CreateIndex == 0 || st.ModifyIndex == 0 {
		t.Errorf("stub %+v", st)
	}
	p, _, err := c.Scaling().GetPolicy(st.ID, nil)
	if err != nil {
		t.Fatalf("GetPolicy(%q): %v", st.ID, err)
	}
	if p.ID != st.ID || p.Min == nil || *p.Min != 1 || p.Max == nil || *p.Max != 4 || p.Enabled == nil || !*p.Enabled ||
		p.Policy["cooldown"] != "1m" || p.Target["Group"] != "web" {
		t.Errorf("policy %+v", p)
	}
	if _, _, err := c.Scaling().GetPolicy("no-such-policy", nil); err == nil {
		t.Error("GetPolicy of an unknown ID succeeded, want 404")
	}

	// A new version of the job keeps the policy's ID.
	*g.Scaling.Max = 5
	if _, _, err := c.Jobs().Register(svc, nil); err != nil {
		t.Fatalf("Register svc again: %v", err)
	}
	p2, _, err := c.Scaling().GetPolicy(st.ID, nil)
	if err != nil || *p2.Max != 5 {
		t.Errorf("policy after update: %+v, %v", p2, err)
	}

	// Dispatch with an ID prefix template and a priority.
	param := nomad.NewBatchJob("param", "param", "global", 50)
	param.ParameterizedJob = &nomad.ParameterizedJobConfig{Payload: "optional"}
	param.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task()))
	if _, _, err := c.Jobs().Register(param, nil); err != nil {
		t.Fatalf("Register parameterized: %v", err)
	}
	disp, _, err := c.Jobs().DispatchOpts(&nomad.DispatchOptions{JobID: "param", IdPrefixTemplate: "nightly", Priority: 70}, nil)
	if err != nil || !regexp.MustCompile(`^param/dispatch-nightly-\d+-[0-9a-f]{8}$`).MatchString(disp.DispatchedJobID) {
		t.Fatalf("DispatchOpts: %+v, %v", disp, err)
	}
	dj, _, err := c.Jobs().Info(disp.DispatchedJobID, nil)
	if err != nil || dj.Priority == nil || *dj.Priority != 70 {
		t.Errorf("dispatched job priority: %+v, %v", dj, err)
	}
}
