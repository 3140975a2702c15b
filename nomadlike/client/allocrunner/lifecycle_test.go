package allocrunner

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// lifecycleGroup is init (prestart), proxy (prestart sidecar), app and web
// (main, web the leader when leader is true), warm (poststart), log
// (poststart sidecar) and cleanup (poststop).
func lifecycleGroup(leader bool) []*structs.Task {
	lc := func(hook string, sidecar bool) *structs.TaskLifecycleConfig {
		return &structs.TaskLifecycleConfig{Hook: hook, Sidecar: sidecar}
	}
	return []*structs.Task{
		{Name: "init", Lifecycle: lc("prestart", false)},
		{Name: "proxy", Lifecycle: lc("prestart", true)},
		{Name: "app"},
		{Name: "web", Leader: leader},
		{Name: "warm", Lifecycle: lc("poststart", false)},
		{Name: "log", Lifecycle: lc("poststart", true)},
		{Name: "cleanup", Lifecycle: lc("poststop", false)},
	}
}

var t0 = time.Unix(1700000000, 0)

// st builds task states from "name=state" where state is pending,
// running, done (dead after running), failed, or killed (dead, never started).
func st(spec map[string]string) map[string]*structs.TaskState {
	out := map[string]*structs.TaskState{}
	for name, s := range spec {
		ts := &structs.TaskState{State: structs.TaskStatePending}
		switch s {
		case "running":
			ts.State, ts.StartedAt = structs.TaskStateRunning, t0
		case "done":
			ts.State, ts.StartedAt = structs.TaskStateDead, t0
		case "failed":
			ts.State, ts.Failed, ts.StartedAt = structs.TaskStateDead, true, t0
		case "killed":
			ts.State = structs.TaskStateDead
		case "restarting":
			ts.StartedAt = t0
		}
		out[name] = ts
	}
	return out
}

// all sets every task of the group to state, then applies overrides.
func all(state string, overrides map[string]string) map[string]string {
	m := map[string]string{}
	for _, t := range lifecycleGroup(false) {
		m[t.Name] = state
	}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}

