package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const (
	depID  = "0b23b149-7a6c-4f8e-9d1a-2b3c4d5e6f70"
	depID2 = "0b23ffff-7a6c-4f8e-9d1a-2b3c4d5e6f71"
)

func fixtureDeployment(status, desc string, index uint64, g *structs.DeploymentState) *structs.Deployment {
	return &structs.Deployment{ID: depID, Namespace: "default", JobID: "example", JobVersion: 1, JobModifyIndex: 10,
		JobSpecModifyIndex: 10, Status: status, StatusDescription: desc, CreateIndex: 11, ModifyIndex: index,
		TaskGroups: map[string]*structs.DeploymentState{"hello": g}}
}

func TestDeploymentListAndStatus(t *testing.T) {
	f, addr := newFakeAgent(t)
	older := fixtureDeployment("successful", "Deployment completed successfully", 9, &structs.DeploymentState{DesiredTotal: 2, PlacedAllocs: 2, HealthyAllocs: 2})
	older.ID, older.JobVersion, older.CreateIndex = depID2, 0, 5
	cur := fixtureDeployment("running", "Deployment is running but requires manual promotion", 20, &structs.DeploymentState{
		DesiredTotal: 3, DesiredCanaries: 1, PlacedCanaries: []string{allocID}, PlacedAllocs: 1, HealthyAllocs: 1,
		RequireProgressBy: testNow.Add(9 * time.Minute)})
	f.on("GET", "/v1/deployments", 20, []*structs.Deployment{older, cur})

	code, out, errOut := runCLI(t, "", "-address="+addr, "deployment", "list")
	if code != 0 {
		t.Fatalf("list: exit %d; stderr:\n%s", code, errOut)
	}
	want := []string{
		"ID        Job ID   Job Version  Status      Description",
		"0b23b149  example  1            running     Deployment is running but requires manual promotion",
		"0b23ffff  example  0            successful  Deployment completed successfully",
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("list output mismatch (-want +got):\n%s", diff)
	}

	f, addr = newFakeAgent(t)
	f.on("GET", "/v1/deployments", 21, []*structs.Deployment{cur})
	code, out, errOut = runCLI(t, "", "-address="+addr, "deployment", "status", "0b23b")
	if code != 0 {
		t.Fatalf("status: exit %d; stderr:\n%s", code, errOut)
	}
	want = []string{
		"ID          = 0b23b149",
		"Job ID      = example",
		"Job Version = 1",
		"Status      = running",
		"Description = Deployment is running but requires manual promotion",
		"",
		"Deployed",
		"Task Group  Promoted  Desired  Canaries  Placed  Healthy  Unhealthy  Progress Deadline",
		"hello       false     3        1         1       1        0          <T>",
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("status output mismatch (-want +got):\n%s", diff)
	}
	if !f.requested("GET /v1/deployments?prefix=0b23b") {
		t.Errorf("no prefix lookup; requests: %q", f.requests)
	}
	code, out, _ = runCLI(t, "", "-address="+addr, "deployment", "status", "-json", "0b23b")
	if code != 0 || !strings.Contains(out, `"StatusDescription": "Deployment is running but requires manual promotion"`) {
		t.Errorf("status -json: exit %d, output:\n%s", code, out)
	}
}

