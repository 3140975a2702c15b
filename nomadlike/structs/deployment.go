package structs

import (
	"fmt"
	"time"
)

// Update strategy health check modes (update { health_check = ... }).
const (
	UpdateStrategyHealthCheckChecks     = "checks"
	UpdateStrategyHealthCheckTaskStates = "task_states"
	UpdateStrategyHealthCheckManual     = "manual"
)

// UpdateStrategy is the update block of a job or group: how a new version of
// a service group replaces the old one. A group without one (or with
// MaxParallel 0) is replaced all at once without a deployment.
type UpdateStrategy struct {
	Stagger          time.Duration
	MaxParallel      int
	HealthCheck      string
	MinHealthyTime   time.Duration
	HealthyDeadline  time.Duration
	ProgressDeadline time.Duration
	AutoRevert       bool
	AutoPromote      bool
	Canary           int
}

// DefaultUpdateStrategy returns Nomad's defaults for fields an update block
// leaves out.
func DefaultUpdateStrategy() *UpdateStrategy {
	return &UpdateStrategy{
		Stagger:          30 * time.Second,
		MaxParallel:      1,
		HealthCheck:      UpdateStrategyHealthCheckChecks,
		MinHealthyTime:   10 * time.Second,
		HealthyDeadline:  5 * time.Minute,
		ProgressDeadline: 10 * time.Minute,
	}
}

// canonicalize fills the fields that may not be zero (stagger, health
// check, healthy deadline) with Nomad's defaults. MaxParallel, MinHealthyTime
// and ProgressDeadline keep their zero: it means something there (no
// deployment, healthy at once, no progress deadline). The job spec parser and
// Nomad's API client fill every field a block leaves out before sending.
func (u *UpdateStrategy) canonicalize() {
	if u == nil {
		return
	}
	d := DefaultUpdateStrategy()
	if u.Stagger == 0 {
		u.Stagger = d.Stagger
	}
	if u.HealthCheck == "" {
		u.HealthCheck = d.HealthCheck
	}
	if u.HealthyDeadline == 0 {
		u.HealthyDeadline = d.HealthyDeadline
	}
}

// Copy returns a copy of u.
func (u *UpdateStrategy) Copy() *UpdateStrategy {
	if u == nil {
		return nil
	}
	n := *u
	return &n
}

// IsEmpty reports whether the strategy asks for no deployment: a group
// without one is updated all at once.
func (u *UpdateStrategy) IsEmpty() bool { return u == nil || u.MaxParallel == 0 }

// Rolling reports whether the strategy updates with a deployment.
func (u *UpdateStrategy) Rolling() bool { return !u.IsEmpty() }

// Validate checks the strategy's values.
func (u *UpdateStrategy) Validate() error {
	if u == nil {
		return nil
	}
	var v ValidationError
	switch u.HealthCheck {
	case "", UpdateStrategyHealthCheckChecks, UpdateStrategyHealthCheckTaskStates, UpdateStrategyHealthCheckManual:
	default:
		v.add("HealthCheck", "unknown health check %q (use \"checks\", \"task_states\" or \"manual\")", u.HealthCheck)
	}
	if u.MaxParallel < 0 {
		v.add("MaxParallel", "cannot be negative, got %d", u.MaxParallel)
	}
	if u.Canary < 0 {
		v.add("Canary", "cannot be negative, got %d", u.Canary)
	}
	if u.Canary == 0 && u.AutoPromote {
		v.add("AutoPromote", "auto_promote needs canary > 0")
	}
	if u.MinHealthyTime < 0 || u.HealthyDeadline < 0 || u.ProgressDeadline < 0 || u.Stagger < 0 {
		v.add("", "durations cannot be negative")
	}
	if u.HealthyDeadline > 0 && u.MinHealthyTime >= u.HealthyDeadline {
		v.add("MinHealthyTime", "min_healthy_time (%s) must be less than healthy_deadline (%s)", u.MinHealthyTime, u.HealthyDeadline)
	}
	if u.ProgressDeadline != 0 && u.HealthyDeadline > u.ProgressDeadline {
		v.add("HealthyDeadline", "healthy_deadline (%s) must be less than or equal to progress_deadline (%s)", u.HealthyDeadline, u.ProgressDeadline)
	}
	return v.err()
}

// groupUpdate returns the group's strategy: its own block when it has one
// (complete: the job spec parser and Nomad's API client merge the job's block
// into it, keeping explicit zeros such as canary = 0), else the job's.
func groupUpdate(job, group *UpdateStrategy) *UpdateStrategy {
	if group != nil {
		return group
	}
	return job.Copy()
}

