package allocrunner

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestClientStatus(t *testing.T) {
	st := func(state string, failed bool) *structs.TaskState {
		return &structs.TaskState{State: state, Failed: failed}
	}
	cases := []struct {
		name   string
		states map[string]*structs.TaskState
		want   string
	}{
		{"none", nil, structs.AllocClientStatusPending},
		{"all pending", map[string]*structs.TaskState{"a": st("pending", false)}, structs.AllocClientStatusPending},
		{"one running", map[string]*structs.TaskState{"a": st("running", false), "b": st("pending", false)}, structs.AllocClientStatusRunning},
		{"running and done", map[string]*structs.TaskState{"a": st("running", false), "b": st("dead", false)}, structs.AllocClientStatusRunning},
		{"all dead ok", map[string]*structs.TaskState{"a": st("dead", false), "b": st("dead", false)}, structs.AllocClientStatusComplete},
		{"one failed", map[string]*structs.TaskState{"a": st("running", false), "b": st("dead", true)}, structs.AllocClientStatusFailed},
		// With lifecycle tasks: a completed prestart task does not complete the allocation.
		{"prestart done, main waiting", map[string]*structs.TaskState{"init": st("dead", false), "main": st("pending", false)}, structs.AllocClientStatusPending},
		{"main running, poststop waiting", map[string]*structs.TaskState{"init": st("dead", false), "main": st("running", false), "post": st("pending", false)}, structs.AllocClientStatusRunning},
		{"prestart failed, poststop running", map[string]*structs.TaskState{"init": st("dead", true), "main": st("dead", false), "post": st("running", false)}, structs.AllocClientStatusFailed},
		{"main done, poststop running", map[string]*structs.TaskState{"main": st("dead", false), "post": st("running", false)}, structs.AllocClientStatusRunning},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := ClientStatus(tc.states); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
