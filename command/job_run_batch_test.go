package command

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestBatchExitCodeRules(t *testing.T) {
	at := func(s int) time.Time { return testNow.Add(time.Duration(s) * time.Second) }
	exited := func(code, sig int, finished time.Time, failed bool, extra ...*structs.TaskEvent) *structs.TaskState {
		ev := append([]*structs.TaskEvent{{Type: structs.TaskTerminated, ExitCode: code, Signal: sig, Time: finished.UnixNano()}}, extra...)
		return &structs.TaskState{State: structs.TaskStateDead, Failed: failed, FinishedAt: finished, Events: ev}
	}
	failedAlloc := &structs.AllocListStub{ID: "a1", ClientStatus: structs.AllocClientStatusFailed, TaskStates: map[string]*structs.TaskState{
		"late":    exited(4, 0, at(5), true),
		"early":   exited(9, 0, at(1), true),
		"killed":  exited(0, 15, at(3), true),
		"sibling": exited(0, 15, at(6), false, &structs.TaskEvent{Type: structs.TaskSiblingFailed}),
		"driver":  {State: structs.TaskStateDead, Failed: true, FinishedAt: at(7), Events: []*structs.TaskEvent{{Type: structs.TaskDriverFailure, DriverError: "no such binary"}}},
	}}
	okAlloc := &structs.AllocListStub{ID: "a2", ClientStatus: structs.AllocClientStatusComplete, TaskStates: map[string]*structs.TaskState{
		"done": exited(0, 0, at(0), false),
	}}
	res := &batchResult{tasks: append(allocTaskResults(okAlloc), allocTaskResults(failedAlloc)...)}
	codes := map[string]int{}
	for _, r := range res.tasks {
		codes[r.task] = r.code
	}
	want := map[string]int{"done": 0, "late": 4, "early": 9, "killed": 128 + 15, "sibling": 0, "driver": exitFailed}
	for task, c := range want {
		if codes[task] != c {
			t.Errorf("task %q: code %d, want %d", task, codes[task], c)
		}
	}
	if code, why := res.exitCode(exitRuleFirst); code != 9 || why.task != "early" {
		t.Errorf("first: %d (%+v), want 9 from task early", code, why)
	}
	if code, why := res.exitCode(exitRuleMax); code != 143 || why.task != "killed" {
		t.Errorf("max: %d (%+v), want 143 from task killed", code, why)
	}
	stoppedAlloc := &structs.AllocListStub{ID: "a3", ClientStatus: structs.AllocClientStatusComplete,
		DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "alloc not needed due to job update",
		TaskStates: map[string]*structs.TaskState{"long": exited(0, 15, at(2), false, &structs.TaskEvent{Type: structs.TaskKilled})}}
	if r := allocTaskResults(stoppedAlloc); len(r) != 1 || r[0].code != exitFailed || !strings.Contains(r[0].why, "stopped by the server") {
		t.Errorf("a task the server stopped: %+v, want code %d saying it was stopped", r, exitFailed)
	}
	ok := &batchResult{tasks: allocTaskResults(okAlloc)}
	if code, why := ok.exitCode(exitRuleFirst); code != 0 || why != nil {
		t.Errorf("all succeeded: %d (%+v), want 0", code, why)
	}
}

func TestBatchFinalWaitsForReschedule(t *testing.T) {
	job := &structs.Job{ID: "ci", Type: structs.JobTypeBatch, TaskGroups: []*structs.TaskGroup{{Name: "g"}}}
	job.Canonicalize()
	failed := &structs.AllocListStub{ID: "a", TaskGroup: "g", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusFailed}
	if final, why := batchFinal(failed, job, testNow); final || why == "" {
		t.Errorf("failed alloc with the default batch reschedule attempt left: final %t (%q), want a wait with a reason", final, why)
	}
	failed.RescheduleTracker = &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{{RescheduleTime: testNow.Add(-time.Minute).UnixNano()}}}
	if final, _ := batchFinal(failed, job, testNow); !final {
		t.Errorf("failed alloc that used its one reschedule: not final, want final")
	}
}

// TestAllocStatusAlignsRescheduleRows: "Reschedule Eval" and "Replacement
// Alloc ID" align with the rows above them.
func TestAllocStatusAlignsRescheduleRows(t *testing.T) {
	var b strings.Builder
	c := &cli{stdout: &b, stderr: &b, now: func() time.Time { return testNow }}
	c.showAlloc(&structs.Allocation{ID: "a", JobID: "j", FollowupEvalID: "e", NextAllocation: "n",
		ClientStatus: structs.AllocClientStatusFailed, DesiredStatus: structs.AllocDesiredStatusRun}, false, nil)
	col := -1
	for _, l := range strings.Split(b.String(), "\n") {
		if l == "" {
			break
		}
		i := strings.Index(l, "=")
		if col < 0 {
			col = i
		}
		if i != col {
			t.Errorf("line %q has its '=' at %d, want %d:\n%s", l, i, col, b.String())
		}
	}
}

// TestHintOn: the CLI's hint is added for the statuses named only.
func TestHintOn(t *testing.T) {
	conflict := fmt.Errorf("revert: %w", &api.Error{StatusCode: http.StatusConflict, Message: "job is at version 3"})
	if got := hintOn(conflict, "see history", http.StatusBadRequest, http.StatusConflict); got != "see history" {
		t.Errorf("409 with 409 named: %q, want the hint", got)
	}
	if got := hintOn(conflict, "see history", http.StatusNotFound); got != "" {
		t.Errorf("409 with only 404 named: %q, want none", got)
	}
	if got := hintOn(errors.New("connection refused"), "see history", http.StatusConflict); got != "" {
		t.Errorf("a network error: %q, want none", got)
	}
}
