package structs

import (
	"maps"
	"time"
)

// Evaluation triggers of node drains and preemption.
const (
	// EvalTriggerNodeDrain is an evaluation the drainer creates for the
	// allocations it marked for migration.
	EvalTriggerNodeDrain = "node-drain"
	// EvalTriggerPreemption re-evaluates a job whose allocations were
	// evicted to make room for a higher-priority job.
	EvalTriggerPreemption = "preemption"
)

// Node drain event messages.
const (
	NodeEventDrainStarted  = "Node drain strategy set"
	NodeEventDrainStopped  = "Node drain disabled"
	NodeEventDrainComplete = "Node drain complete"
	NodeEventEligible      = "Node marked as eligible for scheduling"
	NodeEventIneligible    = "Node marked as ineligible for scheduling"
)

// DrainSpec is what an operator asks of a drain (Nomad's DrainSpec).
type DrainSpec struct {
	// Deadline is how long the allocations may take to migrate before the
	// remaining ones are stopped. 0 means no deadline; negative means stop
	// everything at once.
	Deadline time.Duration
	// IgnoreSystemJobs leaves system and sysbatch allocations running.
	IgnoreSystemJobs bool
}

// DrainStrategy is a node's drain in progress. Its JSON flattens DrainSpec,
// as Nomad's does.
type DrainStrategy struct {
	DrainSpec
	// ForceDeadline is when the remaining allocations are stopped; zero
	// means never.
	ForceDeadline time.Time
	// StartedAt is when the drain began.
	StartedAt time.Time
}

// Copy returns a copy of d.
func (d *DrainStrategy) Copy() *DrainStrategy {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// DeadlineTime returns whether the drain has a deadline and when it is.
func (d *DrainStrategy) DeadlineTime() (bool, time.Time) {
	if d == nil || d.ForceDeadline.IsZero() {
		return false, time.Time{}
	}
	return true, d.ForceDeadline
}

// NewDrainStrategy returns the strategy for spec starting at now: a
// positive deadline ends at now+Deadline, a negative one at once.
func NewDrainStrategy(spec DrainSpec, now time.Time) *DrainStrategy {
	d := &DrainStrategy{DrainSpec: spec, StartedAt: now}
	switch {
	case spec.Deadline > 0:
		d.ForceDeadline = now.Add(spec.Deadline)
	case spec.Deadline < 0:
		d.ForceDeadline = now
	}
	return d
}

// DesiredTransition is what the servers ask of an allocation besides its
// desired status (Nomad's DesiredTransition).
type DesiredTransition struct {
	// Migrate marks an allocation on a draining node to be moved off it.
	Migrate *bool `json:",omitempty"`
	// ForceReschedule marks a failed allocation to be replaced now, its
	// reschedule policy notwithstanding (`job eval -force-reschedule`).
	ForceReschedule *bool `json:",omitempty"`
	// NoShutdownDelay stops the allocation's tasks without waiting their
	// shutdown_delay (alloc stop, job stop, node drain -no-shutdown-delay).
	NoShutdownDelay *bool `json:",omitempty"`
}

// copyDesiredTransition returns a copy of d that shares no flag with it.
func copyDesiredTransition(d DesiredTransition) DesiredTransition {
	return DesiredTransition{Migrate: copyPtr(d.Migrate), ForceReschedule: copyPtr(d.ForceReschedule), NoShutdownDelay: copyPtr(d.NoShutdownDelay)}
}

// ShouldMigrate reports whether the allocation is marked for migration.
func (d DesiredTransition) ShouldMigrate() bool { return d.Migrate != nil && *d.Migrate }

// ShouldIgnoreShutdownDelay reports whether the tasks are to be killed
// without waiting their shutdown_delay.
func (d DesiredTransition) ShouldIgnoreShutdownDelay() bool {
	return d.NoShutdownDelay != nil && *d.NoShutdownDelay
}

// ShouldForceReschedule reports whether a failed allocation is to be replaced now.
func (d DesiredTransition) ShouldForceReschedule() bool {
	return d.ForceReschedule != nil && *d.ForceReschedule
}

// MigrateStrategy is a group's migrate block: how many of its allocations
// may migrate off draining nodes at once.
type MigrateStrategy struct {
	MaxParallel     int
	HealthCheck     string        `json:",omitempty"`
	MinHealthyTime  time.Duration `json:",omitempty"`
	HealthyDeadline time.Duration `json:",omitempty"`
}

// MigrateMaxParallel returns how many of the group's allocations may
// migrate at once: the migrate block's max_parallel, 1 without one.
func (tg *TaskGroup) MigrateMaxParallel() int {
	if tg == nil || tg.Migrate == nil || tg.Migrate.MaxParallel <= 0 {
		return 1
	}
	return tg.Migrate.MaxParallel
}

// Drain statuses of DrainMetadata, as Nomad's.
const (
	DrainStatusDraining = "draining"
	DrainStatusComplete = "complete"
	DrainStatusCanceled = "canceled"
)

// DrainMetadata is a node's most recent drain (Node.LastDrain): when it
// started and last changed, its status, who asked for it and their meta.
type DrainMetadata struct {
	StartedAt  time.Time
	UpdatedAt  time.Time
	Status     string
	AccessorID string
	Meta       map[string]string
}

// Copy returns a deep copy.
func (d *DrainMetadata) Copy() *DrainMetadata {
	if d == nil {
		return nil
	}
	c := *d
	c.Meta = maps.Clone(d.Meta)
	return &c
}

// NodeUpdateDrainRequest is the body of PUT /v1/node/{id}/drain and, with
// the server's fields, its Raft entry. A nil DrainSpec ends the drain.
type NodeUpdateDrainRequest struct {
	NodeID       string
	DrainSpec    *DrainSpec
	MarkEligible bool
	Meta         map[string]string `json:",omitempty"`

	// Set by the server for the Raft entry.
	DrainStrategy *DrainStrategy `json:"-"`
	Event         *NodeEvent     `json:"-"`
	Evals         []*Evaluation  `json:"-"`
	UpdatedAt     int64          `json:"-"` // unix seconds
	// AccessorID is the ACL token that asked (Node.LastDrain); Complete
	// marks the drainer ending a finished drain (not a user's cancel).
	AccessorID string `json:"-"`
	Complete   bool   `json:"-"`
}

// NodeDrainUpdateResponse is the reply of PUT /v1/node/{id}/drain.
type NodeDrainUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	Index           uint64
}

// NodeUpdateEligibilityRequest is the body of PUT /v1/node/{id}/eligibility
// and, with the server's fields, its Raft entry.
type NodeUpdateEligibilityRequest struct {
	NodeID      string
	Eligibility string

	// Set by the server for the Raft entry.
	Event     *NodeEvent    `json:"-"`
	Evals     []*Evaluation `json:"-"`
	UpdatedAt int64         `json:"-"` // unix seconds
}

// NodeEligibilityUpdateResponse is the reply of PUT /v1/node/{id}/eligibility.
type NodeEligibilityUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	Index           uint64
}

// AllocUpdateDesiredTransitionRequest is the Raft entry that marks
// allocations (the drainer's migrations), with the evaluations that act on
// the marks.
type AllocUpdateDesiredTransitionRequest struct {
	Allocs    map[string]*DesiredTransition
	Evals     []*Evaluation
	Timestamp int64 // unix nanoseconds
	// Once makes a retried alloc stop or job evaluate apply once.
	Once WriteOnce
}
