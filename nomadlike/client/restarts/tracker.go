package restarts

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Reasons, worded as Nomad's task events word them.
const (
	ReasonWithinPolicy  = "Restart within policy"
	ReasonNoRestarts    = "Policy allows no restarts"
	ReasonUnrecoverable = "Error was unrecoverable"
)

// Action is what to do after a task exit.
type Action int

// Actions.
const (
	// Restart the task after Decision.Delay.
	Restart Action = iota
	// Fail the task: the policy allows no more restarts.
	Fail
	// Complete: the task finished successfully and is not restarted (batch).
	Complete
)

func (a Action) String() string {
	switch a {
	case Restart:
		return "restart"
	case Fail:
		return "fail"
	case Complete:
		return "complete"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is the outcome of one exit.
type Decision struct {
	Action Action
	// Delay is how long to wait before restarting (only for Restart).
	Delay time.Duration
	// Reason is the event message a person reads.
	Reason string
}

// Tracker counts a task's restarts within the policy's interval. It is not
// safe for concurrent use; one task runner owns it.
type Tracker struct {
	policy  structs.RestartPolicy
	jobType string
	// count is the number of restarts in the current interval.
	count int
	// start is when the current interval began (zero: not yet).
	start time.Time
}

// NewTracker returns a tracker for policy (nil: the job type's default).
func NewTracker(policy *structs.RestartPolicy, jobType string) *Tracker {
	if policy == nil {
		policy = structs.DefaultRestartPolicy(jobType)
	}
	return &Tracker{policy: *policy, jobType: jobType}
}

// Count returns the restarts counted in the current interval.
func (t *Tracker) Count() int { return t.count }

// OnExit decides what follows a task exit at now.
// A batch task that exits successfully completes; any other exit (and any
// exit of a service task) is a failure counted against the policy.
func (t *Tracker) OnExit(res *drivers.ExitResult, now time.Time) Decision {
	if res != nil && res.Successful() && t.jobType == structs.JobTypeBatch {
		return Decision{Action: Complete, Reason: "Task completed successfully"}
	}
	return t.next(now)
}

// OnStartError decides what follows a failure to start (or re-attach to)
// the task. Recoverable errors count against the policy like exits;
// unrecoverable ones fail the task at once.
func (t *Tracker) OnStartError(recoverable bool, now time.Time) Decision {
	if !recoverable {
		return Decision{Action: Fail, Reason: ReasonUnrecoverable}
	}
	return t.next(now)
}

// OnCheckFailure decides what follows a restart forced by a failing
// service check (check_restart): a failure counted against the policy.
func (t *Tracker) OnCheckFailure(now time.Time) Decision { return t.next(now) }

func (t *Tracker) next(now time.Time) Decision {
	p := t.policy
	if p.Attempts == 0 && p.Mode == structs.RestartModeFail {
		return Decision{Action: Fail, Reason: ReasonNoRestarts}
	}
	if t.start.IsZero() || !now.Before(t.start.Add(p.Interval)) {
		t.start = now
		t.count = 0
	}
	t.count++
	if t.count <= p.Attempts {
		return Decision{Action: Restart, Delay: p.Delay, Reason: ReasonWithinPolicy}
	}
	reason := fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q", p.Attempts, p.Interval, p.Mode)
	if p.Mode == structs.RestartModeDelay {
		wait := t.start.Add(p.Interval).Sub(now)
		if wait < p.Delay {
			wait = p.Delay
		}
		return Decision{Action: Restart, Delay: wait, Reason: reason}
	}
	return Decision{Action: Fail, Reason: reason}
}
