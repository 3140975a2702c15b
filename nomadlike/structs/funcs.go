package structs

import (
	"fmt"
	"strconv"
	"strings"
)

// AllocsFit reports whether allocs fit on node: CPU, memory, disk and host
// ports. When they do not, it names the exhausted dimension as Nomad's
// metrics do ("cpu", "memory", "disk", "cores", "network: port collision"): a
// reserved core held twice or not reservable on the node is "cores". It also
// returns the resources the allocations use. Terminal allocations are skipped.
func AllocsFit(node *Node, allocs []*Allocation) (bool, string, ComparableResources) {
	var used ComparableResources
	ports := map[int]bool{}
	for _, p := range ParsePortRanges(reservedPorts(node)) {
		ports[p] = true
	}
	var cores map[uint16]bool
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		used.Add(a.AllocatedResources.Comparable())
		if a.AllocatedResources == nil {
			continue
		}
		for _, t := range a.AllocatedResources.Tasks {
			for _, c := range t.Cpu.ReservedCores {
				if cores == nil {
					cores = map[uint16]bool{}
				}
				if cores[c] || !node.ReservableCore(c) {
					return false, "cores", used
				}
				cores[c] = true
			}
		}
		for _, pm := range a.AllocatedResources.Shared.Ports {
			if a.AllocatedResources.SharesPort(pm.Label) {
				continue
			}
			for p := pm.Value; p < pm.Value+pm.Span(); p++ {
				if ports[p] {
					return false, fmt.Sprintf("network: port %d collision", p), used
				}
				ports[p] = true
			}
		}
	}
	ok, dim := node.Comparable().Superset(used)
	return ok, dim, used
}

func reservedPorts(node *Node) string {
	if node.ReservedResources == nil {
		return ""
	}
	return node.ReservedResources.Networks.ReservedHostPorts
}

// ParsePortRanges parses "22,80,8000-8100" into ports. Bad parts are skipped;
// ValidatePortRanges reports them.
func ParsePortRanges(spec string) []int {
	var out []int
	for _, part := range strings.Split(spec, ",") {
		lo, hi, err := parsePortRange(part)
		if err != nil {
			continue
		}
		for p := lo; p <= hi; p++ {
			out = append(out, p)
		}
	}
	return out
}

// ValidatePortRanges checks a port list as reserved_ports takes it:
// "22,80,8000-8100", each port 1-65535, each range low to high.
func ValidatePortRanges(spec string) error {
	for _, part := range strings.Split(spec, ",") {
		if _, _, err := parsePortRange(part); err != nil {
			return err
		}
	}
	return nil
}

// parsePortRange parses one part of a port list: "80" or "8000-8100". An
// empty part gives lo > hi and no error.
func parsePortRange(part string) (lo, hi int, err error) {
	part = strings.TrimSpace(part)
	if part == "" {
		return 1, 0, nil
	}
	l, h, isRange := strings.Cut(part, "-")
	lo, err = strconv.Atoi(strings.TrimSpace(l))
	if err != nil || lo < 1 || lo > 65535 {
		return 0, 0, fmt.Errorf("%q is not a port (1-65535) or a range a-b", part)
	}
	if !isRange {
		return lo, lo, nil
	}
	hi, err = strconv.Atoi(strings.TrimSpace(h))
	if err != nil || hi < lo || hi > 65535 {
		return 0, 0, fmt.Errorf("%q is not a range a-b of ports with a <= b <= 65535", part)
	}
	return lo, hi, nil
}

// ReservableCores returns the CPU cores allocations may reserve whole:
// ReservableCpuCores when the node reports them, otherwise cores 0 to
// TotalCpuCores-1.
func (n *Node) ReservableCores() []uint16 {
	if n.NodeResources == nil {
		return nil
	}
	c := n.NodeResources.Cpu
	if len(c.ReservableCpuCores) > 0 {
		return c.ReservableCpuCores
	}
	out := make([]uint16, c.TotalCpuCores)
	for i := range out {
		out[i] = uint16(i)
	}
	return out
}

// ReservableCore reports whether core is one of the node's reservable cores.
func (n *Node) ReservableCore(core uint16) bool {
	for _, c := range n.ReservableCores() {
		if c == core {
			return true
		}
	}
	return false
}

// MHzPerCore is the node's CPU capacity of one core, which a task reserving
// whole cores is charged per core.
func (n *Node) MHzPerCore() int64 {
	if n.NodeResources == nil || n.NodeResources.Cpu.TotalCpuCores == 0 {
		return 0
	}
	return n.NodeResources.Cpu.CpuShares / int64(n.NodeResources.Cpu.TotalCpuCores)
}

// copyPtrs copies a slice of pointers to flat structs: each element is a new
// copy of the value it pointed to (nil stays nil).
func copyPtrs[T any](in []*T) []*T {
	if in == nil {
		return nil
	}
	out := make([]*T, len(in))
	for i, p := range in {
		out[i] = copyPtr(p)
	}
	return out
}

// copyPtr returns a pointer to a copy of *p, or nil.
func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