func TestDeploymentStatusLookupErrors(t *testing.T) {
	f, addr := newFakeAgent(t)
	a := fixtureDeployment("running", "Deployment is running", 20, &structs.DeploymentState{})
	b := fixtureDeployment("failed", "Deployment marked as failed", 20, &structs.DeploymentState{})
	b.ID = depID2
	f.on("GET", "/v1/deployments", 20, []*structs.Deployment{a, b})
	code, out, errOut := runCLI(t, "", "-address="+addr, "deployment", "status", "0b23")
	if code != 1 || !strings.Contains(out, "Prefix matched multiple deployments") || !strings.Contains(out, depID2) ||
		!strings.Contains(errOut, "Give more characters") {
		t.Errorf("ambiguous prefix: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	f2, addr2 := newFakeAgent(t)
	f2.on("GET", "/v1/deployments", 20, []*structs.Deployment{})
	code, _, errOut = runCLI(t, "", "-address="+addr2, "deployment", "status", "ffff")
	if code != 1 || !strings.Contains(errOut, `No deployment(s) with prefix or id "ffff" found`) || !strings.Contains(errOut, "nomadlike deployment list") {
		t.Errorf("unknown prefix: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestDeploymentOps(t *testing.T) {
	f, addr := newFakeAgent(t)
	d := fixtureDeployment("running", "Deployment is running", 20, &structs.DeploymentState{})
	f.on("GET", "/v1/deployments", 20, []*structs.Deployment{d})
	f.on("PUT", "/v1/deployment/promote/"+depID, 21, &structs.DeploymentUpdateResponse{EvalID: evalID, Index: 21})
	f.on("PUT", "/v1/deployment/pause/"+depID, 22, &structs.DeploymentUpdateResponse{Index: 22})
	v := uint64(0)
	f.on("PUT", "/v1/deployment/fail/"+depID, 23, &structs.DeploymentUpdateResponse{EvalID: evalID, Index: 23, RevertedJobVersion: &v})

	code, out, errOut := runCLI(t, "", "-address="+addr, "deployment", "promote", "-detach", "-group", "hello", "-group=web", "0b2")
	if code != 0 {
		t.Fatalf("promote: exit %d; stderr:\n%s", code, errOut)
	}
	if diff := cmp.Diff([]string{`Deployment "0b23b149" promoted`, "Evaluation ID: " + evalID}, lines(out)); diff != "" {
		t.Errorf("promote output mismatch (-want +got):\n%s", diff)
	}
	var promote structs.DeploymentPromoteRequest
	f.mu.Lock()
	err := json.Unmarshal(f.bodies["PUT /v1/deployment/promote/"+depID], &promote)
	f.mu.Unlock()
	if err != nil || promote.DeploymentID != depID || promote.All || !cmp.Equal(promote.Groups, []string{"hello", "web"}) {
		t.Errorf("promote body = %+v (%v), want the two groups", promote, err)
	}

	code, out, _ = runCLI(t, "", "-address="+addr, "deployment", "pause", "0b2")
	if code != 0 || strings.TrimSpace(out) != `Deployment "0b23b149" paused` {
		t.Errorf("pause: exit %d, output:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "-address="+addr, "deployment", "resume", "-detach", "0b2")
	if code != 0 || strings.TrimSpace(out) != `Deployment "0b23b149" resumed` {
		t.Errorf("resume: exit %d, output:\n%s", code, out)
	}
	var pause structs.DeploymentPauseRequest
	f.mu.Lock()
	_ = json.Unmarshal(f.bodies["PUT /v1/deployment/pause/"+depID], &pause)
	f.mu.Unlock()
	if pause.Pause {
		t.Errorf("resume sent Pause = true")
	}
	code, out, _ = runCLI(t, "", "-address="+addr, "deployment", "fail", "-detach", "0b2")
	want := []string{`Deployment "0b23b149" failed`, `Job "example" reverted to version 0`, "Evaluation ID: " + evalID}
	if diff := cmp.Diff(want, lines(out)); code != 0 || diff != "" {
		t.Errorf("fail: exit %d, output mismatch (-want +got):\n%s", code, diff)
	}

	f, addr = newFakeAgent(t)
	f.on("GET", "/v1/deployments", 20, []*structs.Deployment{d})
	f.onStatus("PUT", "/v1/deployment/fail/"+depID, 24, 400, rawBody("deployment \"0b23b149\" is not active (status \"failed\")"))
	code, _, errOut = runCLI(t, "", "-address="+addr, "deployment", "fail", "0b2")
	if code != 1 || !strings.Contains(errOut, "not active") || !strings.Contains(errOut, "nomadlike deployment status 0b23b149") {
		t.Errorf("fail of a finished deployment: exit %d, stderr:\n%s", code, errOut)
	}
}

const rollingJobHCL = `
job "example" {
  datacenters = ["*"]
  group "hello" {
    count = 3
    update {
      max_parallel = 1
      canary       = 1
      auto_revert  = true
    }
    task "hello" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
      }
    }
  }
}
`

func TestJobRunFollowsFailedDeployment(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	f.on("GET", "/v1/evaluation/"+evalID, 12, fixtureEval(structs.EvalStatusComplete, 12))
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	placed := &structs.DeploymentState{AutoRevert: true, DesiredTotal: 3, DesiredCanaries: 1, PlacedCanaries: []string{allocID}, PlacedAllocs: 1}
	f.on("GET", "/v1/job/example/deployment", 12, fixtureDeployment("running", "Deployment is running but requires manual promotion", 12, placed))
	unhealthy := *placed
	unhealthy.UnhealthyAllocs = 1
	f.on("GET", "/v1/deployment/"+depID, 13, fixtureDeployment("running", "Deployment is running but requires manual promotion", 13, &unhealthy))
	f.on("GET", "/v1/deployment/"+depID, 15, fixtureDeployment("failed", "Failed due to unhealthy allocations - rolling back to job version 0", 15, &unhealthy))
	no := false
	dead := &structs.TaskState{State: structs.TaskStateDead, Failed: true, Events: []*structs.TaskEvent{
		event(structs.TaskStarted, -20*time.Second, "Task started by client"),
		event(structs.TaskTerminated, -19*time.Second, "Exit Code: 1"),
		event("Alloc Unhealthy", -19*time.Second, "Unhealthy because of failed task"),
	}}
	bad := fixtureAlloc(structs.AllocClientStatusFailed, 14, dead)
	bad.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &no, Canary: true}
	f.on("GET", "/v1/deployment/allocations/"+depID, 15, []*structs.AllocListStub{bad})
	f.on("GET", "/v1/client/fs/logs/"+allocID, 15, logFrames("config error: key \"port\" missing\n"))

	p := filepath.Join(t.TempDir(), "example.nomad.hcl")
	if err := os.WriteFile(p, []byte(rollingJobHCL), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "run", p)
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
	want := []string{
		`==> <T>: Monitoring deployment "0b23b149"`,
		`    Deployment "0b23b149" running: Deployment is running but requires manual promotion`,
		`    Group "hello": 1/3 placed, 0 healthy, 0 unhealthy, 1/1 canaries`,
		`    Group "hello": 1/3 placed, 0 healthy, 1 unhealthy, 1/1 canaries`,
		`    Deployment "0b23b149" failed: Failed due to unhealthy allocations - rolling back to job version 0`,
		`==> <T>: Deployment "0b23b149" failed: Failed due to unhealthy allocations - rolling back to job version 0`,
		`==> <T>: Allocation "ef12ab34" of group "hello" is unhealthy (canary)`,
		`    Task "hello" is "dead", failed`,
		`      <T>  Alloc Unhealthy: Unhealthy because of failed task`,
		`    Last 1 line(s) of task "hello" stderr:`,
		`      config error: key "port" missing`,
	}
	if missing, ok := containsInOrder(lines(out), want); !ok {
		t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
	}
	if !f.requested("GET /v1/deployment/" + depID + "?index=12") {
		t.Errorf("no blocking query on the deployment; requests: %q", f.requests)
	}
}

func TestJobRunFollowsSuccessfulDeployment(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	f.on("GET", "/v1/evaluation/"+evalID, 12, fixtureEval(structs.EvalStatusComplete, 12))
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	f.on("GET", "/v1/job/example/deployment", 12, fixtureDeployment("running", "Deployment is running", 12,
		&structs.DeploymentState{DesiredTotal: 3, PlacedAllocs: 1}))
	f.on("GET", "/v1/deployment/"+depID, 16, fixtureDeployment("successful", "Deployment completed successfully", 16,
		&structs.DeploymentState{DesiredTotal: 3, PlacedAllocs: 3, HealthyAllocs: 3}))
	p := filepath.Join(t.TempDir(), "example.nomad.hcl")
	if err := os.WriteFile(p, []byte(strings.Replace(rollingJobHCL, "canary       = 1", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "run", p)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
	want := []string{
		`    Group "hello": 1/3 placed, 0 healthy, 0 unhealthy`,
		`    Deployment "0b23b149" successful: Deployment completed successfully`,
		`    Group "hello": 3/3 placed, 3 healthy, 0 unhealthy`,
		`==> <T>: Deployment "0b23b149" successful`,
		`Status      = successful`,
		`Deployed`,
		`Task Group  Desired  Placed  Healthy  Unhealthy  Progress Deadline`,
		`hello       3        3       3        0          N/A`,
	}
	if missing, ok := containsInOrder(lines(out), want); !ok {
		t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
	}
}
