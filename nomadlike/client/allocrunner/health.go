package allocrunner

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TaskAllocUnhealthy is the task event type recorded when the client finds
// an allocation of a deployment unhealthy, as Nomad names it.
const TaskAllocUnhealthy = "Alloc Unhealthy"

// healthVerdict is the client's judgement of a deployment allocation's
// health at one instant.
type healthVerdict struct {
	// Decided is true once the allocation is healthy or unhealthy for good.
	Decided bool
	Healthy bool
	// Events are the "Alloc Unhealthy" messages to record, per task.
	Events map[string]string
	// Next, when not zero and not decided, is when to judge again even if
	// nothing changes (the min_healthy_time or healthy_deadline elapses).
	Next time.Time
}

// judgeHealth applies Nomad's task-state health rules (allochealth.Tracker)
// to an allocation of a deployment: it is healthy once every task that
// must run (main tasks and sidecars; prestart tasks must have succeeded)
// has been running for min_healthy_time, with the last (re)start counted;
// unhealthy as soon as one of them fails or dies, or when healthy_deadline
// (counted from since, when the client began watching) passes first. It is
// a pure function of its inputs.
func judgeHealth(group []*structs.Task, states map[string]*structs.TaskState, clientStatus string,
	u *structs.UpdateStrategy, since, now time.Time) healthVerdict {
	deadline := since.Add(u.HealthyDeadline)
	allRunning := true
	var latest time.Time
	for _, t := range group {
		s := states[t.Name]
		p := phaseOf(t)
		if p == phasePoststop {
			continue // runs only once the allocation stops
		}
		if s == nil {
			allRunning = false
			continue
		}
		dead := s.State == structs.TaskStateDead
		if isEphemeral(t) {
			if dead && !s.Failed {
				continue // a prestart or poststart task that succeeded
			}
			if s.Failed {
				return unhealthy(t.Name, "Unhealthy because of failed task")
			}
			if p == phasePrestart {
				allRunning = false // still has to complete
			}
			continue
		}
		switch {
		case s.Failed:
			return unhealthy(t.Name, "Unhealthy because of failed task")
		case dead:
			return unhealthy(t.Name, "Unhealthy because of dead task")
		case s.State != structs.TaskStateRunning:
			allRunning = false
		case s.StartedAt.After(latest):
			latest = s.StartedAt
		}
	}
	if clientStatus == structs.AllocClientStatusFailed {
		return healthVerdict{Decided: true}
	}
	if allRunning && !latest.IsZero() {
		healthyAt := latest.Add(u.MinHealthyTime)
		if !healthyAt.After(now) && !healthyAt.After(deadline) {
			return healthVerdict{Decided: true, Healthy: true}
		}
		if healthyAt.Before(deadline) {
			return healthVerdict{Next: healthyAt}
		}
	}
	if !now.Before(deadline) {
		msg := fmt.Sprintf("Task not running for min_healthy_time of %v by healthy_deadline of %v", u.MinHealthyTime, u.HealthyDeadline)
		ev := map[string]string{}
		for _, t := range group {
			if phaseOf(t) == phaseMain || isSidecar(t) {
				ev[t.Name] = msg
			}
		}
		return healthVerdict{Decided: true, Events: ev}
	}
	return healthVerdict{Next: deadline}
}

func unhealthy(task, msg string) healthVerdict {
	return healthVerdict{Decided: true, Events: map[string]string{task: msg}}
}

// healthStrategy returns the update strategy under which the client judges
// a's health, or nil when it must not: the allocation belongs to no
// deployment, its group has no rolling update, health is set by hand
// ("manual"), or it is already decided.
func healthStrategy(a *structs.Allocation) *structs.UpdateStrategy {
	if a == nil || a.DeploymentID == "" || a.Job == nil || a.DeploymentStatus.HasHealth() {
		return nil
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil || !tg.Update.Rolling() {
		return nil
	}
	// "checks" is task states plus the service checks (withChecks).
	if tg.Update.HealthCheck == structs.UpdateStrategyHealthCheckManual {
		return nil
	}
	u := tg.Update.Copy()
	d := structs.DefaultUpdateStrategy()
	if u.HealthyDeadline <= 0 {
		u.HealthyDeadline = d.HealthyDeadline
	}
	return u
}
