package scheduler

import (
	"fmt"
	"math/rand"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// randomPortTries is how many random dynamic ports are tried before a linear scan.
const randomPortTries = 20

// networkAsk is the ports a group asks for: its network block and its tasks'
// (deprecated) resources networks.
type networkAsk struct {
	group *structs.NetworkResource
	tasks map[string]*structs.NetworkResource // task name -> network
	order []string                            // task names in group order, for determinism
	// static are the reserved (static) host ports asked (every port of a
	// static range) that may not collide with another holder: preemption
	// must free them. Sorted, without duplicates.
	static []int
}

// newNetworkAsk collects tg's port asks; it returns nil when tg asks for none.
func newNetworkAsk(tg *structs.TaskGroup) *networkAsk {
	var ask networkAsk
	if len(tg.Networks) > 0 && tg.Networks[0] != nil {
		ask.group = tg.Networks[0]
	}
	for _, t := range tg.Tasks {
		if t.Resources == nil || len(t.Resources.Networks) == 0 || t.Resources.Networks[0] == nil {
			continue
		}
		if ask.tasks == nil {
			ask.tasks = map[string]*structs.NetworkResource{}
		}
		ask.tasks[t.Name] = t.Resources.Networks[0]
		ask.order = append(ask.order, t.Name)
	}
	if ask.group == nil && ask.tasks == nil {
		return nil
	}
	addStatic := func(n *structs.NetworkResource) {
		for _, p := range n.ReservedPorts {
			if p.IgnoreCollision || p.Value <= 0 {
				continue
			}
			for q := p.Value; q <= p.Last(); q++ {
				ask.static = append(ask.static, q)
			}
		}
	}
	if ask.group != nil {
		addStatic(ask.group)
	}
	for _, name := range ask.order {
		addStatic(ask.tasks[name])
	}
	slices.Sort(ask.static)
	ask.static = slices.Compact(ask.static)
	return &ask
}

// portOffer is the ports chosen for one allocation on one node.
type portOffer struct {
	shared   []*structs.NetworkResource
	mappings []structs.PortMapping
	tasks    map[string][]*structs.NetworkResource
}

// assignPorts picks host ports for ask on node, counting the ports in freed
// (holders per port, of allocations being preempted) as free. When it
// cannot, it returns the exhausted dimension as Nomad's metrics name it.
func assignPorts(node *structs.Node, nu *nodeUsage, ask *networkAsk, freed map[int]int, rng *rand.Rand) (*portOffer, string) {
	ip := nodeIP(node)
	lo, hi := structs.MinDynamicPort, structs.MaxDynamicPort
	if r := node.NodeResources; r != nil && r.MinDynamicPort > 0 && r.MaxDynamicPort >= r.MinDynamicPort {
		lo, hi = r.MinDynamicPort, r.MaxDynamicPort
	}
	taken := map[int]bool{}
	free := func(p int) bool { return !taken[p] && nu.ports[p]-freed[p] <= 0 } // freed may be nil
	// hostNet is the address and the free test of a port's host network:
	// the node's ports in use count on every address (a conservative
	// choice: a task bound to all addresses holds the port on each), the
	// host network's reserved ports on its own address only.
	reservedOn := map[string]map[int]bool{}
	hostNet := func(p structs.Port) (string, func(int) bool, string) {
		if p.HostNetwork == "" {
			return ip, free, ""
		}
		a, ok := node.HostNetworkAddress(p.HostNetwork)
		if !ok {
			return "", nil, "network: " + missingHostNetwork(p)
		}
		if a.Address == "" {
			a.Address = ip
		}
		res, ok := reservedOn[a.Alias]
		if !ok {
			res = map[int]bool{}
			for _, q := range structs.ParsePortRanges(a.ReservedPorts) {
				res[q] = true
			}
			reservedOn[a.Alias] = res
		}
		if len(res) == 0 {
			return a.Address, free, ""
		}
		return a.Address, func(q int) bool { return !res[q] && free(q) }, ""
	}
	offer := &portOffer{}
	allocNet := func(n *structs.NetworkResource) (*structs.NetworkResource, string) {
		out := &structs.NetworkResource{Mode: n.Mode, Device: n.Device, IP: ip, Hostname: n.Hostname, MBits: n.MBits}
		if out.Mode == "" {
			out.Mode = "host"
		}
		for _, p := range n.ReservedPorts {
			addr, free, dim := hostNet(p)
			if dim != "" {
				return nil, dim
			}
			if !p.IgnoreCollision {
				for q := p.Value; q <= p.Last(); q++ {
					if !free(q) {
						return nil, reservedCollision(p, q)
					}
				}
			}
			for q := p.Value; q <= p.Last(); q++ {
				taken[q] = true
			}
			out.ReservedPorts = append(out.ReservedPorts, p)
			offer.mappings = append(offer.mappings, portMapping(p, addr))
		}
		for _, p := range n.DynamicPorts {
			addr, free, dim := hostNet(p)
			if dim != "" {
				return nil, dim
			}
			v, ok := pickDynamicRange(lo, hi, p.Span(), free, rng)
			if !ok {
				if p.Span() > 1 {
					return nil, fmt.Sprintf("network: no %d contiguous dynamic ports for %s", p.Span(), p.Label)
				}
				return nil, "network: dynamic port selection failed"
			}
			for q := v; q < v+p.Span(); q++ {
				taken[q] = true
			}
			p.Value = v
			out.DynamicPorts = append(out.DynamicPorts, p)
			offer.mappings = append(offer.mappings, portMapping(p, addr))
		}
		return out, ""
	}
	if ask.group != nil {
		n, dim := allocNet(ask.group)
		if dim != "" {
			return nil, dim
		}
		offer.shared = []*structs.NetworkResource{n}
	}
	for _, name := range ask.order {
		n, dim := allocNet(ask.tasks[name])
		if dim != "" {
			return nil, dim
		}
		if offer.tasks == nil {
			offer.tasks = map[string][]*structs.NetworkResource{}
		}
		offer.tasks[name] = []*structs.NetworkResource{n}
	}
	return offer, ""
}

// pickDynamicRange picks the first of n contiguous free ports in [lo, hi]:
// a random start first (n ports checked each try), then a scan from a
// random start that keeps the length of the free run it is in, so a nearly
// full range still yields its last fitting run in one pass.
func pickDynamicRange(lo, hi, n int, free func(int) bool, rng *rand.Rand) (int, bool) {
	starts := hi - lo + 2 - n // how many first ports a range of n can have
	if starts <= 0 {
		return 0, false
	}
	runFree := func(first int) bool {
		for p := first; p < first+n; p++ {
			if !free(p) {
				return false
			}
		}
		return true
	}
	for range randomPortTries {
		if p := lo + rng.Intn(starts); runFree(p) {
			return p, true
		}
	}
	// From a random port to hi, then from lo: a run never wraps around.
	start := lo + rng.Intn(hi-lo+1)
	scan := func(from, to int) (int, bool) {
		run := 0
		for p := from; p <= to; p++ {
			if !free(p) {
				run = 0
				continue
			}
			if run++; run == n {
				return p - n + 1, true
			}
		}
		return 0, false
	}
	if p, ok := scan(start, hi); ok {
		return p, true
	}
	return scan(lo, min(hi, start+n-2))
}

// reservedCollision is the exhausted dimension of a static port (or range)
// of which port q is held.
func reservedCollision(p structs.Port, q int) string {
	if p.Span() == 1 {
		return fmt.Sprintf("network: reserved port collision %s=%d", p.Label, p.Value)
	}
	return fmt.Sprintf("network: reserved port collision %s=%d-%d (port %d)", p.Label, p.Value, p.Last(), q)
}

func portMapping(p structs.Port, ip string) structs.PortMapping {
	to := p.To
	if to == -1 {
		to = p.Value
	}
	return structs.PortMapping{Label: p.Label, Value: p.Value, To: to, HostIP: ip, Count: p.Count}
}

// nodeIP is the address ports are opened on.
func nodeIP(node *structs.Node) string {
	if ip := node.Attributes["unique.network.ip-address"]; ip != "" {
		return ip
	}
	if r := node.NodeResources; r != nil {
		for _, n := range r.Networks {
			if n != nil && n.IP != "" {
				return n.IP
			}
		}
	}
	return ""
}
