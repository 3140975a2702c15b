package command

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseBatchSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		total   int
		want    int
		wantErr bool
	}{
		{"1", 5, 1, false},
		{"3", 2, 3, false},
		{"50%", 3, 2, false},
		{"10%", 3, 1, false},
		{"100%", 7, 7, false},
		{"0", 3, 0, true},
		{"-2", 3, 0, true},
		{"0%", 3, 0, true},
		{"150%", 3, 0, true},
		{"x", 3, 0, true},
	} {
		got, err := parseBatchSize(tc.in, tc.total)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseBatchSize(%q, %d) = %d, %v; want %d (error %t)", tc.in, tc.total, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestRestartedAll(t *testing.T) {
	a := &structs.Allocation{TaskStates: map[string]*structs.TaskState{
		"web":  {State: structs.TaskStateRunning, Restarts: 2},
		"side": {State: structs.TaskStatePending, Restarts: 1},
	}}
	if !restartedAll(a, map[string]uint64{"web": 1}) {
		t.Error("web restarted once more and runs: want true")
	}
	if restartedAll(a, map[string]uint64{"web": 2}) {
		t.Error("web has not restarted since: want false")
	}
	if restartedAll(a, map[string]uint64{"web": 1, "side": 0}) {
		t.Error("side restarted but is not running yet: want false")
	}
	if restartedAll(a, map[string]uint64{"gone": 0}) {
		t.Error("a task without state: want false")
	}
}
