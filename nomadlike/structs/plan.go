package structs

// Plan is what a scheduler wants to change for one evaluation: allocations to
// stop (NodeUpdate) and allocations to create or update (NodeAllocation), keyed
// by node ID. The plan applier on the leader re-checks it against the newest
// state and commits what still fits.
type Plan struct {
	EvalID         string
	Priority       int
	AllAtOnce      bool
	Job            *Job
	NodeUpdate     map[string][]*Allocation
	NodeAllocation map[string][]*Allocation
	// NodePreemptions are existing allocations of lower-priority jobs the
	// plan evicts (DesiredStatus "evict", PreemptedByAllocation set) to make
	// room for its placements, keyed by node ID.
	NodePreemptions map[string][]*Allocation `json:",omitempty"`
	Annotations     *PlanAnnotations
	// Deployment is created or updated with the plan (a new deployment for
	// a new job version, or the current one with new placement counts).
	Deployment *Deployment `json:",omitempty"`
	// DeploymentUpdates change other deployments' status (cancel an older
	// version's deployment, mark one successful).
	DeploymentUpdates []*DeploymentStatusUpdate `json:",omitempty"`
	// SnapshotIndex is the state index the scheduler planned against.
	SnapshotIndex uint64
}

// AppendStoppedAlloc adds a stop of alloc with a reason and a client status
// (empty to leave the client status alone).
func (p *Plan) AppendStoppedAlloc(alloc *Allocation, desc, clientStatus string) {
	n := alloc.Copy()
	n.Job = nil // the state store keeps the job the allocation already has
	n.DesiredStatus = AllocDesiredStatusStop
	n.DesiredDescription = desc
	if clientStatus != "" {
		n.ClientStatus = clientStatus
	}
	if p.NodeUpdate == nil {
		p.NodeUpdate = map[string][]*Allocation{}
	}
	p.NodeUpdate[alloc.NodeID] = append(p.NodeUpdate[alloc.NodeID], n)
}

// AppendPreemptedAlloc adds the eviction of alloc to make room for the
// allocation preemptingID.
func (p *Plan) AppendPreemptedAlloc(alloc *Allocation, preemptingID string) {
	n := alloc.Copy()
	n.Job = nil // the state store keeps the job the allocation already has
	n.DesiredStatus = AllocDesiredStatusEvict
	n.DesiredDescription = "Preempted by alloc ID " + preemptingID
	n.PreemptedByAllocation = preemptingID
	if p.NodePreemptions == nil {
		p.NodePreemptions = map[string][]*Allocation{}
	}
	p.NodePreemptions[alloc.NodeID] = append(p.NodePreemptions[alloc.NodeID], n)
}

// AppendAlloc adds a placement.
func (p *Plan) AppendAlloc(alloc *Allocation) {
	if p.NodeAllocation == nil {
		p.NodeAllocation = map[string][]*Allocation{}
	}
	p.NodeAllocation[alloc.NodeID] = append(p.NodeAllocation[alloc.NodeID], alloc)
}

// IsNoOp reports whether the plan changes nothing.
func (p *Plan) IsNoOp() bool {
	return len(p.NodeUpdate) == 0 && len(p.NodeAllocation) == 0 && len(p.NodePreemptions) == 0 &&
		p.Deployment == nil && len(p.DeploymentUpdates) == 0
}

// PlanResult is what the applier committed of a plan.
type PlanResult struct {
	NodeUpdate     map[string][]*Allocation
	NodeAllocation map[string][]*Allocation
	// NodePreemptions are the evictions committed.
	NodePreemptions map[string][]*Allocation `json:",omitempty"`
	// Deployment and DeploymentUpdates are the plan's, committed with it.
	Deployment        *Deployment               `json:",omitempty"`
	DeploymentUpdates []*DeploymentStatusUpdate `json:",omitempty"`
	// RefreshIndex is set when part of the plan was refused: the scheduler
	// must refresh its snapshot to at least this index before retrying.
	RefreshIndex uint64
	// AllocIndex is the Raft index at which the result was committed.
	AllocIndex uint64
}

// FullCommit reports whether everything in plan was committed, and the
// number of placements expected and actually committed.
func (r *PlanResult) FullCommit(plan *Plan) (bool, int, int) {
	expected, actual := 0, 0
	for node, allocs := range plan.NodeAllocation {
		expected += len(allocs)
		actual += len(r.NodeAllocation[node])
	}
	for node, allocs := range plan.NodeUpdate {
		expected += len(allocs)
		actual += len(r.NodeUpdate[node])
	}
	return expected == actual, expected, actual
}

// PlanAnnotations describe a plan for `job plan` and the UI.
type PlanAnnotations struct {
	DesiredTGUpdates map[string]*DesiredUpdates
}

// DesiredUpdates counts what a plan does to one group.
type DesiredUpdates struct {
	Ignore            uint64
	Place             uint64
	Migrate           uint64
	Stop              uint64
	InPlaceUpdate     uint64
	DestructiveUpdate uint64
	Canary            uint64
	Preemptions       uint64
}
