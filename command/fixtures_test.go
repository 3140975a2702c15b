package command

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Recorded-style fixtures: the objects a real agent returns for the example job.
const (
	evalID  = "abcd1234-0000-4000-8000-000000000001"
	evalID2 = "abcd5678-0000-4000-8000-000000000002"
	allocID = "ef12ab34-0000-4000-8000-000000000003"
	nodeID  = "9f8e7d6c-0000-4000-8000-000000000004"
)

func fixtureEval(status string, index uint64) *structs.Evaluation {
	return &structs.Evaluation{
		ID: evalID, Namespace: "default", Priority: 50, Type: "service", TriggeredBy: structs.EvalTriggerJobRegister,
		JobID: "example", Status: status, CreateIndex: 10, ModifyIndex: index,
		CreateTime: testNow.Add(-time.Minute).UnixNano(), ModifyTime: testNow.Add(-59 * time.Second).UnixNano(),
	}
}

func fixtureAlloc(clientStatus string, index uint64, ts *structs.TaskState) *structs.AllocListStub {
	a := &structs.AllocListStub{
		ID: allocID, EvalID: evalID, Name: "example.hello[0]", Namespace: "default", NodeID: nodeID, NodeName: "node1",
		JobID: "example", JobType: "service", TaskGroup: "hello", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus: clientStatus, CreateIndex: 11, ModifyIndex: index,
		CreateTime: testNow.Add(-50 * time.Second).UnixNano(), ModifyTime: testNow.Add(-12 * time.Second).UnixNano(),
	}
	if ts != nil {
		a.TaskStates = map[string]*structs.TaskState{"hello": ts}
	}
	return a
}

func event(typ string, offset time.Duration, msg string) *structs.TaskEvent {
	return &structs.TaskEvent{Type: typ, Time: testNow.Add(offset).UnixNano(), DisplayMessage: msg}
}

func runningState() *structs.TaskState {
	return &structs.TaskState{State: structs.TaskStateRunning, Events: []*structs.TaskEvent{
		event(structs.TaskReceived, -50*time.Second, "Task received by client"),
		event(structs.TaskStarted, -49*time.Second, "Task started by client"),
	}}
}

func fixtureFullAlloc(ts *structs.TaskState) *structs.Allocation {
	s := fixtureAlloc(structs.AllocClientStatusRunning, 14, ts)
	return &structs.Allocation{
		ID: s.ID, EvalID: s.EvalID, Name: s.Name, Namespace: s.Namespace, NodeID: s.NodeID, NodeName: s.NodeName,
		JobID: s.JobID, TaskGroup: s.TaskGroup, DesiredStatus: s.DesiredStatus, ClientStatus: s.ClientStatus,
		ClientDescription: "Tasks are running", TaskStates: s.TaskStates, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
		CreateTime: s.CreateTime, ModifyTime: s.ModifyTime,
		Job: &structs.Job{ID: "example", Type: "service", Version: 2, TaskGroups: []*structs.TaskGroup{{Name: "hello",
			Tasks: []*structs.Task{{Name: "hello", Driver: "raw_exec"}}}}},
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"hello": {Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}}},
			Shared: structs.AllocatedSharedResources{DiskMB: 300}},
	}
}

// writeJobFile writes the example job into a temp dir and returns its path.
func writeJobFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "example.nomad.hcl")
	if err := os.WriteFile(p, []byte(exampleJob), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// registerOK records a successful registration of the example job.
func registerOK(f *fakeAgent) {
	f.on("PUT", "/v1/jobs", 10, &structs.JobRegisterResponse{EvalID: evalID, EvalCreateIndex: 10, JobModifyIndex: 10, Index: 10})
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
