package agent

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatOfficialClientDeployments drives the deployment endpoints with
// HashiCorp's official Go client: a service job with an update block gets
// a deployment that every read decodes, that pauses, resumes and fails.
func TestCompatOfficialClientDeployments(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("web", "web", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"300"})
	task.Resources = &nomad.Resources{CPU: new(int), MemoryMB: new(int)}
	*task.Resources.CPU, *task.Resources.MemoryMB = 20, 16
	tg := nomad.NewTaskGroup("g", 1).AddTask(task)
	tg.Update = &nomad.UpdateStrategy{MaxParallel: new(int), MinHealthyTime: new(time.Duration), HealthyDeadline: new(time.Duration), ProgressDeadline: new(time.Duration)}
	*tg.Update.MaxParallel, *tg.Update.MinHealthyTime, *tg.Update.HealthyDeadline, *tg.Update.ProgressDeadline = 1, time.Hour, 2*time.Hour, 3*time.Hour
	job.AddTaskGroup(tg)
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	var depID string
	waitFor(t, "the job's deployment", 30*time.Second, func() (bool, string) {
		d, _, err := c.Jobs().LatestDeployment("web", nil)
		if err != nil {
			return false, err.Error()
		}
		if d == nil {
			return false, "no deployment"
		}
		depID = d.ID
		return true, ""
	})
	d, _, err := c.Deployments().Info(depID, nil)
	if err != nil || d.JobID != "web" || d.Status != "running" || d.TaskGroups["g"] == nil || d.TaskGroups["g"].DesiredTotal != 1 {
		t.Fatalf("Deployments().Info: got %+v, %v", d, err)
	}
	list, _, err := c.Deployments().PrefixList(depID[:4])
	if err != nil || len(list) != 1 || list[0].ID != depID {
		t.Fatalf("Deployments().PrefixList: got %v, %v", list, err)
	}
	byJob, _, err := c.Jobs().Deployments("web", false, nil)
	if err != nil || len(byJob) != 1 || byJob[0].ID != depID {
		t.Fatalf("Jobs().Deployments: got %v, %v", byJob, err)
	}
	waitFor(t, "the deployment's allocation", 30*time.Second, func() (bool, string) {
		allocs, _, err := c.Deployments().Allocations(depID, nil)
		if err != nil {
			return false, err.Error()
		}
		return len(allocs) == 1, "allocations: " + strconv.Itoa(len(allocs))
	})
	// A blocking read of the deployment wakes when it is paused.
	_, meta, err := c.Deployments().Info(depID, nil)
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan *nomad.Deployment, 1)
	go func() {
		d, _, _ := c.Deployments().Info(depID, &nomad.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		woke <- d
	}()
	if _, _, err := c.Deployments().Pause(depID, true, nil); err != nil {
		t.Fatalf("Deployments().Pause: %v", err)
	}
	select {
	case d := <-woke:
		if d == nil || d.Status != "paused" {
			t.Fatalf("blocking read after Pause: %+v, want status paused", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("a blocking read of the deployment did not wake within 20s of the pause")
	}
	if _, _, err := c.Deployments().Pause(depID, false, nil); err != nil {
		t.Fatalf("Deployments().Pause(false): %v", err)
	}
	resp, _, err := c.Deployments().Fail(depID, nil)
	if err != nil || resp.EvalID == "" {
		t.Fatalf("Deployments().Fail: got %+v, %v", resp, err)
	}
	if d, _, _ := c.Deployments().Info(depID, nil); d.Status != "failed" || d.StatusDescription != "Deployment marked as failed" {
		t.Fatalf("after Fail: status %q (%q), want failed", d.Status, d.StatusDescription)
	}

	// User mistakes are 4xx that say what to do.
	base := "http://" + a.HTTPAddr()
	for _, tc := range []struct{ method, path, body, want string }{
		{http.MethodGet, "/v1/deployment/nope", "", "not found"},
		{http.MethodGet, "/v1/deployment/allocations/nope", "", "not found"},
		{http.MethodPut, "/v1/deployment/pause/" + depID, `{"DeploymentID":"other"}`, "does not match"},
		{http.MethodPut, "/v1/deployment/pause/" + depID, `{"Pause":`, "JSON"},
		{http.MethodPut, "/v1/deployment/allocation-health/" + depID, `{}`, "at least one allocation"},
		{http.MethodPut, "/v1/deployment/promote/" + depID, `{"Eval":{}}`, "set by the server"},
	} {
		code, _, body := do(t, tc.method, base+tc.path, tc.body)
		if code < 400 || code >= 500 || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %s; want 4xx containing %q", tc.method, tc.path, tc.body, code, body, tc.want)
		}
	}
	if code, _, body := do(t, http.MethodGet, base+"/v1/job/nope/deployment", ""); code != http.StatusNotFound {
		t.Errorf("GET /v1/job/nope/deployment: %d %s, want 404", code, body)
	}
}
