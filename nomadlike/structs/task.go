package structs

import (
	"encoding/json"
	"fmt"
	"time"
)

// DefaultKillTimeout is how long a task gets between its kill signal and SIGKILL.
const DefaultKillTimeout = 5 * time.Second

// Task is one process (or container, or VM) run by a driver.
type Task struct {
	Name          string
	Driver        string
	User          string
	Config        map[string]any // driver-specific, decoded by the driver
	Constraints   []*Constraint
	Affinities    []*Affinity
	Env           map[string]string
	Resources     *Resources
	RestartPolicy *RestartPolicy
	Meta          map[string]string
	KillTimeout   time.Duration
	LogConfig     *LogConfig
	Leader        bool
	ShutdownDelay time.Duration
	KillSignal    string
	// Lifecycle makes the task a prestart, poststart or poststop task; nil
	// for a main task.
	Lifecycle *TaskLifecycleConfig
	// Templates are rendered into the task dir before the task starts.
	Templates []*Template
	// DispatchPayload writes a dispatched job's payload into local/.
	DispatchPayload *DispatchPayloadConfig
	// Artifacts are fetched into the task dir before the task starts.
	Artifacts []*TaskArtifact
	// Services are registered with Nomad's service discovery while the task runs.
	Services []*Service `json:",omitempty"`
	// VolumeMounts mount the group's volumes into the task.
	VolumeMounts []*VolumeMount `json:",omitempty"`
	// Identity is the task's default workload identity block; Identities
	// its named ones (identity.go). The servers sign them.
	Identity   *WorkloadIdentity   `json:",omitempty"`
	Identities []*WorkloadIdentity `json:",omitempty"`
	// Actions are the commands an operator may run in the task by name.
	Actions []*Action `json:",omitempty"`
}

func (t *Task) canonicalize(j *Job, tg *TaskGroup) {
	if t.Resources == nil {
		t.Resources = DefaultResources()
	}
	if t.KillTimeout == 0 {
		t.KillTimeout = DefaultKillTimeout
	}
	if t.LogConfig == nil {
		t.LogConfig = DefaultLogConfig()
	}
	if t.RestartPolicy == nil && tg.RestartPolicy != nil {
		t.RestartPolicy = tg.RestartPolicy.Copy()
	}
	for _, tmpl := range t.Templates {
		tmpl.canonicalize()
	}
	for _, s := range t.Services {
		if s != nil {
			s.Canonicalize(j.Name, tg.Name, t.Name)
		}
	}
}

// Validate checks the task.
func (t *Task) Validate(tg *TaskGroup) error {
	var v ValidationError
	if t.Name == "" {
		v.add("Name", "task needs a name")
	} else if why := taskNameProblem(t.Name); why != "" {
		v.add("Name", "%s", why)
	}
	if t.Driver == "" {
		v.add("Driver", "task %q needs a driver (for example driver = \"raw_exec\")", t.Name)
	}
	if t.Resources == nil {
		v.add("Resources", "missing (Canonicalize fills defaults)")
	} else {
		v.merge("Resources", t.Resources.Validate())
		v.merge("Resources", validateNetworks(t.Resources.Networks))
	}
	if t.KillTimeout < 0 {
		v.add("KillTimeout", "cannot be negative")
	}
	if t.RestartPolicy != nil {
		v.merge("RestartPolicy", t.RestartPolicy.Validate())
	}
	if t.LogConfig != nil {
		if t.LogConfig.MaxFiles < 1 {
			v.add("LogConfig.MaxFiles", "must be at least 1")
		}
		if t.LogConfig.MaxFileSizeMB < 1 {
			v.add("LogConfig.MaxFileSizeMB", "must be at least 1")
		}
	}
	for i, c := range t.Constraints {
		v.merge(fmt.Sprintf("Constraints[%d]", i), c.Validate())
	}
	if t.Lifecycle != nil {
		v.merge("Lifecycle", t.Lifecycle.Validate())
	}
	for i, tmpl := range t.Templates {
		if tmpl == nil {
			v.add(templatesField(i), "is null; remove it or give it EmbeddedTmpl or SourcePath")
			continue
		}
		v.merge(templatesField(i), tmpl.Validate())
	}
	if t.DispatchPayload != nil {
		v.merge("DispatchPayload", t.DispatchPayload.Validate())
	}
	for i, a := range t.Artifacts {
		if a == nil {
			v.add(fmt.Sprintf("Artifacts[%d]", i), "is null; remove it or give it a GetterSource")
			continue
		}
		v.merge(fmt.Sprintf("Artifacts[%d]", i), a.Validate())
	}
	v.merge("", ValidateServices(t.Services, tg, t))
	t.validateIdentitiesAndActions(&v)
	t.validateVolumeMounts(tg, &v)
	return v.err()
}

