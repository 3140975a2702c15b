package agent

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// sleepJob is a service job of count raw_exec tasks running sleep secs.
func sleepJob(id string, count int, secs string) *nomad.Job {
	job := nomad.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("server", "raw_exec").
		SetConfig("command", "/bin/sleep").
		SetConfig("args", []string{secs})
	task.Require(&nomad.Resources{CPU: intp(50), MemoryMB: intp(32)})
	job.AddTaskGroup(nomad.NewTaskGroup("web", count).AddTask(task))
	return job
}

func intp(i int) *int { return &i }

// TestCompatJobPlan checks that the official client's Jobs().Plan decodes
// every field job plan needs: Diff (with annotations), DesiredTGUpdates,
// FailedTGAllocs and JobModifyIndex.
func TestCompatJobPlan(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dev node to be ready", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		return len(nodes) == 1 && nodes[0].Status == "ready", "no ready node"
	})

	// A new job: everything is added and created.
	plan, _, err := c.Jobs().Plan(sleepJob("plan", 1, "1000"), true, nil)
	if err != nil {
		t.Fatalf("Jobs().Plan(new job): %v", err)
	}
	if plan.Diff == nil || plan.Diff.Type != "Added" || plan.JobModifyIndex != 0 {
		t.Fatalf("plan of a new job: got diff %+v, JobModifyIndex %d; want an Added diff and index 0", plan.Diff, plan.JobModifyIndex)
	}
	if du := plan.Annotations.DesiredTGUpdates["web"]; du == nil || du.Place != 1 {
		t.Errorf("DesiredTGUpdates[web] = %+v, want Place 1", du)
	}

	reg, _, err := c.Jobs().Register(sleepJob("plan", 1, "1000"), nil)
	if err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	waitFor(t, "an allocation of job plan", 30*time.Second, func() (bool, string) {
		allocs, _, err := c.Jobs().Allocations("plan", false, nil)
		if err != nil {
			return false, err.Error()
		}
		return len(allocs) == 1, "no allocation yet"
	})
	info, _, err := c.Jobs().Info("plan", nil)
	if err != nil {
		t.Fatalf("Jobs().Info: %v", err)
	}

	// A changed command replaces the allocation.
	plan, _, err = c.Jobs().Plan(sleepJob("plan", 1, "2000"), true, nil)
	if err != nil {
		t.Fatalf("Jobs().Plan(edited job): %v", err)
	}
	if plan.JobModifyIndex != *info.JobModifyIndex || plan.JobModifyIndex != reg.JobModifyIndex {
		t.Errorf("JobModifyIndex = %d, want %d (the job's)", plan.JobModifyIndex, *info.JobModifyIndex)
	}
	if plan.Diff == nil || plan.Diff.Type != "Edited" || len(plan.Diff.TaskGroups) != 1 {
		t.Fatalf("diff = %+v, want Edited with one group", plan.Diff)
	}
	tg := plan.Diff.TaskGroups[0]
	if tg.Name != "web" || tg.Updates["create/destroy update"] != 1 || len(tg.Tasks) != 1 {
		t.Fatalf("group diff = %+v, want web with 1 create/destroy update", tg)
	}
	task := tg.Tasks[0]
	if got := strings.Join(task.Annotations, ","); got != "forces create/destroy update" {
		t.Errorf("task annotations = %q, want %q", got, "forces create/destroy update")
	}
	var config *nomad.ObjectDiff
	for _, o := range task.Objects {
		if o.Name == "Config" {
			config = o
		}
	}
	if config == nil {
		t.Fatalf("task diff objects = %+v, want a Config object", task.Objects)
	}
	found := false
	for _, f := range config.Fields {
		if f.Name == "args[0]" && f.Type == "Edited" && f.Old == "1000" && f.New == "2000" {
			found = true
		}
	}
	if !found {
		t.Errorf("Config fields = %+v, want args[0] edited from 1000 to 2000", config.Fields)
	}
	if du := plan.Annotations.DesiredTGUpdates["web"]; du == nil || du.DestructiveUpdate != 1 {
		t.Errorf("DesiredTGUpdates[web] = %+v, want DestructiveUpdate 1", du)
	}
	if len(plan.FailedTGAllocs) != 0 {
		t.Errorf("FailedTGAllocs = %+v, want none", plan.FailedTGAllocs)
	}

	// A job too big for the node reports why, with the metric.
	big := sleepJob("big", 1, "1000")
	big.TaskGroups[0].Tasks[0].Resources.MemoryMB = intp(10_000_000)
	plan, _, err = c.Jobs().Plan(big, true, nil)
	if err != nil {
		t.Fatalf("Jobs().Plan(big job): %v", err)
	}
	m := plan.FailedTGAllocs["web"]
	if m == nil || m.NodesEvaluated != 1 || m.NodesExhausted != 1 || m.DimensionExhausted["memory"] != 1 {
		t.Errorf("FailedTGAllocs[web] = %+v, want 1 node evaluated and exhausted on memory", m)
	}
	if len(plan.CreatedEvals) != 1 || plan.CreatedEvals[0].Status != "blocked" {
		t.Errorf("CreatedEvals = %+v, want one blocked eval", plan.CreatedEvals)
	}
	if _, _, err := c.Jobs().Info("big", nil); err == nil {
		t.Errorf("job big exists after plan: plan must not register it")
	}
}

