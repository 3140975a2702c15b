package command

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestJobRunSuccess(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	f.on("GET", "/v1/evaluation/"+evalID, 10, fixtureEval(structs.EvalStatusPending, 10))
	f.on("GET", "/v1/evaluation/"+evalID, 12, fixtureEval(structs.EvalStatusComplete, 12))
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	f.on("GET", "/v1/job/example/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	f.on("GET", "/v1/job/example/allocations", 14, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusRunning, 14, runningState())})

	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "run", "-min-healthy-time=0s", writeJobFile(t))
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
	}
	want := []string{
		`==> <T>: Monitoring evaluation "abcd1234"`,
		`    Evaluation triggered by job "example"`,
		`    Evaluation status changed: "pending" -> "complete"`,
		`    Allocation "ef12ab34" created: node "9f8e7d6c", group "hello"`,
		`==> <T>: Evaluation "abcd1234" finished with status "complete"`,
		`==> <T>: Waiting for 1 allocation(s) to be running`,
		`    Allocation "ef12ab34" status changed: "pending" -> "running"`,
		`==> <T>: All 1 allocation(s) are running`,
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
	var req structs.JobRegisterRequest
	f.mu.Lock()
	body := f.bodies["PUT /v1/jobs"]
	f.mu.Unlock()
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("register body: %v", err)
	}
	if req.Job == nil || req.Job.ID != "example" || req.EnforceIndex {
		t.Errorf("registered job = %+v (EnforceIndex %t), want job \"example\" without EnforceIndex", req.Job, req.EnforceIndex)
	}
	if !f.requested("GET /v1/evaluation/" + evalID + "?index=10") {
		t.Errorf("no blocking query on the evaluation with index=10; requests: %q", f.requests)
	}
}

func TestJobRunPlacementFailure(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	ev := fixtureEval(structs.EvalStatusComplete, 12)
	ev.BlockedEval = evalID2
	ev.FailedTGAllocs = map[string]*structs.AllocMetric{"hello": {
		NodesEvaluated: 3, NodesFiltered: 1, NodesExhausted: 2, CoalescedFailures: 2,
		NodesAvailable:     map[string]int{"dc1": 3},
		ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 1},
		DimensionExhausted: map[string]int{"memory": 2},
	}}
	f.on("GET", "/v1/evaluation/"+evalID, 12, ev)
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{})

	code, out, errOut := runCLI(t, "", "-address", addr, "job", "run", writeJobFile(t))
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr:\n%s", code, errOut)
	}
	want := []string{
		`==> <T>: Monitoring evaluation "abcd1234"`,
		`    Evaluation triggered by job "example"`,
		`==> <T>: Evaluation "abcd1234" finished with status "complete" but failed to place all allocations:`,
		`    Task Group "hello" (failed to place 3 allocations):`,
		`      * Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter`,
		`      * Resources exhausted on 2 nodes`,
		`      * Dimension "memory" exhausted on 2 nodes`,
		"      Hint: the job's constraints exclude nodes: compare them with the nodes' attributes ('nomadlike node status -verbose <node>'), or relax them",
		`    Evaluation "abcd5678" waiting for additional capacity to place remainder`,
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

func TestJobRunAllocationFails(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	f.on("GET", "/v1/evaluation/"+evalID, 12, fixtureEval(structs.EvalStatusComplete, 12))
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	dead := &structs.TaskState{State: structs.TaskStateDead, Failed: true, Restarts: 2, Events: []*structs.TaskEvent{
		event(structs.TaskStarted, -20*time.Second, "Task started by client"),
		{Type: structs.TaskTerminated, Time: testNow.Add(-19 * time.Second).UnixNano(), ExitCode: 3},
		event(structs.TaskNotRestarting, -5*time.Second, "Exceeded allowed attempts 2 in interval 1m0s and mode is \"fail\""),
	}}
	f.on("GET", "/v1/job/example/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	f.on("GET", "/v1/job/example/allocations", 20, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusFailed, 20, dead)})
	var stderr strings.Builder
	for i := 1; i <= 12; i++ {
		stderr.WriteString("line " + string(rune('a'+i-1)) + "\n")
	}
	f.on("GET", "/v1/client/fs/logs/"+allocID, 20, logFrames(stderr.String()))

	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "run", "-min-healthy-time=0s", writeJobFile(t))
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr:\n%s", code, errOut)
	}
	want := []string{
		`    Allocation "ef12ab34" status changed: "pending" -> "failed"`,
		`==> <T>: Allocation "ef12ab34" failed: task "hello" exited (Exit Code: 3)`,
		`    Task "hello" is "dead", failed, 2 restart(s)`,
		`    Task events:`,
		`      <T>  Started: Task started by client`,
		`      <T>  Terminated: Exit Code: 3`,
		`      <T>  Not Restarting: Exceeded allowed attempts 2 in interval 1m0s and mode is "fail"`,
		`    Last 10 line(s) of task "hello" stderr:`,
		`      line c`,
		`      line l`,
		`    Hint: see 'nomadlike alloc status ef12ab34' and 'nomadlike alloc logs -stderr ef12ab34 hello'`,
	}
	if missing, ok := containsInOrder(lines(out), want); !ok {
		t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
	}
	if !f.requested("GET /v1/client/fs/logs/" + allocID) {
		t.Errorf("stderr was not read; requests: %q", f.requests)
	}
	if strings.Contains(out, "line b\n") {
		t.Errorf("output shows more than the last 10 stderr lines:\n%s", out)
	}
}

