package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/jobspec"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestAllocLogs(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, nil)})
	f.on("GET", "/v1/allocation/"+allocID, 20, fixtureFullAlloc(runningState()))
	f.on("GET", "/v1/client/fs/logs/"+allocID, 20, logFrames("one\ntwo\nthree\n"))

	tests := []struct {
		name       string
		args       []string
		want       []string
		wantReq    string
		wantCode   int
		wantStderr string
	}{
		{name: "only task picked", args: []string{"alloc", "logs", "ef12"}, want: []string{"one", "two", "three"},
			wantReq: "GET /v1/client/fs/logs/" + allocID + "?follow=false&offset=0&origin=start&plain=false&task=hello&type=stdout"},
		{name: "tail stderr", args: []string{"alloc", "logs", "-stderr", "-tail", "-n", "2", "ef12", "hello"}, want: []string{"two", "three"},
			wantReq: "GET /v1/client/fs/logs/" + allocID + "?follow=false&offset=16384&origin=end&plain=false&task=hello&type=stderr"},
		{name: "unknown task", args: []string{"alloc", "logs", "ef12", "nosuch"}, want: []string{""}, wantCode: 1,
			wantStderr: `allocation "ef12ab34" has no task "nosuch"; its tasks are: hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"-address=" + addr}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if diff := cmp.Diff(tt.want, lines(out)); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if tt.wantReq != "" && !f.requested(tt.wantReq) {
				t.Errorf("request %q not made; requests: %q", tt.wantReq, f.requests)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantStderr)
			}
		})
	}
}

func TestAllocLogsSeveralTasks(t *testing.T) {
	f, addr := newFakeAgent(t)
	a := fixtureFullAlloc(runningState())
	a.Job.TaskGroups[0].Tasks = append(a.Job.TaskGroups[0].Tasks, &structs.Task{Name: "sidecar", Driver: "raw_exec"})
	f.on("GET", "/v1/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, nil)})
	f.on("GET", "/v1/allocation/"+allocID, 20, a)
	code, out, errOut := runCLI(t, "", "-address="+addr, "alloc", "logs", allocID)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	want := []string{`Allocation "ef12ab34" is running the following tasks:`, "  * hello", "  * sidecar"}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut, "Name one: 'nomadlike alloc logs ef12ab34 hello'") {
		t.Errorf("stderr = %q, want a hint naming a task", errOut)
	}
}

func TestJobStop(t *testing.T) {
	f, addr := newFakeAgent(t)
	job := &structs.Job{ID: "example", Name: "example", Type: "service"}
	f.on("GET", "/v1/jobs", 20, []*structs.JobListStub{job.Stub(nil)})
	f.on("GET", "/v1/job/example", 20, job)
	f.on("GET", "/v1/job/example/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, runningState())})
	stopping := fixtureAlloc("running", 22, runningState())
	stopping.DesiredStatus = structs.AllocDesiredStatusStop
	f.on("GET", "/v1/job/example/allocations", 22, []*structs.AllocListStub{stopping})
	stopped := fixtureAlloc("complete", 24, nil)
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	f.on("GET", "/v1/job/example/allocations", 24, []*structs.AllocListStub{stopped})
	f.on("DELETE", "/v1/job/example", 21, &structs.JobDeregisterResponse{EvalID: evalID, EvalCreateIndex: 21})
	ev := fixtureEval(structs.EvalStatusComplete, 22)
	ev.TriggeredBy = structs.EvalTriggerJobDeregister
	f.on("GET", "/v1/evaluation/"+evalID, 22, ev)
	f.on("GET", "/v1/evaluation/"+evalID+"/allocations", 22, []*structs.AllocListStub{})

	t.Run("prefix needs confirmation", func(t *testing.T) {
		code, out, _ := runCLI(t, "n\n", "-address="+addr, "job", "stop", "exa")
		if code != 0 || !strings.Contains(out, "Cancelling job stop") {
			t.Errorf("exit code %d, output %q; want 0 and a cancelled stop", code, out)
		}
		if f.requested("DELETE") {
			t.Errorf("job deregistered without confirmation")
		}
	})
	t.Run("stop and wait", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "job", "stop", "example")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		want := []string{
			`==> <T>: Monitoring evaluation "abcd1234"`,
			`    Evaluation triggered by job "example"`,
			`==> <T>: Evaluation "abcd1234" finished with status "complete"`,
			`==> <T>: Waiting for 1 allocation(s) to stop`,
			`    Allocation "ef12ab34" stopped: client status "complete"`,
			`==> <T>: All allocations of job "example" stopped`,
		}
		if diff := cmp.Diff(want, lines(out)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
		if !f.requested("DELETE /v1/job/example?purge=false") {
			t.Errorf("no deregistration; requests: %q", f.requests)
		}
	})
	t.Run("eval priority", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "-address="+addr, "job", "stop", "-detach", "-eval-priority", "80", "-no-shutdown-delay", "example")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		if !f.requested("DELETE /v1/job/example?eval_priority=80&no_shutdown_delay=true&purge=false") {
			t.Errorf("no deregistration with eval_priority=80 and no_shutdown_delay; requests: %q", f.requests)
		}
		if code, _, errOut := runCLI(t, "", "-address="+addr, "job", "stop", "-eval-priority", "101", "example"); code == 0 || !strings.Contains(errOut, "1 to 100") {
			t.Errorf("-eval-priority 101: exit %d, stderr %q; want a usage error", code, errOut)
		}
	})
}

func TestJobInit(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(map[bool]string{false: "full", true: "short"}[short], func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "example.nomad.hcl")
			args := []string{"job", "init"}
			if short {
				args = append(args, "-short")
			}
			code, out, errOut := runCLI(t, "", append(args, file)...)
			if code != 0 {
				t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
			}
			if !strings.Contains(out, "Example job file written to "+file) {
				t.Errorf("output = %q, want it to name the file", out)
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(src), "#"+" "); got == short {
				t.Errorf("comments present = %t, want %t", got, !short)
			}
			job, err := jobspec.ParseWithVars(file, src, nil)
			if err != nil {
				t.Fatalf("the example job does not parse: %v", err)
			}
			job.Canonicalize()
			if err := job.Validate(); err != nil {
				t.Fatalf("the example job is invalid: %v", err)
			}
			tg := job.LookupTaskGroup("hello")
			if job.Type != "service" || tg == nil || tg.Tasks[0].Driver != "raw_exec" || tg.RestartPolicy.Mode != "fail" ||
				tg.RestartPolicy.Attempts != 2 || tg.Tasks[0].Resources.MemoryMB != 64 {
				t.Errorf("example job = %+v, want a raw_exec service with restart attempts 2 mode fail and 64 MB", job)
			}

			code, _, errOut = runCLI(t, "", append(args, file)...)
			if code != 1 || !strings.Contains(errOut, "file already exists") {
				t.Errorf("second init: exit code %d, stderr %q; want 1 and a refusal", code, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}, {"-v"}} {
		code, out, _ := runCLI(t, "", args...)
		if code != 0 || out != "nomadlike v"+agent.Version+"\n" {
			t.Errorf("%v: exit code %d, output %q; want 0 and %q", args, code, out, "nomadlike v"+agent.Version+"\n")
		}
	}
}