func TestGates(t *testing.T) {
	open, shut := gate{Open: true}, gate{}
	blocked := func(why string) gate { return gate{Blocked: why} }
	cases := []struct {
		name   string
		states map[string]string
		want   map[phase]gate
	}{
		{"nothing started", all("pending", nil),
			map[phase]gate{phasePrestart: open, phaseMain: shut, phasePoststart: shut, phasePoststop: shut}},
		{"init done, sidecar not yet running", all("pending", map[string]string{"init": "done"}),
			map[phase]gate{phasePrestart: open, phaseMain: shut, phasePoststart: shut, phasePoststop: shut}},
		{"sidecar running, init still running", all("pending", map[string]string{"init": "running", "proxy": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: shut, phasePoststart: shut, phasePoststop: shut}},
		{"init restarting after a failure", all("pending", map[string]string{"init": "restarting", "proxy": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: shut, phasePoststart: shut, phasePoststop: shut}},
		{"prestart done: main may start", all("pending", map[string]string{"init": "done", "proxy": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: shut, phasePoststop: shut}},
		{"one main running", all("pending", map[string]string{"init": "done", "proxy": "running", "app": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: shut, phasePoststop: shut}},
		{"all main running: poststart", all("pending", map[string]string{"init": "done", "proxy": "running", "app": "running", "web": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: open, phasePoststop: shut}},
		{"a main completed, one runs: poststart", all("pending", map[string]string{"init": "done", "proxy": "running", "app": "done", "web": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: open, phasePoststop: shut}},
		{"mains done, sidecars still up: no poststop yet", all("done", map[string]string{"proxy": "running", "log": "running", "cleanup": "pending"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: open, phasePoststop: shut}},
		{"everything else dead: poststop", all("done", map[string]string{"cleanup": "pending"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: open, phasePoststop: open}},
		{"init failed", all("pending", map[string]string{"init": "failed", "proxy": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: blocked(`prestart task "init" failed`),
				phasePoststart: blocked(`prestart task "init" failed`), phasePoststop: shut}},
		{"sidecar killed before it ran", all("pending", map[string]string{"init": "done", "proxy": "killed"}),
			map[phase]gate{phasePrestart: open, phaseMain: blocked(`prestart task "proxy" was stopped before it ran`),
				phasePoststart: blocked(`prestart task "proxy" was stopped before it ran`), phasePoststop: shut}},
		{"main failed", all("pending", map[string]string{"init": "done", "proxy": "running", "app": "failed", "web": "running"}),
			map[phase]gate{phasePrestart: open, phaseMain: open, phasePoststart: blocked(`main task "app" failed`), phasePoststop: shut}},
		{"stopped before anything ran", all("killed", map[string]string{"cleanup": "pending"}),
			map[phase]gate{phasePrestart: open, phaseMain: blocked(`prestart task "init" was stopped before it ran`),
				phasePoststart: blocked(`prestart task "init" was stopped before it ran`), phasePoststop: open}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := gates(lifecycleGroup(false), st(tc.states))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("gates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGatesWithoutLifecycle(t *testing.T) {
	tasks := []*structs.Task{{Name: "a"}, {Name: "b"}}
	got := gates(tasks, st(map[string]string{"a": "pending", "b": "pending"}))
	want := map[phase]gate{phasePrestart: {Open: true}, phaseMain: {Open: true}, phasePoststart: {}, phasePoststop: {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gates of a group without lifecycle tasks (-want +got):\n%s", diff)
	}
}

func TestKills(t *testing.T) {
	type k struct{ Task, Type, Msg string }
	cases := []struct {
		name   string
		leader bool
		states map[string]string
		want   []k
	}{
		{"all running: none", false, all("running", map[string]string{"init": "done", "cleanup": "pending"}), nil},
		{"init failed: mains not started, sidecar stopped", false,
			all("pending", map[string]string{"init": "failed", "proxy": "running"}),
			[]k{
				{"app", structs.TaskSiblingFailed, `Task not started: prestart task "init" failed`},
				{"log", structs.TaskSiblingFailed, `Task not started: prestart task "init" failed`},
				{"proxy", structs.TaskSiblingFailed, `Task's sibling "init" failed`},
				{"warm", structs.TaskSiblingFailed, `Task not started: prestart task "init" failed`},
				{"web", structs.TaskSiblingFailed, `Task not started: prestart task "init" failed`},
			}},
		{"main failed: siblings stopped, poststop left to run", false,
			all("running", map[string]string{"init": "done", "app": "failed", "warm": "pending", "cleanup": "pending"}),
			[]k{
				{"log", structs.TaskSiblingFailed, `Task's sibling "app" failed`},
				{"proxy", structs.TaskSiblingFailed, `Task's sibling "app" failed`},
				{"warm", structs.TaskSiblingFailed, `Task not started: main task "app" failed`},
				{"web", structs.TaskSiblingFailed, `Task's sibling "app" failed`},
			}},
		{"mains done: sidecars stopped, ephemeral poststart finishes", false,
			all("done", map[string]string{"proxy": "running", "log": "running", "warm": "running", "cleanup": "pending"}),
			[]k{
				{"log", structs.TaskMainDead, "Main tasks in the group died"},
				{"proxy", structs.TaskMainDead, "Main tasks in the group died"},
			}},
		{"one main done, one running: none", false,
			all("running", map[string]string{"init": "done", "app": "done", "cleanup": "pending"}), nil},
		{"leader done: others stopped", true,
			all("running", map[string]string{"init": "done", "web": "done", "cleanup": "pending"}),
			[]k{
				{"app", structs.TaskLeaderDead, "Leader Task in Group dead"},
				{"log", structs.TaskLeaderDead, "Leader Task in Group dead"},
				{"proxy", structs.TaskLeaderDead, "Leader Task in Group dead"},
				{"warm", structs.TaskLeaderDead, "Leader Task in Group dead"},
			}},
		{"poststop failed after all else: none", false, all("done", map[string]string{"cleanup": "failed"}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []k
			for _, x := range kills(lifecycleGroup(tc.leader), st(tc.states), t0) {
				got = append(got, k{x.Task, x.Event.Type, x.Event.DisplayMessage})
				if x.Event.Time != t0.UnixNano() {
					t.Errorf("event of %s at %d, want %d", x.Task, x.Event.Time, t0.UnixNano())
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i].Task < got[j].Task })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kills (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEphemeral(t *testing.T) {
	cases := []struct {
		lc   *structs.TaskLifecycleConfig
		want bool
	}{
		{nil, false},
		{&structs.TaskLifecycleConfig{Hook: "prestart"}, true},
		{&structs.TaskLifecycleConfig{Hook: "prestart", Sidecar: true}, false},
		{&structs.TaskLifecycleConfig{Hook: "poststart"}, true},
		{&structs.TaskLifecycleConfig{Hook: "poststart", Sidecar: true}, false},
		{&structs.TaskLifecycleConfig{Hook: "poststop"}, true},
	}
	for _, tc := range cases {
		if got := isEphemeral(&structs.Task{Name: "t", Lifecycle: tc.lc}); got != tc.want {
			t.Errorf("isEphemeral(%+v): got %v, want %v", tc.lc, got, tc.want)
		}
	}
}
