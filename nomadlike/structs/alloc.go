package structs

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Allocation desired statuses (what the server wants).
const (
	AllocDesiredStatusRun   = "run"
	AllocDesiredStatusStop  = "stop"
	AllocDesiredStatusEvict = "evict"
)

// Allocation client statuses (what the client reports).
const (
	AllocClientStatusPending  = "pending"
	AllocClientStatusRunning  = "running"
	AllocClientStatusComplete = "complete"
	AllocClientStatusFailed   = "failed"
	AllocClientStatusLost     = "lost"
	AllocClientStatusUnknown  = "unknown"
)

// Allocation is one placement of a task group on a node.
type Allocation struct {
	ID                 string
	Namespace          string
	EvalID             string
	Name               string // job.group[index]
	NodeID             string
	NodeName           string
	JobID              string
	Job                *Job // the job version this allocation runs; shared and immutable
	TaskGroup          string
	AllocatedResources *AllocatedResources
	Metrics            *AllocMetric
	DesiredStatus      string
	DesiredDescription string
	ClientStatus       string
	ClientDescription  string
	TaskStates         map[string]*TaskState
	DeploymentID       string
	// DeploymentStatus is the client's verdict on the allocation's health
	// within its deployment, and whether it is a canary.
	DeploymentStatus   *AllocDeploymentStatus `json:",omitempty"`
	FollowupEvalID     string
	PreviousAllocation string
	NextAllocation     string
	RescheduleTracker  *RescheduleTracker
	// PreemptedAllocations are the allocations evicted to make room for this one.
	PreemptedAllocations []string `json:",omitempty"`
	// PreemptedByAllocation is the allocation that evicted this one.
	PreemptedByAllocation string `json:",omitempty"`
	CreateIndex           uint64
	ModifyIndex           uint64
	AllocModifyIndex      uint64
	CreateTime            int64
	ModifyTime            int64

	// DesiredTransition is what the servers ask of the allocation besides
	// its desired status (the drainer marks it for migration).
	DesiredTransition DesiredTransition

	// NetworkStatus is the allocation's own network as the client set it up
	// (bridge and cni/<name> modes): interface, address and DNS.
	NetworkStatus *AllocNetworkStatus `json:",omitempty"`

	// packedTaskStates is TaskStates packed by PackTaskStates (TaskStates
	// is then nil); task_states_pack.go.
	packedTaskStates string
	// packedMetrics is Metrics packed by PackMetrics (Metrics is then nil);
	// alloc_metric_pack.go.
	packedMetrics string
}

// AllocNetworkStatus is an allocation's network as its client reports it.
type AllocNetworkStatus struct {
	InterfaceName string
	Address       string
	AddressIPv6   string `json:",omitempty"`
	DNS           *DNSConfig
}

// Copy returns a deep copy of s.
func (s *AllocNetworkStatus) Copy() *AllocNetworkStatus {
	if s == nil {
		return nil
	}
	c := *s
	c.DNS = s.DNS.Copy()
	return &c
}

// RescheduleTracker records the reschedule history of an allocation's lineage.
type RescheduleTracker struct {
	Events []*RescheduleEvent
}

// RescheduleEvent is one reschedule of an allocation.
type RescheduleEvent struct {
	RescheduleTime int64
	PrevAllocID    string
	PrevNodeID     string
	Delay          time.Duration
}

// TerminalStatus reports whether the allocation is finished from either side.
func (a *Allocation) TerminalStatus() bool {
	switch a.DesiredStatus {
	case AllocDesiredStatusStop, AllocDesiredStatusEvict:
		return true
	}
	return a.ClientTerminalStatus()
}

// ClientTerminalStatus reports whether the client says the allocation is finished.
func (a *Allocation) ClientTerminalStatus() bool {
	switch a.ClientStatus {
	case AllocClientStatusComplete, AllocClientStatusFailed, AllocClientStatusLost:
		return true
	}
	return false
}

// Index returns the allocation's index within its group, parsed from its name "job.group[N]".
func (a *Allocation) Index() int {
	n := a.Name
	l := len(n)
	if l == 0 || n[l-1] != ']' {
		return -1
	}
	i := l - 2
	for i >= 0 && n[i] >= '0' && n[i] <= '9' {
		i--
	}
	if i < 0 || n[i] != '[' || i == l-2 {
		return -1
	}
	idx := 0
	for _, c := range n[i+1 : l-1] {
		idx = idx*10 + int(c-'0')
	}
	return idx
}

