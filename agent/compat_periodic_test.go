package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatPeriodicDispatchScale drives periodic force, dispatch, scale and
// scale status with HashiCorp's official Go client, including reads of a
// child job whose ID holds a "/".
func TestCompatPeriodicDispatchScale(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	task := func() *nomad.Task {
		return nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c", "echo hi"})
	}

	// Periodic: registered without an evaluation, forced by the client.
	cron := nomad.NewBatchJob("cron", "cron", "global", 50)
	cron.Periodic = &nomad.PeriodicConfig{Enabled: new(true), Spec: new("0 0 1 1 *"), SpecType: new("cron")}
	cron.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task()))
	reg, _, err := c.Jobs().Register(cron, nil)
	if err != nil {
		t.Fatalf("Register periodic: %v", err)
	}
	if reg.EvalID != "" {
		t.Errorf("periodic register EvalID = %q, want none", reg.EvalID)
	}
	evalID, _, err := c.Jobs().PeriodicForce("cron", nil)
	if err != nil || evalID == "" {
		t.Fatalf("PeriodicForce: %q, %v", evalID, err)
	}
	ev, _, err := c.Evaluations().Info(evalID, nil)
	if err != nil || !strings.HasPrefix(ev.JobID, "cron/periodic-") {
		t.Fatalf("eval of the forced launch: %+v, %v", ev, err)
	}
	child, _, err := c.Jobs().Info(ev.JobID, nil)
	if err != nil || child.ParentID == nil || *child.ParentID != "cron" {
		t.Fatalf("Jobs().Info(%q) (an ID with a slash): %+v, %v", ev.JobID, child, err)
	}
	if _, _, err := c.Jobs().Allocations(ev.JobID, false, nil); err != nil {
		t.Errorf("Jobs().Allocations(%q): %v", ev.JobID, err)
	}

	// Parameterized: dispatch with meta and a payload.
	param := nomad.NewBatchJob("param", "param", "global", 50)
	param.ParameterizedJob = &nomad.ParameterizedJobConfig{Payload: "optional", MetaRequired: []string{"who"}}
	param.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task()))
	if _, _, err := c.Jobs().Register(param, nil); err != nil {
		t.Fatalf("Register parameterized: %v", err)
	}
	disp, _, err := c.Jobs().Dispatch("param", map[string]string{"who": "compat"}, []byte("payload"), "", nil)
	if err != nil || disp.EvalID == "" || !strings.HasPrefix(disp.DispatchedJobID, "param/dispatch-") {
		t.Fatalf("Dispatch: %+v, %v", disp, err)
	}
	dj, _, err := c.Jobs().Info(disp.DispatchedJobID, nil)
	if err != nil || !dj.Dispatched || string(dj.Payload) != "payload" || dj.Meta["who"] != "compat" {
		t.Errorf("dispatched job: %+v, %v", dj, err)
	}
	if _, _, err := c.Jobs().Dispatch("param", nil, nil, "", nil); err == nil || !strings.Contains(err.Error(), "who") {
		t.Errorf("Dispatch without required meta: err = %v, want one naming the key", err)
	}

	// Scale a service job and read its scale status.
	svc := nomad.NewServiceJob("svc", "svc", "global", 50)
	svc.AddTaskGroup(nomad.NewTaskGroup("web", 1).AddTask(
		nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"300"})))
	if _, _, err := c.Jobs().Register(svc, nil); err != nil {
		t.Fatalf("Register service: %v", err)
	}
	sc, _, err := c.Jobs().Scale("svc", "web", new(2), "compat", false, nil, nil)
	if err != nil || sc.EvalID == "" {
		t.Fatalf("Scale: %+v, %v", sc, err)
	}
	waitFor(t, "two running allocations", 60*time.Second, func() (bool, string) {
		st, _, err := c.Jobs().ScaleStatus("svc", nil)
		if err != nil {
			return false, err.Error()
		}
		g := st.TaskGroups["web"]
		return g.Desired == 2 && g.Running == 2, fmt.Sprintf("scale status %+v", g)
	})
	if _, _, err := c.Jobs().Scale("svc", "nope", new(1), "", false, nil, nil); err == nil || !strings.Contains(err.Error(), `"web"`) {
		t.Errorf("Scale of an unknown group: err = %v, want one listing the groups", err)
	}

	// User mistakes are 4xx naming the fix, never 500s.
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"force of a service job", second(c.Jobs().PeriodicForce("svc", nil)), "400"},
		{"force of an unknown job", second(c.Jobs().PeriodicForce("nope", nil)), "404"},
		{"dispatch of a periodic job", second(c.Jobs().Dispatch("cron", nil, nil, "", nil)), "not parameterized"},
		{"scale of a periodic job", second(c.Jobs().Scale("cron", "g", new(2), "", false, nil, nil)), "periodic or parameterized"},
		{"scale with a count and an error", second(c.Jobs().Scale("svc", "web", new(1), "", true, nil, nil)), "should not contain count"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || strings.Contains(tc.err.Error(), "500") {
			t.Errorf("%s: err = %v, want a 4xx mentioning %q", tc.what, tc.err, tc.want)
		}
	}
}

// second returns the error of a call returning (value, meta, error).
func second[V, M any](_ V, _ M, err error) error { return err }
