package command

import (
	"fmt"
	"maps"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocProblem returns why an allocation of a job of jobType has failed, or
// "" if it has not. A service task that terminates or restarts is a failure
// (it is meant to run until stopped); a batch task is a failure only when it
// exits non-zero, fails or restarts. Allocations the server is stopping are
// never failures here.
func allocProblem(a *structs.AllocListStub, job *structs.Job) string {
	jobType := job.Type
	if a.DesiredStatus != structs.AllocDesiredStatusRun && a.DesiredStatus != "" {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		ephemeral := isEphemeral(job, a.TaskGroup, name)
		for _, e := range ts.Events {
			success := e.ExitCode == 0 && e.Signal == 0
			switch {
			case e.Type == structs.TaskTerminated && (jobType != structs.JobTypeBatch && !ephemeral || !success):
				return fmt.Sprintf("task %q exited (%s)", name, eventMessage(e))
			case e.FailsTask || e.Type == structs.TaskDriverFailure || e.Type == structs.TaskSetupFailure:
				return fmt.Sprintf("task %q failed: %s: %s", name, e.Type, eventMessage(e))
			}
		}
		switch {
		case ts.Failed:
			return fmt.Sprintf("task %q failed", name)
		case ts.Restarts > 0:
			return fmt.Sprintf("task %q restarted %d time(s)", name, ts.Restarts)
		}
	}
	switch a.ClientStatus {
	case structs.AllocClientStatusFailed:
		return "allocation failed: " + orNone(a.ClientDescription)
	case structs.AllocClientStatusLost:
		return fmt.Sprintf("allocation lost: node %q stopped responding", shortID(a.NodeID, false))
	}
	return ""
}

// allocDone reports whether an allocation reached what `job run` waits for:
// running (service) or complete (batch); or the server stopped it.
func allocDone(a *structs.AllocListStub, job *structs.Job) bool {
	jobType := job.Type
	if a.DesiredStatus != structs.AllocDesiredStatusRun && a.DesiredStatus != "" {
		return true
	}
	if jobType == structs.JobTypeBatch {
		return a.ClientStatus == structs.AllocClientStatusComplete
	}
	if a.ClientStatus != structs.AllocClientStatusRunning {
		return false
	}
	for name, ts := range a.TaskStates {
		if ts == nil || ts.State == structs.TaskStateRunning {
			continue
		}
		lc := lifecycleOf(job, a.TaskGroup, name)
		switch {
		case lc != nil && lc.Hook == structs.TaskLifecycleHookPoststop && ts.State == structs.TaskStatePending:
			// Poststop tasks wait for the main tasks to exit.
		case lc != nil && !lc.Sidecar && ts.State == structs.TaskStateDead && !ts.Failed:
			// An ephemeral prestart/poststart task that finished did its job.
		default:
			return false
		}
	}
	return true
}

// lifecycleOf returns the lifecycle block of a task of job, or nil for a
// main task (or when the job does not know the task).
func lifecycleOf(job *structs.Job, group, task string) *structs.TaskLifecycleConfig {
	if job == nil {
		return nil
	}
	tg := job.LookupTaskGroup(group)
	if tg == nil {
		return nil
	}
	t := tg.LookupTask(task)
	if t == nil {
		return nil
	}
	return t.Lifecycle
}

// isEphemeral reports whether a task is a prestart/poststart/poststop task
// that is meant to exit (not a sidecar).
func isEphemeral(job *structs.Job, group, task string) bool {
	lc := lifecycleOf(job, group, task)
	return lc != nil && !lc.Sidecar
}

// eventMessage is the text a person reads for a task event: its display
// message, or one built from its fields as Nomad's client does.
func eventMessage(e *structs.TaskEvent) string {
	if e.DisplayMessage != "" {
		return e.DisplayMessage
	}
	switch e.Type {
	case structs.TaskTerminated:
		s := fmt.Sprintf("Exit Code: %d", e.ExitCode)
		if e.Signal != 0 {
			s += fmt.Sprintf(", Signal: %d", e.Signal)
		}
		if e.Message != "" {
			s += ", Exit Message: " + e.Message
		}
		return s
	case structs.TaskDriverFailure:
		if e.DriverError != "" {
			return e.DriverError
		}
	case structs.TaskSetupFailure:
		if e.SetupError != "" {
			return e.SetupError
		}
	case structs.TaskKilling:
		if e.KillReason != "" {
			return e.KillReason
		}
		return fmt.Sprintf("Sent interrupt. Waiting %s before force killing", e.KillTimeout)
	case structs.TaskKilled:
		if e.KillError != "" {
			return e.KillError
		}
		return "Task successfully killed"
	case structs.TaskRestarting:
		if e.RestartReason != "" {
			return e.RestartReason
		}
	case structs.TaskStarted:
		return "Task started by client"
	case structs.TaskReceived:
		return "Task received by client"
	}
	return e.Message
}

// clientTerminal reports whether a client status is final.
func clientTerminal(status string) bool {
	switch status {
	case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		return true
	}
	return false
}