// Copy returns a copy of a. The Job is shared (immutable); task states are copied.
func (a *Allocation) Copy() *Allocation {
	if a == nil {
		return nil
	}
	n := *a
	n.AllocatedResources = a.AllocatedResources.Copy()
	if a.packedTaskStates != "" {
		n.TaskStates, n.packedTaskStates = unpackTaskStates(a.packedTaskStates), "" // a copy already
	} else if a.TaskStates != nil {
		n.TaskStates = make(map[string]*TaskState, len(a.TaskStates))
		for k, ts := range a.TaskStates {
			n.TaskStates[k] = ts.Copy()
		}
	}
	if a.RescheduleTracker != nil {
		rt := *a.RescheduleTracker
		rt.Events = copyPtrs(a.RescheduleTracker.Events)
		n.RescheduleTracker = &rt
	}
	n.DesiredTransition = copyDesiredTransition(a.DesiredTransition)
	if a.packedMetrics != "" {
		n.Metrics, n.packedMetrics = unpackMetric(a.packedMetrics), "" // a copy already
	} else {
		n.Metrics = a.Metrics.Copy()
	}
	if a.PreemptedAllocations != nil {
		n.PreemptedAllocations = append([]string(nil), a.PreemptedAllocations...)
	}
	n.DeploymentStatus = a.DeploymentStatus.Copy()
	n.NetworkStatus = a.NetworkStatus.Copy()
	return &n
}

