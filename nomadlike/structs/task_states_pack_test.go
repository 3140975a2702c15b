package structs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// taskStateCases are task states PackTaskStates must give back exactly:
// every event field set, times zero, UTC, Local and in fixed zones, nil
// and empty maps, slices and entries.
func taskStateCases() map[string]map[string]*TaskState {
	at := time.Unix(1700000000, 123456789)
	full := &TaskEvent{Type: TaskTerminated, Time: at.UnixNano(), DisplayMessage: "Exit Code: 2", Details: map[string]string{"exit_code": "2", "": "x"},
		Message: "exited", FailsTask: true, RestartReason: "r", SetupError: "s", DriverError: "d", ExitCode: -2, Signal: 9,
		KillReason: "k", KillTimeout: 5 * time.Second, KillError: "ke", StartDelay: -1}
	return map[string]map[string]*TaskState{
		"running": {"server": {State: TaskStateRunning, StartedAt: at.UTC(),
			Events: []*TaskEvent{NewTaskEvent(TaskReceived, at, "Task received by client"), NewTaskEvent(TaskStarted, at, "Task started by client")}}},
		"every field": {"a": {State: TaskStateDead, Failed: true, Restarts: 300, LastRestart: at.In(time.FixedZone("", 3600)),
			StartedAt: at.Local(), FinishedAt: at.In(time.FixedZone("XST", -5*3600-1800)), Events: []*TaskEvent{full, nil, {}}},
			"b": {Events: []*TaskEvent{}}, "c": nil, "": {State: "pending"}},
		"empty": {},
	}
}

// TestPackTaskStatesKeepsEncodings: an allocation with packed task states
// reads them back (TaskStateMap, Copy, Stub) and encodes in JSON and both
// msgpack handles to the same bytes as with them unpacked.
func TestPackTaskStatesKeepsEncodings(t *testing.T) {
	for name, states := range taskStateCases() {
		t.Run(name, func(t *testing.T) {
			a := &Allocation{ID: "a", ClientStatus: AllocClientStatusRunning, TaskStates: states}
			p := *a
			p.PackTaskStates()
			if p.TaskStates != nil || p.packedTaskStates == "" {
				t.Fatalf("not packed")
			}
			if diff := cmp.Diff(states, p.TaskStateMap()); diff != "" {
				t.Errorf("TaskStateMap (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(states, p.Copy().TaskStates); diff != "" {
				t.Errorf("Copy (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(states, p.Stub().TaskStates); diff != "" {
				t.Errorf("Stub (-want +got):\n%s", diff)
			}
			checkSameEncodings(t, a, &p)
		})
	}
}

// TestPackTaskStatesLeavesNamedZones: a time in a named zone (which a
// fixed zone cannot give back) leaves the task states unpacked.
func TestPackTaskStatesLeavesNamedZones(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	a := &Allocation{TaskStates: map[string]*TaskState{"t": {StartedAt: time.Unix(1700000000, 0).In(loc)}}}
	a.PackTaskStates()
	if a.TaskStates == nil || a.packedTaskStates != "" {
		t.Errorf("packed a time in %s", loc)
	}
}

// TestPackTaskStatesIsSmaller: the point of packing. A running task with
// one event took ~584 bytes of objects (a one-entry map ~256, the
// TaskState 128, the event 192, its slice 8); packed, it is one string
// under 100.
func TestPackTaskStatesIsSmaller(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	a := &Allocation{TaskStates: map[string]*TaskState{"server": {State: TaskStateRunning, StartedAt: now,
		Events: []*TaskEvent{NewTaskEvent(TaskStarted, now, "Task started by client")}}}}
	a.PackTaskStates()
	if n := len(a.packedTaskStates); n == 0 || n > 100 {
		t.Errorf("packed task state is %d bytes, want 1-100", n)
	}
}

// TestUnpackTaskStatesCorrupt: truncated or corrupted packed task states
// read back as nil (or some states), never a panic or an allocation beyond
// the input's size.
func TestUnpackTaskStatesCorrupt(t *testing.T) {
	for name, states := range taskStateCases() {
		p, ok := packTaskStates(states)
		if !ok {
			t.Fatalf("%s: not packed", name)
		}
		for i := range len(p) {
			if got := unpackTaskStates(p[:i]); got != nil {
				t.Fatalf("%s: truncated at %d reads %v", name, i, got)
			}
			for _, c := range []byte{0x00, 0x7f, 0xff} {
				b := []byte(p)
				b[i] = c
				unpackTaskStates(string(b))
			}
		}
	}
	if got := unpackTaskStates("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"); got != nil {
		t.Fatalf("huge count reads %v", got)
	}
}
