package allocrunner

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// restartWatch counts a check's consecutive failures for its check_restart
// block (Nomad's check watcher): after limit of them, outside the grace
// period that follows each task start, the task is restarted. A passing
// result resets the count; so does the restart.
type restartWatch struct {
	cfg      *structs.CheckRestart
	failures int
}

// newRestartWatch returns the watch of a check's check_restart (nil: none).
func newRestartWatch(cfg *structs.CheckRestart) *restartWatch {
	if cfg == nil || cfg.Limit <= 0 {
		return nil
	}
	return &restartWatch{cfg: cfg}
}

// observe takes one result of the check, given when its task last started,
// and reports whether the task must be restarted now.
func (w *restartWatch) observe(status string, warning bool, started, now time.Time) bool {
	if w == nil {
		return false
	}
	switch {
	case now.Before(started.Add(w.cfg.Grace)):
		w.failures = 0
		return false
	case status == structs.CheckSuccess, warning && w.cfg.IgnoreWarnings:
		w.failures = 0
		return false
	case status == structs.CheckPending:
		return false
	}
	w.failures++
	if w.failures < w.cfg.Limit {
		return false
	}
	w.failures = 0
	return true
}

// startedAt is when the check's task last started (for "": the latest
// start among the allocation's tasks).
func startedAt(states map[string]*structs.TaskState, task string) time.Time {
	if task != "" {
		if s := states[task]; s != nil {
			return s.StartedAt
		}
		return time.Time{}
	}
	var last time.Time
	for _, s := range states {
		if s != nil && s.StartedAt.After(last) {
			last = s.StartedAt
		}
	}
	return last
}

// CheckRestartReason is the restart reason of a task restarted by a
// failing check, as Nomad words it.
func CheckRestartReason(check string) string {
	return fmt.Sprintf("healthcheck: check %q unhealthy", check)
}

// restartForCheck restarts the check's task (for a group service without
// task: every running task, as Nomad restarts the allocation) as a failure
// counted against the restart policy.
func (r *Runner) restartForCheck(ctx context.Context, task, check string) {
	reason := CheckRestartReason(check)
	names := []string{task}
	if task == "" {
		names = r.names
	}
	for _, name := range names {
		tr := r.tasks[name]
		if tr == nil {
			continue
		}
		if ok, _ := tr.running(); !ok {
			continue
		}
		r.cfg.Logger.Info("restarting task: check unhealthy", "alloc_id", r.ID(), "task", name, "check", check)
		if err := tr.restartFailed(ctx, reason); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("restart for a failing check", "alloc_id", r.ID(), "task", name, "error", err)
		}
	}
}
