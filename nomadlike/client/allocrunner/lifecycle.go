package allocrunner

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// phase is where a task sits in its group's lifecycle.
type phase int

const (
	phasePrestart phase = iota
	phaseMain
	phasePoststart
	phasePoststop
)

func (p phase) String() string {
	switch p {
	case phasePrestart:
		return structs.TaskLifecycleHookPrestart
	case phaseMain:
		return "main"
	case phasePoststart:
		return structs.TaskLifecycleHookPoststart
	case phasePoststop:
		return structs.TaskLifecycleHookPoststop
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

var phases = []phase{phasePrestart, phaseMain, phasePoststart, phasePoststop}

// phaseOf returns the task's phase; a task without lifecycle is main.
func phaseOf(t *structs.Task) phase {
	if t.Lifecycle == nil {
		return phaseMain
	}
	switch t.Lifecycle.Hook {
	case structs.TaskLifecycleHookPrestart:
		return phasePrestart
	case structs.TaskLifecycleHookPoststart:
		return phasePoststart
	case structs.TaskLifecycleHookPoststop:
		return phasePoststop
	}
	return phaseMain
}

// isSidecar reports whether t keeps running beside the main tasks.
func isSidecar(t *structs.Task) bool { return t.Lifecycle != nil && t.Lifecycle.Sidecar }

// isEphemeral reports whether t is a lifecycle task meant to run to
// completion (prestart or poststart without sidecar, or poststop): a
// successful exit completes it whatever the job type.
func isEphemeral(t *structs.Task) bool {
	return phaseOf(t) != phaseMain && !isSidecar(t)
}

// gate says whether the tasks of one phase may start.
type gate struct {
	Open bool
	// Blocked, when not empty, says why the phase will never start.
	Blocked string
}

// started reports whether a task has ever been started and did not fail:
// it runs, or it finished successfully after starting.
func started(s *structs.TaskState) bool {
	if s == nil {
		return false
	}
	switch s.State {
	case structs.TaskStateRunning:
		return true
	case structs.TaskStateDead:
		return !s.Failed && !s.StartedAt.IsZero()
	}
	return false
}

func dead(s *structs.TaskState) bool { return s != nil && s.State == structs.TaskStateDead }

// gates decides from the group's tasks and their states which phases may
// start, with Nomad's rules:
//
//   - prestart tasks start at once;
//   - main tasks start when every ephemeral prestart task has completed
//     successfully and every prestart sidecar has started;
//   - poststart tasks start when every main task has started (it runs, or
//     completed successfully);
//   - poststop tasks start when every other task is dead, whether the main
//     tasks finished, failed or were stopped.
//
// A phase waiting on a task that failed is Blocked with the reason. gates
// is a pure function; the alloc runner calls it after every task change.
func gates(tasks []*structs.Task, states map[string]*structs.TaskState) map[phase]gate {
	out := map[phase]gate{phasePrestart: {Open: true}}

	mainGate := gate{Open: true}
	for _, t := range tasks {
		if phaseOf(t) != phasePrestart {
			continue
		}
		s := states[t.Name]
		switch {
		case dead(s) && s.Failed:
			mainGate = gate{Blocked: fmt.Sprintf("prestart task %q failed", t.Name)}
		case dead(s) && !started(s):
			mainGate = gate{Blocked: fmt.Sprintf("prestart task %q was stopped before it ran", t.Name)}
		case isSidecar(t) && started(s), !isSidecar(t) && dead(s):
			// ready: the sidecar runs, the ephemeral task completed
		default:
			mainGate.Open = false
		}
		if mainGate.Blocked != "" {
			break
		}
	}
	out[phaseMain] = mainGate

	postGate := gate{Open: true}
	if !mainGate.Open {
		postGate = gate{Blocked: mainGate.Blocked}
	}
	for _, t := range tasks {
		if phaseOf(t) != phaseMain || postGate.Blocked != "" {
			continue
		}
		s := states[t.Name]
		switch {
		case dead(s) && s.Failed:
			postGate = gate{Blocked: fmt.Sprintf("main task %q failed", t.Name)}
		case dead(s) && !started(s):
			postGate = gate{Blocked: fmt.Sprintf("main task %q was stopped before it ran", t.Name)}
		case started(s):
		default:
			postGate.Open = false
		}
	}
	if postGate.Blocked == "" && !mainGate.Open {
		postGate.Open = false
	}
	out[phasePoststart] = postGate

	stopGate := gate{Open: true}
	for _, t := range tasks {
		if phaseOf(t) != phasePoststop && !dead(states[t.Name]) {
			stopGate.Open = false
		}
	}
	out[phasePoststop] = stopGate
	return out
}

// kill is a task the alloc runner must stop, with the event that says why.
type kill struct {
	Task  string
	Event *structs.TaskEvent
}

// kills decides which live tasks to stop given the states, with Nomad's
// rules: a failed task stops its siblings; a dead leader stops the others;
// when every main task is dead the sidecars are stopped. Poststop tasks are
// never stopped here: they run once the others are dead. A task that never
// started gets a "Task not started" event naming the cause. kills is pure;
// stopping a task twice is harmless (the first event is kept).
func kills(tasks []*structs.Task, states map[string]*structs.TaskState, at time.Time) []kill {
	var failed, leader *structs.Task
	hasMain, allMainDead := false, true
	for _, t := range tasks {
		s := states[t.Name]
		if dead(s) && s.Failed && failed == nil {
			failed = t
		}
		if dead(s) && !s.Failed && t.Leader && leader == nil {
			leader = t
		}
		if phaseOf(t) == phaseMain {
			hasMain = true
			allMainDead = allMainDead && dead(s)
		}
	}
	var out []kill
	for _, t := range tasks {
		s := states[t.Name]
		if dead(s) || phaseOf(t) == phasePoststop {
			continue
		}
		neverStarted := s == nil || s.StartedAt.IsZero()
		var ev *structs.TaskEvent
		switch {
		case failed != nil:
			msg := fmt.Sprintf("Task's sibling %q failed", failed.Name)
			if neverStarted {
				msg = fmt.Sprintf("Task not started: %s task %q failed", phaseOf(failed), failed.Name)
			}
			ev = structs.NewTaskEvent(structs.TaskSiblingFailed, at, msg)
			ev.Details["failed_sibling"] = failed.Name
		case leader != nil:
			ev = structs.NewTaskEvent(structs.TaskLeaderDead, at, "Leader Task in Group dead")
		case hasMain && allMainDead && isSidecar(t):
			ev = structs.NewTaskEvent(structs.TaskMainDead, at, "Main tasks in the group died")
		default:
			continue
		}
		out = append(out, kill{Task: t.Name, Event: ev})
	}
	return out
}
