package structs

import (
	"fmt"
	"strings"
	"time"
)

// Job types.
const (
	JobTypeService = "service"
	JobTypeBatch   = "batch"
	JobTypeSystem  = "system"
	// JobTypeSysBatch runs a group once to completion on every eligible node.
	JobTypeSysBatch = "sysbatch"
)

// Job statuses, derived from the job's allocations and evaluations.
const (
	JobStatusPending = "pending"
	JobStatusRunning = "running"
	JobStatusDead    = "dead"
)

// Defaults applied by Canonicalize.
const (
	DefaultRegion    = "global"
	DefaultNamespace = "default"
	DefaultPriority  = 50
	DefaultNodePool  = "default"
)

// Job is the desired state a user submits: groups of tasks and where they may run.
type Job struct {
	Region      string
	Namespace   string
	ID          string
	Name        string
	Type        string
	Priority    int
	AllAtOnce   bool
	Datacenters []string
	NodePool    string
	Constraints []*Constraint
	Affinities  []*Affinity `json:",omitempty"`
	Spreads     []*Spread   `json:",omitempty"`
	TaskGroups  []*TaskGroup
	Meta        map[string]string
	// Update is the job-wide update block; Canonicalize merges it into
	// every group of a service job (a group's own block overrides fields).
	Update *UpdateStrategy `json:",omitempty"`
	// Periodic makes the job a template launched on a cron schedule.
	Periodic *PeriodicConfig `json:",omitempty"`
	// ParameterizedJob makes the job a template instantiated by dispatch.
	ParameterizedJob *ParameterizedJobConfig `json:",omitempty"`
	// Dispatched marks a child created by a dispatch.
	Dispatched bool
	// DispatchIdempotencyToken makes repeated dispatches with the same token
	// return the first child instead of creating another.
	DispatchIdempotencyToken string `json:",omitempty"`
	// Payload is a dispatched job's input, written into the tasks'
	// local/<dispatch_payload.file>.
	Payload []byte

	// VersionTag names this version (`job tag apply`); set by the server.
	VersionTag *JobVersionTag `json:",omitempty"`

	// Fields set by the server.
	Stop              bool
	ParentID          string
	Status            string
	StatusDescription string
	Stable            bool
	Version           uint64
	SubmitTime        int64
	CreateIndex       uint64
	ModifyIndex       uint64
	JobModifyIndex    uint64
}

// Canonicalize fills in defaults, as Nomad's client and server do, so that a
// minimal job is complete. It is idempotent.
func (j *Job) Canonicalize() {
	if j.Name == "" {
		j.Name = j.ID
	}
	if j.Region == "" {
		j.Region = DefaultRegion
	}
	if j.Namespace == "" {
		j.Namespace = DefaultNamespace
	}
	if j.Type == "" {
		j.Type = JobTypeService
	}
	if j.Priority == 0 {
		j.Priority = DefaultPriority
	}
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{"*"}
	}
	if j.NodePool == "" {
		j.NodePool = DefaultNodePool
	}
	if j.Periodic != nil {
		j.Periodic.Canonicalize()
	}
	if j.ParameterizedJob != nil {
		j.ParameterizedJob.Canonicalize()
	}
	for _, tg := range j.TaskGroups {
		tg.canonicalize(j)
	}
}

