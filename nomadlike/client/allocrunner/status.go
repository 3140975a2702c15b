package allocrunner

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// ClientStatus derives an allocation's client status and description from
// its tasks' states, with Nomad's rules: any task failed -> failed; else any
// running -> running; else any pending -> pending; else (all dead) complete.
func ClientStatus(states map[string]*structs.TaskState) (string, string) {
	var failed, running, pending, dead bool
	for _, s := range states {
		switch s.State {
		case structs.TaskStateRunning:
			running = true
		case structs.TaskStatePending:
			pending = true
		case structs.TaskStateDead:
			if s.Failed {
				failed = true
			} else {
				dead = true
			}
		}
	}
	switch {
	case failed:
		return structs.AllocClientStatusFailed, "Failed tasks"
	case running:
		return structs.AllocClientStatusRunning, "Tasks are running"
	case pending:
		return structs.AllocClientStatusPending, "No tasks have started"
	case dead:
		return structs.AllocClientStatusComplete, "All tasks have completed"
	}
	return structs.AllocClientStatusPending, "No tasks have started"
}
