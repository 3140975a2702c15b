package command

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestAllocHealthLifecycle: `job run` must not call an allocation failed
// because an ephemeral prestart task exited 0, and must count it done while
// its poststop task still waits.
func TestAllocHealthLifecycle(t *testing.T) {
	job := &structs.Job{ID: "j", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g",
		Tasks: []*structs.Task{
			{Name: "init", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart}},
			{Name: "side", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPrestart, Sidecar: true}},
			{Name: "main"},
			{Name: "cleanup", Lifecycle: &structs.TaskLifecycleConfig{Hook: structs.TaskLifecycleHookPoststop}},
		},
	}}}
	term := func(code int) *structs.TaskEvent {
		return &structs.TaskEvent{Type: structs.TaskTerminated, ExitCode: code}
	}
	running := &structs.TaskState{State: structs.TaskStateRunning}
	cases := []struct {
		name        string
		states      map[string]*structs.TaskState
		wantProblem bool
		wantDone    bool
	}{
		{"prestart exited 0, others running", map[string]*structs.TaskState{
			"init":    {State: structs.TaskStateDead, Events: []*structs.TaskEvent{term(0)}},
			"side":    running,
			"main":    running,
			"cleanup": {State: structs.TaskStatePending},
		}, false, true},
		{"prestart failed", map[string]*structs.TaskState{
			"init": {State: structs.TaskStateDead, Failed: true, Events: []*structs.TaskEvent{term(1)}},
			"main": {State: structs.TaskStatePending},
		}, true, false},
		{"sidecar exited 0 is a failure in a service", map[string]*structs.TaskState{
			"init": {State: structs.TaskStateDead, Events: []*structs.TaskEvent{term(0)}},
			"side": {State: structs.TaskStateDead, Events: []*structs.TaskEvent{term(0)}},
			"main": running,
		}, true, false},
		{"main exited 0 is a failure in a service", map[string]*structs.TaskState{
			"main": {State: structs.TaskStateDead, Events: []*structs.TaskEvent{term(0)}},
		}, true, false},
		{"prestart still running", map[string]*structs.TaskState{
			"init": running,
			"main": {State: structs.TaskStatePending},
		}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &structs.AllocListStub{ID: "a", TaskGroup: "g", DesiredStatus: structs.AllocDesiredStatusRun,
				ClientStatus: structs.AllocClientStatusRunning, TaskStates: tc.states}
			if got := allocProblem(a, job) != ""; got != tc.wantProblem {
				t.Errorf("allocProblem: got problem=%v (%q), want %v", got, allocProblem(a, job), tc.wantProblem)
			}
			if !tc.wantProblem {
				if got := allocDone(a, job); got != tc.wantDone {
					t.Errorf("allocDone: got %v, want %v", got, tc.wantDone)
				}
			}
		})
	}
}
