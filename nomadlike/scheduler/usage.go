package scheduler

import (
	"fmt"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// nodeUsage is what one node has and what the existing allocations plus the
// plan in progress use of it. It is loaded from state the first time a
// placement considers the node and then kept current as the plan grows.
type nodeUsage struct {
	node     *structs.Node
	capacity structs.ComparableResources
	used     structs.ComparableResources
	ports    map[int]int    // host port -> holders (allocations, or 1 for the node's reserved ports)
	cores    map[uint16]int // reserved core -> holders
	// existing holds the node's live allocations read from state (not those
	// the plan places, nor those it stopped before the node was loaded),
	// the candidates for preemption. When the node's usage came from the
	// state's per-node sum, they are read only once preemption asks for
	// them (loaded false until then).
	existing []*structs.Allocation
	loaded   bool
	// excluded are the allocations the plan stopped before the node was
	// loaded from its sum (left out of existing as of then).
	excluded map[string]bool
}

// usageTracker owns the per-node usage of one evaluation.
type usageTracker struct {
	state    State
	stopping map[string]bool // allocation IDs the plan stops
	// stoppedOn is stopping by node: allocation ID -> the stopped version.
	stoppedOn map[string]map[string]*structs.Allocation
	nodes     map[string]*nodeUsage
}

func newUsageTracker(st State) *usageTracker {
	return &usageTracker{state: st, stopping: map[string]bool{}, stoppedOn: map[string]map[string]*structs.Allocation{}, nodes: map[string]*nodeUsage{}}
}

// get returns the usage of node, loading it from state on first use: from
// the state's per-node sum of its live allocations (one read, whatever
// their number) unless some of them hold ports or cores, which are then
// counted one by one from the allocations themselves.
func (u *usageTracker) get(node *structs.Node) (*nodeUsage, error) {
	if nu, ok := u.nodes[node.ID]; ok {
		return nu, nil
	}
	nu := &nodeUsage{node: node, capacity: node.Comparable()}
	if node.ReservedResources != nil {
		for _, p := range structs.ParsePortRanges(node.ReservedResources.Networks.ReservedHostPorts) {
			nu.addPort(p)
		}
	}
	sum, err := u.state.NodeUsage(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("read usage of node %s: %w", node.ID, err)
	}
	if sum.Exclusive == 0 {
		nu.used = sum.Used
		for id, a := range u.stoppedOn[node.ID] {
			if nu.excluded == nil {
				nu.excluded = map[string]bool{}
			}
			nu.excluded[id] = true
			if !a.TerminalStatus() {
				nu.remove(a)
			}
		}
		u.nodes[node.ID] = nu
		return nu, nil
	}
	allocs, err := u.state.AllocsByNode(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("read allocations of node %s: %w", node.ID, err)
	}
	for _, a := range allocs {
		if a.TerminalStatus() || u.stopping[a.ID] {
			continue
		}
		nu.add(a)
		nu.existing = append(nu.existing, a)
	}
	nu.loaded = true
	u.nodes[node.ID] = nu
	return nu, nil
}

// loadExisting reads nu's live allocations from state when its usage came
// from the per-node sum; preemption needs them.
func (u *usageTracker) loadExisting(nu *nodeUsage) error {
	if nu.loaded {
		return nil
	}
	allocs, err := u.state.AllocsByNode(nil, nu.node.ID)
	if err != nil {
		return fmt.Errorf("read allocations of node %s: %w", nu.node.ID, err)
	}
	for _, a := range allocs {
		if !a.TerminalStatus() && !nu.excluded[a.ID] {
			nu.existing = append(nu.existing, a)
		}
	}
	nu.loaded = true
	return nil
}

// stop records that the plan stops a; its resources are free from now on.
func (u *usageTracker) stop(a *structs.Allocation) {
	if u.stopping[a.ID] {
		return
	}
	u.stopping[a.ID] = true
	if u.stoppedOn[a.NodeID] == nil {
		u.stoppedOn[a.NodeID] = map[string]*structs.Allocation{}
	}
	u.stoppedOn[a.NodeID][a.ID] = a
	if nu, ok := u.nodes[a.NodeID]; ok && !a.TerminalStatus() {
		nu.remove(a)
	}
}

// unstop reverses stop when the plan backs out of stopping a.
func (u *usageTracker) unstop(a *structs.Allocation) {
	if !u.stopping[a.ID] {
		return
	}
	delete(u.stopping, a.ID)
	delete(u.stoppedOn[a.NodeID], a.ID)
	if nu, ok := u.nodes[a.NodeID]; ok && !a.TerminalStatus() {
		nu.add(a)
	}
}

// place records a new allocation on its node (whose usage must be loaded).
func (u *usageTracker) place(a *structs.Allocation) {
	if nu, ok := u.nodes[a.NodeID]; ok {
		nu.add(a)
	}
}

func (nu *nodeUsage) add(a *structs.Allocation) {
	nu.used.Add(a.AllocatedResources.Comparable())
	for _, p := range allocPorts(a) {
		nu.addPort(p)
	}
	for _, c := range allocCores(a) {
		if nu.cores == nil {
			nu.cores = map[uint16]int{}
		}
		nu.cores[c]++
	}
}

// allocCores returns the cores an allocation reserves.
func allocCores(a *structs.Allocation) []uint16 {
	if a.AllocatedResources == nil {
		return nil
	}
	var out []uint16
	for _, t := range a.AllocatedResources.Tasks {
		out = append(out, t.Cpu.ReservedCores...)
	}
	return out
}

// freeCores returns up to n of the node's reservable cores no allocation
// holds, lowest first.
func (nu *nodeUsage) freeCores(n int) []uint16 {
	var out []uint16
	for _, c := range nu.node.ReservableCores() {
		if len(out) == n {
			break
		}
		if nu.cores[c] == 0 {
			out = append(out, c)
		}
	}
	return out
}

// freeCoreCount is how many reservable cores no allocation holds.
func (nu *nodeUsage) freeCoreCount() int {
	n := 0
	for _, c := range nu.node.ReservableCores() {
		if nu.cores[c] == 0 {
			n++
		}
	}
	return n
}

func (nu *nodeUsage) remove(a *structs.Allocation) {
	c := a.AllocatedResources.Comparable()
	nu.used.CPU -= c.CPU
	nu.used.MemoryMB -= c.MemoryMB
	nu.used.DiskMB -= c.DiskMB
	for _, p := range allocPorts(a) {
		if nu.ports[p] <= 1 {
			delete(nu.ports, p)
		} else {
			nu.ports[p]--
		}
	}
	for _, c := range allocCores(a) {
		if nu.cores[c] <= 1 {
			delete(nu.cores, c)
		} else {
			nu.cores[c]--
		}
	}
}

func (nu *nodeUsage) addPort(p int) {
	if nu.ports == nil {
		nu.ports = map[int]int{}
	}
	nu.ports[p]++
}

// demand is what ask needs of this node: whole cores are charged at the
// node's MHz per core.
func (nu *nodeUsage) demand(ask *placeAsk) structs.ComparableResources {
	d := ask.resources
	if ask.cores > 0 {
		d.CPU += int64(ask.cores) * nu.node.MHzPerCore()
	}
	return d
}

// shortfall describes the dimension a placement did not fit on.
type shortfall struct {
	dim         string // "cpu", "memory", "disk" or "cores"; "" when it fits
	asked, free int64
	unit        string
}

// fits reports whether ask fits beside used (the node's usage, or that usage
// less some preempted allocations) with freeCores cores free; if not it
// names the exhausted dimension with what was asked and what is free.
func (nu *nodeUsage) fitsWith(ask *placeAsk, used structs.ComparableResources, freeCores int) shortfall {
	d := nu.demand(ask)
	c := nu.capacity
	switch {
	case used.CPU+d.CPU > c.CPU:
		return shortfall{dim: "cpu", asked: d.CPU, free: c.CPU - used.CPU, unit: "MHz"}
	case used.MemoryMB+d.MemoryMB > c.MemoryMB:
		return shortfall{dim: "memory", asked: d.MemoryMB, free: c.MemoryMB - used.MemoryMB, unit: "MB"}
	case used.DiskMB+d.DiskMB > c.DiskMB:
		return shortfall{dim: "disk", asked: d.DiskMB, free: c.DiskMB - used.DiskMB, unit: "MB"}
	case ask.cores > freeCores:
		return shortfall{dim: "cores", asked: int64(ask.cores), free: int64(freeCores), unit: "cores"}
	}
	return shortfall{}
}

// fits is fitsWith the node's current usage.
func (nu *nodeUsage) fits(ask *placeAsk) shortfall {
	free := 0
	if ask.cores > 0 {
		free = nu.freeCoreCount()
	}
	return nu.fitsWith(ask, nu.used, free)
}

// allocPorts returns the distinct host ports an allocation holds (every
// port of a range; not those with ignore_collision, which it shares).
func allocPorts(a *structs.Allocation) []int {
	ar := a.AllocatedResources
	if ar == nil {
		return nil
	}
	var out []int
	add := func(first, span int) {
		for p := first; p > 0 && p < first+span; p++ {
			out = append(out, p)
		}
	}
	addNet := func(n *structs.NetworkResource) {
		if n == nil {
			return
		}
		for _, p := range n.ReservedPorts {
			if !p.IgnoreCollision {
				add(p.Value, p.Span())
			}
		}
		for _, p := range n.DynamicPorts {
			add(p.Value, p.Span())
		}
	}
	for _, pm := range ar.Shared.Ports {
		if !ar.SharesPort(pm.Label) {
			add(pm.Value, pm.Span())
		}
	}
	for _, n := range ar.Shared.Networks {
		addNet(n)
	}
	for _, t := range ar.Tasks {
		for _, n := range t.Networks {
			addNet(n)
		}
	}
	if len(out) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}
