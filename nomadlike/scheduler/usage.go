package scheduler

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// nodeUsage is what one node has and what the existing allocations plus the
// plan in progress use of it. It is loaded from state the first time a
// placement considers the node and then kept current as the plan grows.
type nodeUsage struct {
	capacity structs.ComparableResources
	used     structs.ComparableResources
	ports    map[int]int // host port -> holders (allocations, or 1 for the node's reserved ports)
}

// usageTracker owns the per-node usage of one evaluation.
type usageTracker struct {
	state    State
	stopping map[string]bool // allocation IDs the plan stops
	nodes    map[string]*nodeUsage
}

func newUsageTracker(st State) *usageTracker {
	return &usageTracker{state: st, stopping: map[string]bool{}, nodes: map[string]*nodeUsage{}}
}

// get returns the usage of node, loading it from state on first use.
func (u *usageTracker) get(node *structs.Node) (*nodeUsage, error) {
	if nu, ok := u.nodes[node.ID]; ok {
		return nu, nil
	}
	allocs, err := u.state.AllocsByNode(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("read allocations of node %s: %w", node.ID, err)
	}
	nu := &nodeUsage{capacity: node.Comparable()}
	if node.ReservedResources != nil {
		for _, p := range structs.ParsePortRanges(node.ReservedResources.Networks.ReservedHostPorts) {
			nu.addPort(p)
		}
	}
	for _, a := range allocs {
		if a.TerminalStatus() || u.stopping[a.ID] {
			continue
		}
		nu.add(a)
	}
	u.nodes[node.ID] = nu
	return nu, nil
}

// stop records that the plan stops a; its resources are free from now on.
func (u *usageTracker) stop(a *structs.Allocation) {
	if u.stopping[a.ID] {
		return
	}
	u.stopping[a.ID] = true
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
}

func (nu *nodeUsage) addPort(p int) {
	if nu.ports == nil {
		nu.ports = map[int]int{}
	}
	nu.ports[p]++
}

func (nu *nodeUsage) portUsed(p int) bool { return nu.ports[p] > 0 }

// fits reports whether ask fits beside the current usage; if not it names
// the exhausted dimension ("cpu", "memory" or "disk").
func (nu *nodeUsage) fits(ask structs.ComparableResources) (bool, string) {
	total := nu.used
	total.Add(ask)
	return nu.capacity.Superset(total)
}

// allocPorts returns the distinct host ports an allocation holds.
func allocPorts(a *structs.Allocation) []int {
	ar := a.AllocatedResources
	if ar == nil {
		return nil
	}
	var out []int
	seen := func(p int) bool {
		for _, q := range out {
			if q == p {
				return true
			}
		}
		return false
	}
	addNet := func(n *structs.NetworkResource) {
		if n == nil {
			return
		}
		for _, p := range n.ReservedPorts {
			if p.Value > 0 && !seen(p.Value) {
				out = append(out, p.Value)
			}
		}
		for _, p := range n.DynamicPorts {
			if p.Value > 0 && !seen(p.Value) {
				out = append(out, p.Value)
			}
		}
	}
	for _, pm := range ar.Shared.Ports {
		if pm.Value > 0 && !seen(pm.Value) {
			out = append(out, pm.Value)
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
	return out
}
