package schedtest

import (
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var _ scheduler.State = (*State)(nil)

// State is an in-memory cluster state that implements scheduler.State.
// Objects handed to Upsert* are owned by the State from then on; objects it
// returns must not be changed (Copy first), as with the real state store.
type State struct {
	index  uint64
	jobs   map[string]*structs.Job // namespace/id
	nodes  map[string]*structs.Node
	allocs map[string]*structs.Allocation
	evals  map[string]*structs.Evaluation
	byNode map[string][]*structs.Allocation
	byJob  map[string][]*structs.Allocation // namespace/job ID
	sorted []*structs.Node                  // nodes sorted by ID, nil when stale
	config *structs.SchedulerConfig         // nil: defaults
	deps   map[string]*structs.Deployment   // by ID
	pools  map[string]*structs.NodePool     // by name, built-in ones excepted
}

// NewState returns an empty state at index 1.
func NewState() *State {
	return &State{
		index:  1,
		jobs:   map[string]*structs.Job{},
		nodes:  map[string]*structs.Node{},
		allocs: map[string]*structs.Allocation{},
		evals:  map[string]*structs.Evaluation{},
		byNode: map[string][]*structs.Allocation{},
		byJob:  map[string][]*structs.Allocation{},
		deps:   map[string]*structs.Deployment{},
	}
}

// Snapshot returns a point-in-time copy that later writes to s do not change.
func (s *State) Snapshot() *State {
	c := &State{
		index:  s.index,
		jobs:   maps.Clone(s.jobs),
		nodes:  maps.Clone(s.nodes),
		allocs: maps.Clone(s.allocs),
		evals:  maps.Clone(s.evals),
		byNode: make(map[string][]*structs.Allocation, len(s.byNode)),
		byJob:  make(map[string][]*structs.Allocation, len(s.byJob)),
		sorted: s.sorted,
		config: s.config.Copy(),
		deps:   maps.Clone(s.deps),
		pools:  maps.Clone(s.pools),
	}
	for k, v := range s.byNode {
		c.byNode[k] = slices.Clip(v)
	}
	for k, v := range s.byJob {
		c.byJob[k] = slices.Clip(v)
	}
	return c
}

func jobKey(namespace, id string) string { return namespace + "/" + id }

func (s *State) next() uint64 {
	s.index++
	return s.index
}

// UpsertNode adds or replaces a node.
func (s *State) UpsertNode(n *structs.Node) {
	idx := s.next()
	n.ComputeClass() // as the server does when a node registers
	if old, ok := s.nodes[n.ID]; ok {
		n.CreateIndex = old.CreateIndex
	} else {
		n.CreateIndex = idx
	}
	n.ModifyIndex = idx
	s.nodes[n.ID] = n
	s.sorted = nil
}

// DeleteNode removes a node (its allocations stay, as after a GC race).
func (s *State) DeleteNode(id string) {
	s.next()
	delete(s.nodes, id)
	s.sorted = nil
}

// UpsertJob registers j, bumping its Version when a job of that ID exists, as
// the state store does.
func (s *State) UpsertJob(j *structs.Job) {
	idx := s.next()
	key := jobKey(j.Namespace, j.ID)
	if old, ok := s.jobs[key]; ok {
		j.CreateIndex = old.CreateIndex
		j.Version = old.Version + 1
	} else {
		j.CreateIndex = idx
	}
	j.ModifyIndex = idx
	j.JobModifyIndex = idx
	s.jobs[key] = j
}

// DeleteJob removes (purges) a job.
func (s *State) DeleteJob(namespace, id string) {
	s.next()
	delete(s.jobs, jobKey(namespace, id))
}

// UpsertAllocs adds or replaces allocations.
func (s *State) UpsertAllocs(allocs ...*structs.Allocation) {
	idx := s.next()
	for _, a := range allocs {
		if old, ok := s.allocs[a.ID]; ok {
			a.CreateIndex = old.CreateIndex
			s.byNode[a.NodeID] = replace(s.byNode[a.NodeID], a)
			s.byJob[jobKey(a.Namespace, a.JobID)] = replace(s.byJob[jobKey(a.Namespace, a.JobID)], a)
		} else {
			a.CreateIndex = idx
			s.byNode[a.NodeID] = append(slices.Clip(s.byNode[a.NodeID]), a)
			k := jobKey(a.Namespace, a.JobID)
			s.byJob[k] = append(slices.Clip(s.byJob[k]), a)
		}
		a.ModifyIndex = idx
		a.AllocModifyIndex = idx
		s.allocs[a.ID] = a
	}
}

// replace returns list with the allocation of a's ID swapped for a, copying
// the slice so snapshots sharing it are unaffected.
func replace(list []*structs.Allocation, a *structs.Allocation) []*structs.Allocation {
	out := slices.Clone(list)
	for i, o := range out {
		if o.ID == a.ID {
			out[i] = a
			return out
		}
	}
	return append(out, a)
}

// UpsertEval adds or replaces an evaluation.
func (s *State) UpsertEval(e *structs.Evaluation) {
	idx := s.next()
	if old, ok := s.evals[e.ID]; ok {
		e.CreateIndex = old.CreateIndex
	} else {
		e.CreateIndex = idx
	}
	e.ModifyIndex = idx
	s.evals[e.ID] = e
}

// Allocs returns every allocation, sorted by name then ID.
func (s *State) Allocs() []*structs.Allocation {
	out := slices.Collect(maps.Values(s.allocs))
	slices.SortFunc(out, func(a, b *structs.Allocation) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// AllocByID returns an allocation or nil.
func (s *State) AllocByID(id string) *structs.Allocation { return s.allocs[id] }

// JobByID implements scheduler.State.
func (s *State) JobByID(_ memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	return s.jobs[jobKey(namespace, id)], nil
}

// NodeByID implements scheduler.State.
func (s *State) NodeByID(_ memdb.WatchSet, id string) (*structs.Node, error) {
	return s.nodes[id], nil
}

// Nodes implements scheduler.State: every node, sorted by ID.
func (s *State) Nodes(_ memdb.WatchSet) ([]*structs.Node, error) {
	if s.sorted == nil {
		s.sorted = slices.SortedFunc(maps.Values(s.nodes), func(a, b *structs.Node) int { return strings.Compare(a.ID, b.ID) })
	}
	return slices.Clone(s.sorted), nil
}

// AllocsByJob implements scheduler.State. With all false, allocations of an
// earlier job of the same ID (created before the current job) are left out.
func (s *State) AllocsByJob(_ memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Allocation, error) {
	list := s.byJob[jobKey(namespace, jobID)]
	if all {
		return slices.Clone(list), nil
	}
	j := s.jobs[jobKey(namespace, jobID)]
	var out []*structs.Allocation
	for _, a := range list {
		if j == nil || a.Job == nil || a.Job.CreateIndex == j.CreateIndex {
			out = append(out, a)
		}
	}
	return out, nil
}

// AllocsByNode implements scheduler.State.
func (s *State) AllocsByNode(_ memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	return slices.Clone(s.byNode[nodeID]), nil
}

// NodeUsage implements scheduler.State: it sums the node's live allocations.
func (s *State) NodeUsage(_ memdb.WatchSet, nodeID string) (*structs.NodeUsage, error) {
	u := &structs.NodeUsage{NodeID: nodeID}
	for _, a := range s.byNode[nodeID] {
		u.Apply(a, 1)
	}
	return u, nil
}

// EvalByID implements scheduler.State.
func (s *State) EvalByID(_ memdb.WatchSet, id string) (*structs.Evaluation, error) {
	return s.evals[id], nil
}

// LatestIndex implements scheduler.State.
func (s *State) LatestIndex() (uint64, error) { return s.index, nil }

// SetSchedulerConfig sets the operator's scheduler configuration (nil: defaults).
func (s *State) SetSchedulerConfig(c *structs.SchedulerConfig) {
	idx := s.next()
	if c != nil {
		c = c.Copy()
		c.ModifyIndex = idx
		if c.CreateIndex == 0 {
			c.CreateIndex = idx
		}
	}
	s.config = c
}

// SchedulerConfig implements scheduler.State.
func (s *State) SchedulerConfig() (*structs.SchedulerConfig, error) { return s.config.Copy(), nil }

// UpsertNodePool stores a node pool (owned by the State from then on).
func (s *State) UpsertNodePool(p *structs.NodePool) {
	if s.pools == nil {
		s.pools = map[string]*structs.NodePool{}
	}
	s.pools[p.Name] = p
}

// NodePoolByName implements scheduler.State.
func (s *State) NodePoolByName(_ memdb.WatchSet, name string) (*structs.NodePool, error) {
	for _, p := range structs.BuiltInNodePools() {
		if p.Name == name {
			return p, nil
		}
	}
	return s.pools[name], nil
}