// Stub returns the allocation's list entry.
func (a *Allocation) Stub() *AllocListStub {
	s := &AllocListStub{
		ID: a.ID, EvalID: a.EvalID, Name: a.Name, Namespace: a.Namespace, NodeID: a.NodeID,
		NodeName: a.NodeName, JobID: a.JobID, TaskGroup: a.TaskGroup,
		AllocatedResources: a.AllocatedResources, DesiredStatus: a.DesiredStatus,
		DesiredDescription: a.DesiredDescription, ClientStatus: a.ClientStatus,
		ClientDescription: a.ClientDescription, TaskStates: a.TaskStateMap(),
		FollowupEvalID: a.FollowupEvalID, NextAllocation: a.NextAllocation,
		RescheduleTracker: a.RescheduleTracker, DeploymentStatus: a.DeploymentStatus,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
		CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
	if a.Job != nil {
		s.JobType = a.Job.Type
		s.JobVersion = a.Job.Version
	}
	return s
}

// AllocListStub is an allocation's entry in list endpoints.
type AllocListStub struct {
	ID                 string
	EvalID             string
	Name               string
	Namespace          string
	NodeID             string
	NodeName           string
	JobID              string
	JobType            string
	JobVersion         uint64
	TaskGroup          string
	AllocatedResources *AllocatedResources `json:",omitempty"`
	DesiredStatus      string
	DesiredDescription string
	ClientStatus       string
	ClientDescription  string
	TaskStates         map[string]*TaskState
	FollowupEvalID     string
	NextAllocation     string
	RescheduleTracker  *RescheduleTracker
	DeploymentStatus   *AllocDeploymentStatus `json:",omitempty"`
	CreateIndex        uint64
	ModifyIndex        uint64
	CreateTime         int64
	ModifyTime         int64
}

// Task states.
const (
	TaskStatePending = "pending"
	TaskStateRunning = "running"
	TaskStateDead    = "dead"
)

// TaskState is a task's lifecycle as the client reports it.
type TaskState struct {
	State       string
	Failed      bool
	Restarts    uint64
	LastRestart time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Events      []*TaskEvent
}

// Copy returns a deep copy of ts.
func (ts *TaskState) Copy() *TaskState {
	if ts == nil {
		return nil
	}
	n := *ts
	n.Events = make([]*TaskEvent, len(ts.Events))
	for i, e := range ts.Events {
		ec := *e
		ec.Details = maps.Clone(e.Details)
		n.Events[i] = &ec
	}
	return &n
}

// Task event types, as Nomad names them.
const (
	TaskSetup            = "Task Setup"
	TaskSetupFailure     = "Setup Failure"
	TaskDriverFailure    = "Driver Failure"
	TaskDriverMessage    = "Driver"
	TaskReceived         = "Received"
	TaskFailedValidation = "Failed Validation"
	TaskStarted          = "Started"
	TaskTerminated       = "Terminated"
	TaskKilling          = "Killing"
	TaskKilled           = "Killed"
	TaskRestarting       = "Restarting"
	TaskNotRestarting    = "Not Restarting"
	TaskRestartSignal    = "Restart Signaled"
	TaskSignaling        = "Signaling"
	TaskSiblingFailed    = "Sibling Task Failed"
	TaskLeaderDead       = "Leader Task Dead"
	TaskClientReconnect  = "Reconnected"
	// TaskWaitingShuttingDownDelay: the task's services are deregistered
	// and the client waits its shutdown_delay before killing it.
	TaskWaitingShuttingDownDelay = "Waiting for shutdown delay"
	// TaskSkippingShutdownDelay: the stop asked for no shutdown_delay.
	TaskSkippingShutdownDelay = "Skipping shutdown delay"
)

// MaxTaskEvents bounds the events kept per task.
const MaxTaskEvents = 10

// TaskEvent is one step in a task's life, with a message a person reads.
type TaskEvent struct {
	Type           string
	Time           int64 // unix nanoseconds
	DisplayMessage string
	Details        map[string]string
	Message        string
	FailsTask      bool
	RestartReason  string
	SetupError     string
	DriverError    string
	ExitCode       int
	Signal         int
	KillReason     string
	KillTimeout    time.Duration
	KillError      string
	StartDelay     int64
}

// NewTaskEvent returns an event of type typ at now with a display message.
func NewTaskEvent(typ string, now time.Time, msg string) *TaskEvent {
	return &TaskEvent{Type: typ, Time: now.UnixNano(), DisplayMessage: msg, Message: msg, Details: map[string]string{}}
}

// AllocMetric explains a placement: how many nodes were looked at and why
// the others were not chosen. Its JSON is Nomad's AllocationMetric.
type AllocMetric struct {
	NodesEvaluated     int
	NodesFiltered      int
	NodesInPool        int
	NodePool           string
	NodesAvailable     map[string]int // per datacenter
	ClassFiltered      map[string]int
	ConstraintFiltered map[string]int // constraint text -> nodes it filtered
	NodesExhausted     int
	ClassExhausted     map[string]int
	DimensionExhausted map[string]int // "cpu", "memory", "disk", "network: ..." -> nodes
	QuotaExhausted     []string
	ResourcesExhausted map[string]*Resources
	Scores             map[string]float64
	AllocationTime     time.Duration
	CoalescedFailures  int
	ScoreMetaData      []*NodeScoreMeta
	// DimensionFree tells, per exhausted dimension, what the placement asked
	// and the most any node exhausted on it had free (nomadlike's addition to
	// Nomad's wire format, for plain-words explanations).
	DimensionFree map[string]*DimensionShortfall `json:",omitempty"`

	// packedScores is ScoreMetaData packed by PackScores (ScoreMetaData is
	// then nil); alloc_metric_pack.go.
	packedScores string
}

// DimensionShortfall is what a placement asked of one resource dimension and
// the largest free amount among the nodes that lacked it.
type DimensionShortfall struct {
	Asked       int64
	LargestFree int64
	Unit        string // "MHz", "MB" or "cores"
}

// ExhaustedNodeFree records that node lacked room on dimension, with what
// the placement asked and what the node had free.
func (m *AllocMetric) ExhaustedNodeFree(node *Node, dimension string, asked, free int64, unit string) {
	m.ExhaustedNode(node, dimension)
	if m.DimensionFree == nil {
		m.DimensionFree = map[string]*DimensionShortfall{}
	}
	free = max(free, 0)
	if d, ok := m.DimensionFree[dimension]; ok {
		d.LargestFree = max(d.LargestFree, free)
		return
	}
	m.DimensionFree[dimension] = &DimensionShortfall{Asked: asked, LargestFree: free, Unit: unit}
}

// NodeScoreMeta is a node's score for a placement.
type NodeScoreMeta struct {
	NodeID    string
	Scores    NodeScores // a JSON object name -> score, as Nomad's map
	NormScore float64
}

// FilterNode records that node was filtered by constraint (text as the user wrote it).
func (m *AllocMetric) FilterNode(node *Node, constraint string) {
	m.NodesFiltered++
	if node != nil && node.NodeClass != "" {
		if m.ClassFiltered == nil {
			m.ClassFiltered = map[string]int{}
		}
		m.ClassFiltered[node.NodeClass]++
	}
	if constraint != "" {
		if m.ConstraintFiltered == nil {
			m.ConstraintFiltered = map[string]int{}
		}
		m.ConstraintFiltered[constraint]++
	}
}

// ExhaustedNode records that node lacked room on dimension.
func (m *AllocMetric) ExhaustedNode(node *Node, dimension string) {
	m.NodesExhausted++
	if node != nil && node.NodeClass != "" {
		if m.ClassExhausted == nil {
			m.ClassExhausted = map[string]int{}
		}
		m.ClassExhausted[node.NodeClass]++
	}
	if dimension != "" {
		if m.DimensionExhausted == nil {
			m.DimensionExhausted = map[string]int{}
		}
		m.DimensionExhausted[dimension]++
	}
}

// Copy returns a deep copy of m.
func (m *AllocMetric) Copy() *AllocMetric {
	if m == nil {
		return nil
	}
	m = m.unpacked()
	n := *m
	n.NodesAvailable = maps.Clone(m.NodesAvailable)
	n.ClassFiltered = maps.Clone(m.ClassFiltered)
	n.ConstraintFiltered = maps.Clone(m.ConstraintFiltered)
	n.ClassExhausted = maps.Clone(m.ClassExhausted)
	n.DimensionExhausted = maps.Clone(m.DimensionExhausted)
	n.Scores = maps.Clone(m.Scores)
	n.QuotaExhausted = append([]string(nil), m.QuotaExhausted...)
	if m.ResourcesExhausted != nil {
		n.ResourcesExhausted = make(map[string]*Resources, len(m.ResourcesExhausted))
		for k, r := range m.ResourcesExhausted {
			n.ResourcesExhausted[k] = r.Copy()
		}
	}
	if m.ScoreMetaData != nil {
		n.ScoreMetaData = make([]*NodeScoreMeta, len(m.ScoreMetaData))
		for i, s := range m.ScoreMetaData {
			if s != nil {
				sc := *s
				sc.Scores = s.Scores.Clone()
				n.ScoreMetaData[i] = &sc
			}
		}
	}
	if m.DimensionFree != nil {
		n.DimensionFree = make(map[string]*DimensionShortfall, len(m.DimensionFree))
		for k, d := range m.DimensionFree {
			dc := *d
			n.DimensionFree[k] = &dc
		}
	}
	return &n
}

// MarshalJSON adds the legacy resource fields Nomad still sends and its
// CLI reads (node status and alloc status fail without them): Resources,
// the allocation's total, and TaskResources, per task, both derived from
// AllocatedResources.
func (a *Allocation) MarshalJSON() ([]byte, error) {
	res, tasks := a.legacyResources()
	return json.Marshal(struct {
		*plainAllocation
		Resources     *Resources
		TaskResources map[string]*Resources
	}{(*plainAllocation)(a.unpacked()), res, tasks})
}

// legacyResources returns Nomad's pre-0.9 resource fields of the allocation.
func (a *Allocation) legacyResources() (*Resources, map[string]*Resources) {
	ar := a.AllocatedResources
	if ar == nil {
		return nil, nil
	}
	total := &Resources{DiskMB: int(ar.Shared.DiskMB), Networks: slices.Clip(ar.Shared.Networks)}
	tasks := make(map[string]*Resources, len(ar.Tasks))
	for name, t := range ar.Tasks {
		tr := &Resources{CPU: int(t.Cpu.CpuShares), MemoryMB: int(t.Memory.MemoryMB),
			MemoryMaxMB: int(t.Memory.MemoryMaxMB), Networks: t.Networks}
		tasks[name] = tr
		total.CPU += tr.CPU
		total.MemoryMB += tr.MemoryMB
		switch {
		case tr.MemoryMaxMB == MemoryNoLimit:
			total.MemoryMaxMB = MemoryNoLimit // one task without a limit: the allocation has none
		case total.MemoryMaxMB != MemoryNoLimit:
			total.MemoryMaxMB += tr.MemoryMaxMB
		}
		total.Networks = append(total.Networks, t.Networks...)
	}
	return total, tasks
}