// Validate returns every problem with the job, each naming its field.
func (j *Job) Validate() error {
	var v ValidationError
	switch {
	case j.ID == "":
		v.add("ID", "job needs an ID")
	case strings.Contains(j.ID, " "):
		v.add("ID", "job ID %q contains a space; Nomad's job IDs may hold any character but spaces and NUL", j.ID)
	case strings.ContainsRune(j.ID, 0):
		v.add("ID", "job ID contains a null character")
	case len(j.ID) > 128:
		v.add("ID", "is longer than 128 characters")
	}
	if why := nulProblem("job", j.Name); why != "" {
		v.add("Name", "%s", why)
	}
	switch j.Type {
	case JobTypeService, JobTypeBatch, JobTypeSystem, JobTypeSysBatch:
	default:
		v.add("Type", "unknown job type %q (use \"service\", \"batch\", \"system\" or \"sysbatch\")", j.Type)
	}
	if j.SystemType() {
		if len(j.Affinities) > 0 {
			v.add("Affinities", "%s jobs run on every eligible node and may not have an affinity block", j.Type)
		}
		if len(j.Spreads) > 0 {
			v.add("Spreads", "%s jobs run on every eligible node and may not have a spread block", j.Type)
		}
	}
	if j.Priority < 1 || j.Priority > 100 {
		v.add("Priority", "must be between 1 and 100, got %d", j.Priority)
	}
	if len(j.Datacenters) == 0 {
		v.add("Datacenters", "job needs at least one datacenter (or \"*\" for all)")
	}
	for i, dc := range j.Datacenters {
		if dc == "" {
			v.add(fmt.Sprintf("Datacenters[%d]", i), "datacenter name is empty")
		}
	}
	for i, c := range j.Constraints {
		v.merge(fmt.Sprintf("Constraints[%d]", i), c.Validate())
	}
	for i, a := range j.Affinities {
		v.merge(fmt.Sprintf("Affinities[%d]", i), a.Validate())
	}
	v.merge("", validateSpreads(j.Spreads))
	v.merge("Update", j.Update.Validate())
	if j.Periodic != nil {
		v.merge("Periodic", j.Periodic.Validate())
		if j.Periodic.Enabled && j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
			v.add("Periodic", "periodic jobs must be of type \"batch\" or \"sysbatch\", not %q", j.Type)
		}
	}
	if j.ParameterizedJob != nil {
		v.merge("ParameterizedJob", j.ParameterizedJob.Validate())
		if j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
			v.add("ParameterizedJob", "parameterized jobs must be of type \"batch\" or \"sysbatch\", not %q", j.Type)
		}
		if j.IsPeriodic() {
			v.add("ParameterizedJob", "a job cannot be both periodic and parameterized")
		}
	}
	if len(j.TaskGroups) == 0 {
		v.add("TaskGroups", "job needs at least one group")
	}
	names := map[string]int{}
	for i, tg := range j.TaskGroups {
		f := fmt.Sprintf("TaskGroups[%d]", i)
		if tg.Name != "" {
			f = fmt.Sprintf("TaskGroups[%q]", tg.Name)
			if prev, ok := names[tg.Name]; ok {
				v.add(f, "group name %q is also used by group %d", tg.Name, prev)
			}
			names[tg.Name] = i
		}
		v.merge(f, tg.Validate(j))
	}
	return v.err()
}

// SystemType reports whether the job runs on every eligible node (system or sysbatch).
func (j *Job) SystemType() bool { return j.Type == JobTypeSystem || j.Type == JobTypeSysBatch }

// validateSpreads checks each spread and that no attribute is spread twice.
func validateSpreads(spreads []*Spread) error {
	var v ValidationError
	seen := map[string]bool{}
	for i, s := range spreads {
		f := fmt.Sprintf("Spreads[%d]", i)
		v.merge(f, s.Validate())
		if s.Attribute != "" && seen[s.Attribute] {
			v.add(f, "attribute %q is spread twice", s.Attribute)
		}
		seen[s.Attribute] = true
	}
	return v.err()
}

