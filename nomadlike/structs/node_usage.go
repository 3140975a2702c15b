package structs

// NodeUsage is what the live (not terminal) allocations of one node use.
// The state store keeps one per node with allocations, updated by every
// write of allocations, so the scheduler ranks a node without reading
// each of its allocations. It is derived from the allocations: never in a
// Raft entry or a snapshot (a restore rebuilds it).
type NodeUsage struct {
	NodeID string
	// Used is the sum of the live allocations' AllocatedResources.Comparable().
	Used ComparableResources
	// Live counts the live allocations.
	Live int
	// Exclusive counts the live allocations that hold host ports or
	// reserved cores (HoldsExclusive): a reader that needs which ports and
	// cores are taken must read the allocations while it is not zero.
	Exclusive int
}

// Apply adds (sign 1) or removes (sign -1) a's contribution when a is live.
func (u *NodeUsage) Apply(a *Allocation, sign int) {
	if a == nil || a.TerminalStatus() {
		return
	}
	c := a.AllocatedResources.Comparable()
	u.Used.CPU += int64(sign) * c.CPU
	u.Used.MemoryMB += int64(sign) * c.MemoryMB
	u.Used.DiskMB += int64(sign) * c.DiskMB
	u.Live += sign
	if a.HoldsExclusive() {
		u.Exclusive += sign
	}
}

// HoldsExclusive reports whether a holds any host port (reserved, dynamic
// or mapped) or reserved core, the resources counted one by one rather
// than summed.
func (a *Allocation) HoldsExclusive() bool {
	ar := a.AllocatedResources
	if ar == nil {
		return false
	}
	if len(ar.Shared.Ports) > 0 || networksHoldPorts(ar.Shared.Networks) {
		return true
	}
	for _, t := range ar.Tasks {
		if len(t.Cpu.ReservedCores) > 0 || networksHoldPorts(t.Networks) {
			return true
		}
	}
	return false
}

func networksHoldPorts(ns []*NetworkResource) bool {
	for _, n := range ns {
		if n != nil && (len(n.ReservedPorts) > 0 || len(n.DynamicPorts) > 0) {
			return true
		}
	}
	return false
}
