package scheduler

import (
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// rescheduleWindow is the tolerance within which a reschedule due slightly in
// the future is done now rather than through a follow-up evaluation.
const rescheduleWindow = time.Second

// rescheduleEligible reports whether a failed allocation may be replaced
// under policy (structs.ReschedulePolicy.AllowsAnother).
func rescheduleEligible(policy *structs.ReschedulePolicy, tracker *structs.RescheduleTracker, now time.Time) bool {
	return policy.AllowsAnother(tracker, now)
}

// nextDelay is the delay before the next reschedule of an allocation with
// tracker under policy: constant, exponential (doubling the last delay) or
// fibonacci (sum of the last two), capped at MaxDelay when set.
func nextDelay(policy *structs.ReschedulePolicy, tracker *structs.RescheduleTracker) time.Duration {
	d := policy.Delay
	var events []*structs.RescheduleEvent
	if tracker != nil {
		events = tracker.Events
	}
	switch policy.DelayFunction {
	case "exponential":
		if n := len(events); n > 0 && events[n-1].Delay > 0 {
			d = events[n-1].Delay * 2
		}
	case "fibonacci":
		switch n := len(events); {
		case n >= 2 && events[n-1].Delay > 0:
			d = events[n-1].Delay + events[n-2].Delay
		case n == 1 && events[0].Delay > 0:
			d = events[0].Delay
		}
	}
	if policy.MaxDelay > 0 && d > policy.MaxDelay {
		d = policy.MaxDelay
	}
	return d
}

// failedAt is when an allocation failed: the latest task finish time, else
// its last modification, else now.
func failedAt(a *structs.Allocation, now time.Time) time.Time {
	var t time.Time
	for _, ts := range a.TaskStateMap() {
		if ts != nil && ts.FinishedAt.After(t) {
			t = ts.FinishedAt
		}
	}
	if t.IsZero() && a.ModifyTime > 0 {
		t = time.Unix(0, a.ModifyTime)
	}
	if t.IsZero() {
		t = now
	}
	return t
}

// rescheduleTime is when a failed allocation becomes due for replacement and
// the delay that applies, or ok=false when its policy allows no more reschedules.
func rescheduleTime(a *structs.Allocation, policy *structs.ReschedulePolicy, now time.Time) (at time.Time, delay time.Duration, ok bool) {
	if !rescheduleEligible(policy, a.RescheduleTracker, now) {
		return time.Time{}, 0, false
	}
	delay = nextDelay(policy, a.RescheduleTracker)
	return failedAt(a, now).Add(delay), delay, true
}

// newRescheduleTracker extends prev's lineage with its own reschedule.
func newRescheduleTracker(prev *structs.Allocation, delay time.Duration, now time.Time) *structs.RescheduleTracker {
	var events []*structs.RescheduleEvent
	if prev.RescheduleTracker != nil {
		events = append(events, prev.RescheduleTracker.Events...)
	}
	events = append(events, &structs.RescheduleEvent{
		RescheduleTime: now.UnixNano(),
		PrevAllocID:    prev.ID,
		PrevNodeID:     prev.NodeID,
		Delay:          delay,
	})
	return &structs.RescheduleTracker{Events: events}
}