// Deployment statuses.
const (
	DeploymentStatusRunning      = "running"
	DeploymentStatusPaused       = "paused"
	DeploymentStatusFailed       = "failed"
	DeploymentStatusSuccessful   = "successful"
	DeploymentStatusCancelled    = "cancelled"
	DeploymentStatusPending      = "pending"
	DeploymentStatusBlocked      = "blocked"
	DeploymentStatusUnblocking   = "unblocking"
	DeploymentStatusInitializing = "initializing"
)

// Deployment status descriptions, as Nomad words them.
const (
	DeploymentStatusDescriptionRunning               = "Deployment is running"
	DeploymentStatusDescriptionRunningNeedsPromotion = "Deployment is running but requires manual promotion"
	DeploymentStatusDescriptionRunningAutoPromotion  = "Deployment is running pending automatic promotion"
	DeploymentStatusDescriptionPaused                = "Deployment is paused"
	DeploymentStatusDescriptionSuccessful            = "Deployment completed successfully"
	DeploymentStatusDescriptionStoppedJob            = "Cancelled because job is stopped"
	DeploymentStatusDescriptionNewerJob              = "Cancelled due to newer version of job"
	DeploymentStatusDescriptionFailedAllocations     = "Failed due to unhealthy allocations"
	DeploymentStatusDescriptionProgressDeadline      = "Failed due to progress deadline"
	DeploymentStatusDescriptionFailedByUser          = "Deployment marked as failed"
)

// DeploymentStatusDescriptionRollback is the description of a failed
// deployment that auto_revert rolls back to version.
func DeploymentStatusDescriptionRollback(base string, version uint64) string {
	return fmt.Sprintf("%s - rolling back to job version %d", base, version)
}

// DeploymentStatusDescriptionNoRollbackTarget is the description of a failed
// deployment that auto_revert cannot roll back (no earlier stable version).
func DeploymentStatusDescriptionNoRollbackTarget(base string) string {
	return base + " - no stable job version to auto revert to"
}

// Deployment tracks the rollout of one version of a service job.
type Deployment struct {
	ID                 string
	Namespace          string
	JobID              string
	JobVersion         uint64
	JobModifyIndex     uint64
	JobSpecModifyIndex uint64
	JobCreateIndex     uint64
	IsMultiregion      bool
	// TaskGroups is the rollout state of each group that has an update strategy.
	TaskGroups        map[string]*DeploymentState
	Status            string
	StatusDescription string
	EvalPriority      int
	CreateIndex       uint64
	ModifyIndex       uint64
	// CreateTime and ModifyTime are unix nanoseconds, as Nomad's.
	CreateTime int64
	ModifyTime int64
}

// NewDeployment starts a deployment of job's current version; the caller
// (the scheduler) supplies the ID and time.
func NewDeployment(id string, job *Job, evalPriority int, now time.Time) *Deployment {
	return &Deployment{
		ID:                 id,
		Namespace:          job.Namespace,
		JobID:              job.ID,
		JobVersion:         job.Version,
		JobModifyIndex:     job.ModifyIndex,
		JobSpecModifyIndex: job.JobModifyIndex,
		JobCreateIndex:     job.CreateIndex,
		TaskGroups:         map[string]*DeploymentState{},
		Status:             DeploymentStatusRunning,
		StatusDescription:  DeploymentStatusDescriptionRunning,
		EvalPriority:       evalPriority,
		CreateTime:         now.UnixNano(),
		ModifyTime:         now.UnixNano(),
	}
}

// Active reports whether the deployment still runs (running, paused, pending…).
func (d *Deployment) Active() bool {
	switch d.Status {
	case DeploymentStatusRunning, DeploymentStatusPaused, DeploymentStatusBlocked,
		DeploymentStatusUnblocking, DeploymentStatusInitializing, DeploymentStatusPending:
		return true
	}
	return false
}

// HasPlacedCanaries reports whether any group placed a canary.
func (d *Deployment) HasPlacedCanaries() bool {
	for _, s := range d.TaskGroups {
		if len(s.PlacedCanaries) > 0 {
			return true
		}
	}
	return false
}

// RequiresPromotion reports whether a group has canaries waiting for promotion.
func (d *Deployment) RequiresPromotion() bool {
	if d == nil || !d.Active() {
		return false
	}
	for _, s := range d.TaskGroups {
		if s.DesiredCanaries > 0 && !s.Promoted {
			return true
		}
	}
	return false
}