// capableFake adds the optional capabilities (plan, revert, stable) to
// fakeServer and records the requests they get.
type capableFake struct {
	*fakeServer
	plans   []*structs.JobPlanRequest
	reverts []*structs.JobRevertRequest
	stables []*structs.JobStabilityRequest
}

func (f *capableFake) PlanJob(_ context.Context, req *structs.JobPlanRequest) (*structs.JobPlanResponse, error) {
	f.plans = append(f.plans, req)
	return &structs.JobPlanResponse{JobModifyIndex: 7, Index: 9}, nil
}

func (f *capableFake) RevertJob(_ context.Context, req *structs.JobRevertRequest) (*structs.JobRegisterResponse, error) {
	f.reverts = append(f.reverts, req)
	return &structs.JobRegisterResponse{EvalID: "e", Index: 10}, nil
}

func (f *capableFake) StableJob(_ context.Context, req *structs.JobStabilityRequest) (*structs.JobStabilityResponse, error) {
	f.stables = append(f.stables, req)
	return &structs.JobStabilityResponse{Index: 11}, nil
}

// TestHTTPJobPlanErrors checks that user mistakes get a 4xx naming the
// problem, and that a server lacking the capability answers 501.
func TestHTTPJobPlanErrors(t *testing.T) {
	plain := testAPI(t, newFakeServer(t), nil)
	capable := &capableFake{fakeServer: newFakeServer(t)}
	srv := testAPI(t, capable.fakeServer, func(c *HTTPConfig) { c.Server = capable })
	cases := []struct {
		name, url, body string
		want            int
		wantMsg         string
	}{
		{"server without plan", plain.URL + "/v1/job/x/plan", `{"Job":{"ID":"x"}}`, http.StatusNotImplemented, "does not support job plan"},
		{"server without revert", plain.URL + "/v1/job/x/revert", `{"JobVersion":0}`, http.StatusNotImplemented, "does not support job revert"},
		{"server without stable", plain.URL + "/v1/job/x/stable", `{"JobVersion":0}`, http.StatusNotImplemented, "does not support marking"},
		{"no job", srv.URL + "/v1/job/x/plan", `{"Diff":true}`, http.StatusBadRequest, "no Job"},
		{"id mismatch", srv.URL + "/v1/job/x/plan", `{"Job":{"ID":"y"}}`, http.StatusBadRequest, `"y" in the body does not match "x"`},
		{"bad json", srv.URL + "/v1/job/x/plan", `{"Job":`, http.StatusBadRequest, ""},
		{"all namespaces", srv.URL + "/v1/job/x/plan?namespace=*", `{"Job":{"ID":"x"}}`, http.StatusBadRequest, "namespace"},
		{"revert id mismatch", srv.URL + "/v1/job/x/revert", `{"JobID":"y","JobVersion":1}`, http.StatusBadRequest, `"y" in the body does not match "x"`},
		{"stable all namespaces", srv.URL + "/v1/job/x/stable?namespace=*", `{"JobVersion":1}`, http.StatusBadRequest, "namespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := do(t, http.MethodPut, tc.url, tc.body)
			if code != tc.want || !strings.Contains(body, tc.wantMsg) {
				t.Errorf("PUT %s = %d %q, want %d containing %q", tc.url, code, body, tc.want, tc.wantMsg)
			}
		})
	}

	// Valid requests reach the server with the path's ID and the namespace.
	code, hdr, body := do(t, http.MethodPut, srv.URL+"/v1/job/x/plan?namespace=prod", `{"Job":{"ID":"x"},"Diff":true}`)
	if code != http.StatusOK || hdr.Get("X-Nomad-Index") != "9" || !strings.Contains(body, `"JobModifyIndex":7`) {
		t.Errorf("plan = %d %q (index %q), want 200 with JobModifyIndex 7 and X-Nomad-Index 9", code, body, hdr.Get("X-Nomad-Index"))
	}
	if len(capable.plans) != 1 || !capable.plans[0].Diff || capable.plans[0].Job.Namespace != "prod" {
		t.Errorf("plan requests = %+v, want one with Diff and namespace prod", capable.plans)
	}
	if code, _, body := do(t, http.MethodPut, srv.URL+"/v1/job/x/revert", `{"JobVersion":2}`); code != http.StatusOK {
		t.Errorf("revert = %d %q, want 200", code, body)
	}
	if len(capable.reverts) != 1 || capable.reverts[0].JobID != "x" || capable.reverts[0].Namespace != "default" || capable.reverts[0].JobVersion != 2 {
		t.Errorf("revert requests = %+v, want job x version 2 in namespace default", capable.reverts)
	}
	if code, _, body := do(t, http.MethodPut, srv.URL+"/v1/job/x/stable", `{"JobVersion":1,"Stable":true}`); code != http.StatusOK {
		t.Errorf("stable = %d %q, want 200", code, body)
	}
	if len(capable.stables) != 1 || capable.stables[0].JobID != "x" || !capable.stables[0].Stable {
		t.Errorf("stable requests = %+v, want job x stable", capable.stables)
	}
}