// LookupTaskGroup returns the named group or nil.
func (j *Job) LookupTaskGroup(name string) *TaskGroup {
	for _, tg := range j.TaskGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

// Copy returns a deep copy of j.
func (j *Job) Copy() *Job {
	if j == nil {
		return nil
	}
	n := *j
	n.Datacenters = append([]string(nil), j.Datacenters...)
	n.Constraints = copyConstraints(j.Constraints)
	n.Affinities = copyAffinities(j.Affinities)
	n.Spreads = copySpreads(j.Spreads)
	n.Meta = copyMap(j.Meta)
	n.Update = j.Update.Copy()
	n.Periodic = j.Periodic.Copy()
	n.VersionTag = j.VersionTag.Copy()
	n.ParameterizedJob = j.ParameterizedJob.Copy()
	if j.Payload != nil {
		n.Payload = append([]byte(nil), j.Payload...)
	}
	n.TaskGroups = make([]*TaskGroup, len(j.TaskGroups))
	for i, tg := range j.TaskGroups {
		n.TaskGroups[i] = tg.Copy()
	}
	return &n
}

// Stub returns the job's list entry.
func (j *Job) Stub(summary *JobSummary) *JobListStub {
	return &JobListStub{
		ID: j.ID, ParentID: j.ParentID, Name: j.Name, Namespace: j.Namespace,
		Datacenters: j.Datacenters, Type: j.Type, Priority: j.Priority, Stop: j.Stop,
		Status: j.Status, StatusDescription: j.StatusDescription, JobSummary: summary,
		CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex, JobModifyIndex: j.JobModifyIndex,
		SubmitTime: j.SubmitTime, Meta: j.Meta,
		Periodic: j.IsPeriodic(), ParameterizedJob: j.IsParameterized(), NodePool: j.NodePool,
	}
}

// JobListStub is a job's entry in GET /v1/jobs.
type JobListStub struct {
	ID                string
	ParentID          string
	Name              string
	Namespace         string `json:",omitempty"`
	Datacenters       []string
	NodePool          string
	Type              string
	Priority          int
	Periodic          bool
	ParameterizedJob  bool
	Stop              bool
	Status            string
	StatusDescription string
	JobSummary        *JobSummary
	CreateIndex       uint64
	ModifyIndex       uint64
	JobModifyIndex    uint64
	SubmitTime        int64
	Meta              map[string]string `json:",omitempty"`
}

// JobSummary counts a job's allocations by client status, per group.
type JobSummary struct {
	JobID       string
	Namespace   string
	Summary     map[string]TaskGroupSummary
	Children    *JobChildrenSummary
	CreateIndex uint64
	ModifyIndex uint64
}

// JobChildrenSummary counts child jobs (periodic, dispatched) by status.
type JobChildrenSummary struct {
	Pending int64
	Running int64
	Dead    int64
}

// TaskGroupSummary counts one group's allocations by client status.
type TaskGroupSummary struct {
	Queued   int
	Complete int
	Failed   int
	Running  int
	Starting int
	Lost     int
	Unknown  int
}

// TaskGroup is a set of tasks placed together on one node, Count times.
type TaskGroup struct {
	Name             string
	Count            int
	Constraints      []*Constraint
	Affinities       []*Affinity
	Spreads          []*Spread
	Tasks            []*Task
	RestartPolicy    *RestartPolicy
	ReschedulePolicy *ReschedulePolicy
	EphemeralDisk    *EphemeralDisk
	Networks         []*NetworkResource
	Meta             map[string]string
	ShutdownDelay    *time.Duration
	// Migrate paces the migration of the group's allocations off draining
	// nodes; nil means one at a time.
	Migrate *MigrateStrategy `json:",omitempty"`
	// Update is the group's update strategy after Canonicalize merged the
	// job's; nil (or MaxParallel 0) means no deployment.
	Update *UpdateStrategy `json:",omitempty"`
	// MaxClientDisconnect is how long allocations on a disconnected node stay
	// "unknown" (and are not replaced) before they are lost; nil: lost at once.
	MaxClientDisconnect *time.Duration `json:",omitempty"`
	// Services are registered with Nomad's service discovery while the
	// group's allocations run.
	Services []*Service `json:",omitempty"`
	// Volumes are the group's volume blocks by name (host volumes only).
	Volumes map[string]*VolumeRequest `json:",omitempty"`
	// Scaling is the group's scaling block: Min and Max bound Count.
	Scaling *ScalingPolicy `json:",omitempty"`
}

// GroupJSONKeys says which of a group's keys its JSON gave a value (a key
// present and not null), for the defaults Nomad's API applies to a group
// sent as JSON (ApplyJSONDefaults).
type GroupJSONKeys struct {
	// Count: the last "Count" key holds a value. AnyCount: some "Count" key
	// does (a later null one leaves the decoded count as it was).
	Count, AnyCount bool
	// Scaling is nil when the group's JSON has no scaling object (none, or
	// null last); otherwise which of its keys hold a value.
	Scaling *ScalingJSONKeys
}

// ScalingJSONKeys says which keys of a group's scaling block hold a value.
type ScalingJSONKeys struct{ Min, Max, Enabled bool }

// ApplyJSONDefaults applies, to a group decoded from JSON whose keys k
// describes, the defaults the official client gives a group: Count 1 when
// the JSON has none (an explicit 0 stays 0), and the scaling block's
// (scalingJSONDefaults). The agent reads k in its one pass over the body
// for Nomad's other defaults (agent/http_jobs_shape.go): the group's
// UnmarshalJSON, which parsed each group's bytes a second time to learn
// the same, was a fifth of a registration's decode.
func (tg *TaskGroup) ApplyJSONDefaults(k GroupJSONKeys) {
	if !k.AnyCount {
		tg.Count = 1
	}
	tg.scalingJSONDefaults(k)
}

func (tg *TaskGroup) canonicalize(j *Job) {
	if tg.RestartPolicy == nil {
		tg.RestartPolicy = DefaultRestartPolicy(j.Type)
	}
	if tg.ReschedulePolicy == nil && !j.SystemType() {
		tg.ReschedulePolicy = DefaultReschedulePolicy(j.Type)
	}
	if tg.EphemeralDisk == nil {
		tg.EphemeralDisk = &EphemeralDisk{SizeMB: 300}
	}
	if j.Type == JobTypeService {
		tg.Update = groupUpdate(j.Update, tg.Update)
		tg.Update.canonicalize()
	} else {
		tg.Update = nil // only service jobs have deployments
	}
	tg.canonicalizeVolumes()
	tg.canonicalizeScaling(j)
	for _, t := range tg.Tasks {
		t.canonicalize(j, tg)
	}
	for _, s := range tg.Services {
		if s != nil {
			s.Canonicalize(j.Name, tg.Name, "")
		}
	}
}

// Validate checks the group; j gives the job's type for policy checks.
func (tg *TaskGroup) Validate(j *Job) error {
	var v ValidationError
	if tg.Name == "" {
		v.add("Name", "group needs a name")
	} else if why := nulProblem("group", tg.Name); why != "" {
		v.add("Name", "%s", why)
	}
	if tg.Count < 0 {
		v.add("Count", "cannot be negative, got %d", tg.Count)
	}
	for i, c := range tg.Constraints {
		v.merge(fmt.Sprintf("Constraints[%d]", i), c.Validate())
	}
	for i, a := range tg.Affinities {
		v.merge(fmt.Sprintf("Affinities[%d]", i), a.Validate())
	}
	v.merge("", validateSpreads(tg.Spreads))
	if j != nil && j.SystemType() && (len(tg.Affinities) > 0 || len(tg.Spreads) > 0) {
		v.add("", "%s jobs run on every eligible node; group %q may not have affinity or spread blocks", j.Type, tg.Name)
	}
	if tg.RestartPolicy != nil {
		v.merge("RestartPolicy", tg.RestartPolicy.Validate())
	}
	v.merge("Update", tg.Update.Validate())
	if tg.Update != nil && tg.Update.Canary > 0 && tg.Update.MaxParallel == 0 {
		v.add("Update.Canary", "canaries need max_parallel > 0")
	}
	if tg.MaxClientDisconnect != nil && *tg.MaxClientDisconnect < 0 {
		v.add("MaxClientDisconnect", "cannot be negative")
	}
	if tg.EphemeralDisk != nil && tg.EphemeralDisk.SizeMB < 0 {
		v.add("EphemeralDisk.SizeMB", "cannot be negative")
	}
	v.merge("", validateNetworks(tg.Networks))
	if len(tg.Networks) > 1 {
		v.add("Networks", "only one network block per group is supported")
	}
	if len(tg.Tasks) == 0 {
		v.add("Tasks", "group %q has no tasks; add at least one task block", tg.Name)
	}
	names := map[string]bool{}
	for i, t := range tg.Tasks {
		f := fmt.Sprintf("Tasks[%d]", i)
		if t.Name != "" {
			f = fmt.Sprintf("Tasks[%q]", t.Name)
			if names[t.Name] {
				v.add(f, "task name %q is used twice in group %q", t.Name, tg.Name)
			}
			names[t.Name] = true
		}
		v.merge(f, t.Validate(tg))
	}
	validateLifecycle(tg, &v)
	v.merge("", ValidateServices(tg.Services, tg, nil))
	tg.validateVolumes(&v)
	tg.validateScaling(&v)
	return v.err()
}

// LookupTask returns the named task or nil.
func (tg *TaskGroup) LookupTask(name string) *Task {
	for _, t := range tg.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Copy returns a deep copy of tg.
func (tg *TaskGroup) Copy() *TaskGroup {
	if tg == nil {
		return nil
	}
	n := *tg
	n.Constraints = copyConstraints(tg.Constraints)
	n.Affinities = copyAffinities(tg.Affinities)
	n.Spreads = copySpreads(tg.Spreads)
	n.RestartPolicy = tg.RestartPolicy.Copy()
	if tg.ReschedulePolicy != nil {
		rp := *tg.ReschedulePolicy
		n.ReschedulePolicy = &rp
	}
	if tg.EphemeralDisk != nil {
		ed := *tg.EphemeralDisk
		n.EphemeralDisk = &ed
	}
	n.Networks = copyNetworks(tg.Networks)
	n.Meta = copyMap(tg.Meta)
	n.Services = CopyServices(tg.Services)
	n.Volumes = copyVolumeRequests(tg.Volumes)
	n.Scaling = tg.Scaling.Copy()
	n.Update = tg.Update.Copy()
	if tg.Migrate != nil {
		m := *tg.Migrate
		n.Migrate = &m
	}
	if tg.MaxClientDisconnect != nil {
		d := *tg.MaxClientDisconnect
		n.MaxClientDisconnect = &d
	}
	if tg.ShutdownDelay != nil {
		d := *tg.ShutdownDelay
		n.ShutdownDelay = &d
	}
	n.Tasks = make([]*Task, len(tg.Tasks))
	for i, t := range tg.Tasks {
		n.Tasks[i] = t.Copy()
	}
	return &n
}

// Comparable sums the resources the group's tasks and disk ask for.
func (tg *TaskGroup) Comparable() ComparableResources {
	var c ComparableResources
	for _, t := range tg.Tasks {
		if t.Resources == nil {
			continue
		}
		c.CPU += int64(t.Resources.CPU)
		c.MemoryMB += int64(t.Resources.MemoryMB)
	}
	if tg.EphemeralDisk != nil {
		c.DiskMB = int64(tg.EphemeralDisk.SizeMB)
	}
	return c
}

// EphemeralDisk is the group's scratch disk (the alloc dir).
type EphemeralDisk struct {
	Sticky  bool
	SizeMB  int
	Migrate bool
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	n := make(map[string]string, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}
