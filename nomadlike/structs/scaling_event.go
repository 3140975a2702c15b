package structs

import "sort"

// MaxScalingEventsPerGroup is how many scaling events the state store keeps
// per task group (Nomad keeps the last 20); older ones are dropped.
const MaxScalingEventsPerGroup = 20

// Copy returns a deep copy of the event.
func (e *ScalingEvent) Copy() *ScalingEvent {
	if e == nil {
		return nil
	}
	n := *e
	n.Count = copyPtr(e.Count)
	n.EvalID = copyPtr(e.EvalID)
	n.Meta = copyAnyMap(e.Meta)
	return &n
}

// JobScalingEvents is a job's recent scaling events: one row of the state
// table "scaling_event", by group, newest first, at most
// MaxScalingEventsPerGroup per group. It lives as long as the job.
type JobScalingEvents struct {
	Namespace     string
	JobID         string
	ScalingEvents map[string][]*ScalingEvent
	ModifyIndex   uint64
}

// Copy returns a deep copy.
func (j *JobScalingEvents) Copy() *JobScalingEvents {
	if j == nil {
		return nil
	}
	n := *j
	if j.ScalingEvents != nil {
		n.ScalingEvents = make(map[string][]*ScalingEvent, len(j.ScalingEvents))
		for g, evs := range j.ScalingEvents {
			cp := make([]*ScalingEvent, len(evs))
			for i, e := range evs {
				cp[i] = e.Copy()
			}
			n.ScalingEvents[g] = cp
		}
	}
	return &n
}

// Add puts e in front of group's events and drops the oldest beyond
// MaxScalingEventsPerGroup. j must be the caller's own copy.
func (j *JobScalingEvents) Add(group string, e *ScalingEvent) {
	if j.ScalingEvents == nil {
		j.ScalingEvents = map[string][]*ScalingEvent{}
	}
	evs := append([]*ScalingEvent{e}, j.ScalingEvents[group]...)
	if len(evs) > MaxScalingEventsPerGroup {
		evs = evs[:MaxScalingEventsPerGroup]
	}
	j.ScalingEvents[group] = evs
}

// Groups returns the names of the groups with events, sorted.
func (j *JobScalingEvents) Groups() []string {
	out := make([]string, 0, len(j.ScalingEvents))
	for g := range j.ScalingEvents {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// JobScaleRequest is the body of a JobScaleRequestType Raft entry: one
// `job scale` (or an autoscaler's decision) applied in one transaction. Job
// and Eval are the scaled job version and its evaluation, both nil for an
// event that changes no count (an error report); Event is recorded for
// Group either way, with the eval's ID and the entry's index.
type JobScaleRequest struct {
	Namespace string
	JobID     string
	Group     string
	Job       *Job
	Eval      *Evaluation
	Event     *ScalingEvent
	// Once makes a retried scale apply once (one version, one event).
	Once WriteOnce
}