func TestJobRunCatchesEarlyRestart(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	f.on("GET", "/v1/evaluation/"+evalID, 12, fixtureEval(structs.EvalStatusComplete, 12))
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 12, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusPending, 12, nil)})
	restarted := runningState()
	restarted.Restarts = 1
	restarted.Events = append(restarted.Events,
		&structs.TaskEvent{Type: structs.TaskTerminated, Time: testNow.UnixNano(), ExitCode: 1},
		event(structs.TaskRestarting, 0, "Task restarting in 5s"))
	f.on("GET", "/v1/job/example/allocations", 14, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusRunning, 14, runningState())})
	f.on("GET", "/v1/job/example/allocations", 16, []*structs.AllocListStub{fixtureAlloc(structs.AllocClientStatusRunning, 16, restarted)})
	f.on("GET", "/v1/client/fs/logs/"+allocID, 16, logFrames("sh: 1: nosuchcmd: not found\n"))

	code, out, errOut := runCLI(t, "", "-address="+addr, "job", "run", writeJobFile(t))
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr:\n%s", code, errOut)
	}
	want := []string{
		`==> <T>: All 1 allocation(s) are running; watching them for 5s to catch early exits`,
		`==> <T>: Allocation "ef12ab34" failed: task "hello" exited (Exit Code: 1)`,
		`      sh: 1: nosuchcmd: not found`,
	}
	if missing, ok := containsInOrder(lines(out), want); !ok {
		t.Errorf("output lacks %q (in order); got:\n%s", missing, out)
	}
}

func TestJobRunErrors(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.onStatus("PUT", "/v1/jobs", 0, 409, rawBody("job modify index 7 does not match 3"))
	bad := t.TempDir() + "/bad.nomad.hcl"
	if err := writeFile(bad, "job \"x\" {\n  group \"g\" {\n    count = \n  }\n}\n"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{"missing file", []string{"job", "run", "/nonexistent/x.hcl"}, []string{
			"Error reading job file /nonexistent/x.hcl: open /nonexistent/x.hcl: no such file or directory",
			"Check the path; 'nomadlike job init' writes an example job file."}},
		{"syntax error with position", []string{"job", "run", bad}, []string{"Error parsing job file " + bad + ": " + bad + ":3:"}},
		{"bad var", []string{"job", "run", "-var", "novalue", bad}, []string{`Error in command line: -var "novalue" is not of the form key=value`}},
		{"check-index conflict", []string{"job", "run", "-check-index=3", writeJobFile(t)}, []string{
			`Error submitting job "example": PUT /v1/jobs: 409 Conflict: job modify index 7 does not match 3`,
			"Review what changed with 'nomadlike job plan <file>'"}},
		{"unknown flag", []string{"job", "run", "-nosuch", "x"}, []string{"Error in command line: unknown flag: --nosuch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", append([]string{"-address=" + addr}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1; stderr:\n%s", code, errOut)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q; got:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestJobRunAgentDown(t *testing.T) {
	// Nothing listens on port 1 of the loopback address.
	code, _, errOut := runCLI(t, "", "-address=http://127.0.0.1:1", "job", "run", writeJobFile(t))
	if code != 1 {
		t.Fatalf("exit code = %d, want 1", code)
	}
	for _, w := range []string{`Error submitting job "example"`, "Is a nomadlike agent running at http://127.0.0.1:1?"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q; got:\n%s", w, errOut)
		}
	}
}

func TestJobRunDetachAndStdin(t *testing.T) {
	f, addr := newFakeAgent(t)
	registerOK(f)
	code, out, errOut := runCLI(t, exampleJob, "-address="+addr, "job", "run", "-detach", "-")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
	}
	want := []string{"Job registration successful", "Evaluation ID: " + evalID}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}