// Copy returns a deep copy of t.
func (t *Task) Copy() *Task {
	if t == nil {
		return nil
	}
	n := *t
	n.Config = copyAnyMap(t.Config)
	n.Constraints = copyConstraints(t.Constraints)
	n.Affinities = copyAffinities(t.Affinities)
	n.Env = copyMap(t.Env)
	n.Meta = copyMap(t.Meta)
	n.Services = CopyServices(t.Services)
	n.Resources = t.Resources.Copy()
	n.RestartPolicy = t.RestartPolicy.Copy()
	n.Lifecycle = t.Lifecycle.Copy()
	n.Templates = copyTemplates(t.Templates)
	n.DispatchPayload = t.DispatchPayload.Copy()
	n.Artifacts = copyArtifacts(t.Artifacts)
	n.VolumeMounts = copyVolumeMounts(t.VolumeMounts)
	n.Identity = t.Identity.Copy()
	n.Identities = copyIdentities(t.Identities)
	n.Actions = copyActions(t.Actions)
	if t.LogConfig != nil {
		lc := *t.LogConfig
		n.LogConfig = &lc
	}
	return &n
}

// LogConfig bounds a task's log files: MaxFiles files of MaxFileSizeMB each, per stream.
type LogConfig struct {
	MaxFiles      int
	MaxFileSizeMB int
	Disabled      bool
}

// UnmarshalJSON applies defaults for absent fields.
func (l *LogConfig) UnmarshalJSON(b []byte) error {
	type plain LogConfig
	p := plain(*DefaultLogConfig())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*l = LogConfig(p)
	return nil
}

// DefaultLogConfig is Nomad's: 10 files of 10 MB.
func DefaultLogConfig() *LogConfig { return &LogConfig{MaxFiles: 10, MaxFileSizeMB: 10} }

// Restart modes.
const (
	RestartModeFail  = "fail"
	RestartModeDelay = "delay"
)

// RestartPolicy says how the client restarts a failed task in place:
// at most Attempts restarts within Interval, Delay apart; then Mode decides:
// "fail" fails the task, "delay" waits until the interval ends and tries again.
type RestartPolicy struct {
	Attempts        int
	Interval        time.Duration
	Delay           time.Duration
	Mode            string
	RenderTemplates bool
}

// DefaultRestartPolicy returns Nomad's default for a job type.
func DefaultRestartPolicy(jobType string) *RestartPolicy {
	if jobType == JobTypeBatch || jobType == JobTypeSysBatch {
		return &RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: RestartModeFail}
	}
	return &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: RestartModeFail}
}

// Copy returns a copy of r.
func (r *RestartPolicy) Copy() *RestartPolicy {
	if r == nil {
		return nil
	}
	n := *r
	return &n
}

// Validate checks the policy.
func (r *RestartPolicy) Validate() error {
	var v ValidationError
	switch r.Mode {
	case RestartModeFail, RestartModeDelay:
	default:
		v.add("Mode", "unknown restart mode %q (use \"fail\" or \"delay\")", r.Mode)
	}
	if r.Attempts < 0 {
		v.add("Attempts", "cannot be negative, got %d", r.Attempts)
	}
	if r.Delay < 0 {
		v.add("Delay", "cannot be negative")
	}
	if r.Attempts > 0 && r.Interval <= 0 {
		v.add("Interval", "must be positive when attempts > 0")
	}
	if r.Attempts > 0 && r.Interval > 0 && time.Duration(r.Attempts)*r.Delay > r.Interval {
		v.add("Interval", "%d attempts with a delay of %s do not fit in an interval of %s", r.Attempts, r.Delay, r.Interval)
	}
	return v.err()
}

// ReschedulePolicy says how the scheduler replaces a failed allocation on another node.
type ReschedulePolicy struct {
	Attempts      int
	Interval      time.Duration
	Delay         time.Duration
	DelayFunction string
	MaxDelay      time.Duration
	Unlimited     bool
}

// AllowsAnother reports whether a failed allocation whose lineage is tracker
// may be rescheduled once more at now: the policy is unlimited, or fewer than
// Attempts reschedules happened in the last Interval. A nil policy allows
// none. The scheduler decides with it, and `job run` uses it to tell whether
// a replacement of a failed batch allocation will follow.
func (p *ReschedulePolicy) AllowsAnother(tracker *RescheduleTracker, now time.Time) bool {
	switch {
	case p == nil:
		return false
	case p.Unlimited:
		return true
	case p.Attempts <= 0:
		return false
	case tracker == nil:
		return true
	}
	since := now.Add(-p.Interval).UnixNano()
	n := 0
	for _, e := range tracker.Events {
		if p.Interval <= 0 || e.RescheduleTime > since {
			n++
		}
	}
	return n < p.Attempts
}

// DefaultReschedulePolicy returns Nomad's default for a job type.
func DefaultReschedulePolicy(jobType string) *ReschedulePolicy {
	if jobType == JobTypeBatch {
		return &ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}
	}
	return &ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour, Unlimited: true}
}
