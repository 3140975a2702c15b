package allocrunner

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// terminatedEvent describes a task exit as Nomad does ("Exit Code: 3").
func terminatedEvent(now time.Time, res *drivers.ExitResult) *structs.TaskEvent {
	msg := fmt.Sprintf("Exit Code: %d", res.ExitCode)
	if res.Signal != 0 {
		msg += fmt.Sprintf(", Signal: %d", res.Signal)
	}
	if res.OOMKilled {
		msg += ", OOM Killed"
	}
	if res.Err != nil {
		msg += ", Exit Message: " + res.Err.Error()
	}
	ev := structs.NewTaskEvent(structs.TaskTerminated, now, msg)
	ev.ExitCode, ev.Signal = res.ExitCode, res.Signal
	ev.Details["exit_code"] = strconv.Itoa(res.ExitCode)
	ev.Details["signal"] = strconv.Itoa(res.Signal)
	ev.Details["oom_killed"] = strconv.FormatBool(res.OOMKilled)
	return ev
}

func restartingEvent(now time.Time, delay time.Duration, reason string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskRestarting, now, fmt.Sprintf("%s - Task restarting in %v", reason, delay))
	ev.StartDelay = int64(delay)
	ev.RestartReason = reason
	ev.Details["start_delay"] = strconv.FormatInt(int64(delay), 10)
	ev.Details["restart_reason"] = reason
	return ev
}

func notRestartingEvent(now time.Time, reason string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskNotRestarting, now, reason)
	ev.FailsTask = true
	ev.RestartReason = reason
	ev.Details["restart_reason"] = reason
	ev.Details["fails_task"] = "true"
	return ev
}

func driverFailureEvent(now time.Time, err error) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskDriverFailure, now, err.Error())
	ev.DriverError = err.Error()
	ev.Details["driver_error"] = err.Error()
	return ev
}

func killingEvent(now time.Time, timeout time.Duration) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskKilling, now, fmt.Sprintf("Sent interrupt. Waiting %v before force killing", timeout))
	ev.KillTimeout = timeout
	ev.Details["kill_timeout"] = timeout.String()
	return ev
}
