package structs

import (
	"fmt"
	"strconv"
)

// MaxPortCount bounds a port range's count.
const MaxPortCount = 1000

// MaxIsolatedPorts bounds the host ports a bridge or cni/<name> network
// maps: the portmap plugin knows no ranges, so each port is two entries
// (tcp, udp) of a few iptables rules each, added one exec at a time
// (BenchmarkBridgeSetupRange: 100-165 ms of setup per port on 2 cores at
// load average 13-18).
const MaxIsolatedPorts = 100

// Span is how many host ports p holds: its Count, or 1.
func (p Port) Span() int { return max(p.Count, 1) }

// Last is the last host port of p's range (Value for a single port).
func (p Port) Last() int { return p.Value + p.Span() - 1 }

// Span is how many host ports m maps: its Count, or 1.
func (m PortMapping) Span() int { return max(m.Count, 1) }

// HostRange is m's host ports, "a-b" ("a" for a single port).
func (m PortMapping) HostRange() string { return portRange(m.Value, m.Span()) }

// InTaskPort is the first port inside the task's network: To, or the host
// port when To is unset (0) or -1.
func (m PortMapping) InTaskPort() int {
	if m.To > 0 {
		return m.To
	}
	return m.Value
}

// InTaskRange is m's ports inside the task's network, "a-b" ("a" for a
// single port).
func (m PortMapping) InTaskRange() string { return portRange(m.InTaskPort(), m.Span()) }

func portRange(first, n int) string {
	if n <= 1 {
		return strconv.Itoa(first)
	}
	return fmt.Sprintf("%d-%d", first, first+n-1)
}

// validateIsolatedPorts refuses a bridge or cni/<name> network that maps
// more than MaxIsolatedPorts host ports.
func validateIsolatedPorts(v *ValidationError, f string, n *NetworkResource) {
	if !n.Isolated() {
		return
	}
	total := 0
	for _, p := range n.ReservedPorts {
		total += p.Span()
	}
	for _, p := range n.DynamicPorts {
		total += p.Span()
	}
	if total > MaxIsolatedPorts {
		v.add(f, "network mode %q maps %d host ports, more than %d: the portmap plugin maps a range port by port (a few iptables rules each); use fewer or smaller ranges, or mode \"host\" for large ones", n.Mode, total, MaxIsolatedPorts)
	}
}

// validatePortRange checks a port's count against its static value and to.
func validatePortRange(v *ValidationError, f string, p Port) {
	if p.Count == 0 {
		return
	}
	if p.Count < 1 || p.Count > MaxPortCount {
		v.add(f+".Count", "port %q: count must be between 1 and %d, got %d", p.Label, MaxPortCount, p.Count)
		return
	}
	if p.Value > 0 && p.Last() > 65535 {
		v.add(f+".Count", "port %q: the range %d-%d of count %d goes beyond port 65535; lower static or count", p.Label, p.Value, p.Last(), p.Count)
	}
	if p.To > 0 && p.To+p.Count-1 > 65535 {
		v.add(f+".Count", "port %q: the mapped range %d-%d (to = %d, count %d) goes beyond port 65535; lower to or count", p.Label, p.To, p.To+p.Count-1, p.To, p.Count)
	}
}

// SharesPort reports whether the allocation's port label has
// ignore_collision: its host port is not reserved (other allocations may
// bind it too), as Nomad leaves such ports out of a node's used ports.
func (a *AllocatedResources) SharesPort(label string) bool {
	if a == nil {
		return false
	}
	shared := func(nets []*NetworkResource) bool {
		for _, n := range nets {
			if n == nil {
				continue
			}
			for _, p := range n.ReservedPorts {
				if p.Label == label && p.IgnoreCollision {
					return true
				}
			}
		}
		return false
	}
	if shared(a.Shared.Networks) {
		return true
	}
	for _, t := range a.Tasks {
		if t != nil && shared(t.Networks) {
			return true
		}
	}
	return false
}