// Copy returns a deep copy of d.
func (d *Deployment) Copy() *Deployment {
	if d == nil {
		return nil
	}
	n := *d
	n.TaskGroups = make(map[string]*DeploymentState, len(d.TaskGroups))
	for k, s := range d.TaskGroups {
		n.TaskGroups[k] = s.Copy()
	}
	return &n
}

// DeploymentState is the rollout state of one group.
type DeploymentState struct {
	AutoRevert        bool
	AutoPromote       bool
	ProgressDeadline  time.Duration
	RequireProgressBy time.Time
	Promoted          bool
	PlacedCanaries    []string
	DesiredCanaries   int
	DesiredTotal      int
	PlacedAllocs      int
	HealthyAllocs     int
	UnhealthyAllocs   int
}

// Copy returns a copy of s.
func (s *DeploymentState) Copy() *DeploymentState {
	if s == nil {
		return nil
	}
	n := *s
	n.PlacedCanaries = append([]string(nil), s.PlacedCanaries...)
	return &n
}

// DeploymentStatusUpdate changes a deployment's status.
type DeploymentStatusUpdate struct {
	DeploymentID      string
	Status            string
	StatusDescription string
}

// AllocDeploymentStatus is what the client reports about an allocation
// placed by a deployment: whether it became healthy, and whether it is a canary.
type AllocDeploymentStatus struct {
	// Healthy is nil until the client decides.
	Healthy *bool
	// Timestamp is when health was decided.
	Timestamp   time.Time
	Canary      bool
	ModifyIndex uint64
}

// HasHealth reports whether the health is decided.
func (a *AllocDeploymentStatus) HasHealth() bool { return a != nil && a.Healthy != nil }

// IsHealthy reports whether the allocation was reported healthy.
func (a *AllocDeploymentStatus) IsHealthy() bool { return a != nil && a.Healthy != nil && *a.Healthy }

// IsUnhealthy reports whether the allocation was reported unhealthy.
func (a *AllocDeploymentStatus) IsUnhealthy() bool {
	return a != nil && a.Healthy != nil && !*a.Healthy
}

// IsCanary reports whether the allocation is a canary.
func (a *AllocDeploymentStatus) IsCanary() bool { return a != nil && a.Canary }

// Copy returns a copy of a.
func (a *AllocDeploymentStatus) Copy() *AllocDeploymentStatus {
	if a == nil {
		return nil
	}
	n := *a
	if a.Healthy != nil {
		h := *a.Healthy
		n.Healthy = &h
	}
	return &n
}

// DeploymentStatusUpdateRequest is the Raft entry (DeploymentStatusUpdateRequestType)
// that changes a deployment's status, optionally registering a job (the
// auto-revert target) and creating an evaluation in the same entry.
type DeploymentStatusUpdateRequest struct {
	DeploymentUpdate *DeploymentStatusUpdate
	Job              *Job        `json:",omitempty"`
	Eval             *Evaluation `json:",omitempty"`
	// UpdatedAt is the time of the change, unix nanoseconds (set by the leader).
	UpdatedAt int64
}

// DeploymentPromoteRequest promotes canaries: of every group (All) or of the
// named ones. Also the Raft entry DeploymentPromoteRequestType, with Eval set.
type DeploymentPromoteRequest struct {
	DeploymentID string
	All          bool
	Groups       []string
	Eval         *Evaluation `json:",omitempty"`
	UpdatedAt    int64
}

// DeploymentPauseRequest pauses or resumes a deployment.
type DeploymentPauseRequest struct {
	DeploymentID string
	Pause        bool
}

// DeploymentFailRequest fails a deployment by hand.
type DeploymentFailRequest struct {
	DeploymentID string
}

// DeploymentAllocHealthRequest marks allocations of a deployment healthy or
// unhealthy by hand (PUT /v1/deployment/allocation-health/{id}), or, from the
// deployment watcher, is the Raft entry DeploymentAllocHealthRequestType.
type DeploymentAllocHealthRequest struct {
	DeploymentID           string
	HealthyAllocationIDs   []string
	UnhealthyAllocationIDs []string
	// Set by the server for the Raft entry.
	DeploymentUpdate *DeploymentStatusUpdate `json:",omitempty"`
	Job              *Job                    `json:",omitempty"`
	Eval             *Evaluation             `json:",omitempty"`
	UpdatedAt        int64
}

// DeploymentUpdateResponse is the reply of the deployment write endpoints.
type DeploymentUpdateResponse struct {
	EvalID                string
	EvalCreateIndex       uint64
	DeploymentModifyIndex uint64
	// RevertedJobVersion is set when the change rolled the job back.
	RevertedJobVersion *uint64 `json:",omitempty"`
	Index              uint64
}
