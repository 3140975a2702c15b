package structs

import (
	"fmt"
	"strconv"
	"strings"
)

// AllocsFit reports whether allocs fit on node: CPU, memory, disk and host
// ports. When they do not, it names the exhausted dimension as Nomad's
// metrics do ("cpu", "memory", "disk", "network: port collision"). It also
// returns the resources the allocations use. Terminal allocations are skipped.
func AllocsFit(node *Node, allocs []*Allocation) (bool, string, ComparableResources) {
	var used ComparableResources
	ports := map[int]bool{}
	for _, p := range ParsePortRanges(reservedPorts(node)) {
		ports[p] = true
	}
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		used.Add(a.AllocatedResources.Comparable())
		if a.AllocatedResources == nil {
			continue
		}
		for _, pm := range a.AllocatedResources.Shared.Ports {
			if ports[pm.Value] {
				return false, fmt.Sprintf("network: port %d collision", pm.Value), used
			}
			ports[pm.Value] = true
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
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, found := strings.Cut(part, "-")
		l, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		h := l
		if found {
			if h, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || h < l {
				continue
			}
		}
		for p := l; p <= h; p++ {
			out = append(out, p)
		}
	}
	return out
}
