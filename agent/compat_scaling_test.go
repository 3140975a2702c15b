package agent

import (
	"fmt"
	"regexp"
	"strings"
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

// TestCompatScalingEvents scales a job as the stock CLI does (`nomad job
// scale` sends "submitted using the Nomad CLI") and as an autoscaler reports
// an error (no count), and reads the events back as `nomad job
// scaling-events` does, through HashiCorp's official Go client.
func TestCompatScalingEvents(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("svc", "svc", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("web", 1).AddTask(
		nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"300"})))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	st, meta, err := c.Jobs().ScaleStatus("svc", nil)
	if err != nil || len(st.TaskGroups["web"].Events) != 0 {
		t.Fatalf("ScaleStatus before any scale: %+v, %v", st, err)
	}

	resp, _, err := c.Jobs().Scale("svc", "web", new(3), "submitted using the Nomad CLI", false, nil, nil)
	if err != nil || resp.EvalID == "" {
		t.Fatalf("Scale: %+v, %v", resp, err)
	}
	// An autoscaler's error report: an event, no new count, no evaluation.
	errResp, _, err := c.Jobs().ScaleWithRequest("svc", &nomad.ScalingRequest{
		Target: map[string]string{"Job": "svc", "Group": "web"}, Error: true,
		Message: "failed to query source", Meta: map[string]any{"nomad_autoscaler.id": "a1", "n": 2},
	}, nil)
	if err != nil || errResp.EvalID != "" {
		t.Fatalf("ScaleWithRequest(Error): %+v, %v; want an event without evaluation", errResp, err)
	}

	// A blocking read woken by the events.
	st, _, err = c.Jobs().ScaleStatus("svc", &nomad.QueryOptions{WaitIndex: meta.LastIndex})
	if err != nil {
		t.Fatal(err)
	}
	g := st.TaskGroups["web"]
	if g.Desired != 3 || len(g.Events) != 2 {
		t.Fatalf("group status %+v, want desired 3 and 2 events", g)
	}
	newest, scaled := g.Events[0], g.Events[1]
	if !newest.Error || newest.Count != nil || newest.PreviousCount != 3 || newest.Message != "failed to query source" ||
		newest.EvalID != nil || newest.Meta["nomad_autoscaler.id"] != "a1" || newest.Meta["n"] != float64(2) {
		t.Errorf("error event %+v", newest)
	}
	if scaled.Error || scaled.Count == nil || *scaled.Count != 3 || scaled.PreviousCount != 1 ||
		scaled.Message != "submitted using the Nomad CLI" || scaled.EvalID == nil || *scaled.EvalID != resp.EvalID ||
		scaled.CreateIndex == 0 || scaled.Time == 0 || scaled.Time > newest.Time {
		t.Errorf("scale event %+v (eval %s)", scaled, resp.EvalID)
	}

	// Nomad keeps the last 20 per group, newest first.
	for i := 0; i < 22; i++ {
		if _, _, err := c.Jobs().Scale("svc", "web", nil, fmt.Sprintf("report %d", i), true, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	st, _, err = c.Jobs().ScaleStatus("svc", nil)
	if err != nil || len(st.TaskGroups["web"].Events) != 20 || st.TaskGroups["web"].Events[0].Message != "report 21" {
		t.Errorf("after 24 events: %d kept (newest %+v), %v; want 20, newest first",
			len(st.TaskGroups["web"].Events), st.TaskGroups["web"].Events[0], err)
	}
	if _, _, err := c.Jobs().Scale("svc", "web", new(2), "", true, nil, nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("Scale with a count and an error: %v, want a 400", err)
	}

	// A purged job loses its events with it.
	if _, _, err := c.Jobs().Deregister("svc", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	st, _, err = c.Jobs().ScaleStatus("svc", nil)
	if err != nil || len(st.TaskGroups["web"].Events) != 0 {
		t.Errorf("events after purge and register: %+v, %v", st.TaskGroups["web"].Events, err)
	}
}
