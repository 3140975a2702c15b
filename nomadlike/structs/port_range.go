package structs

import (
	"fmt"
	"strconv"
)

// MaxPortCount bounds a port range's count: in bridge mode each port of a
// range is two portmap entries (tcp and udp), each an iptables rule.
const MaxPortCount = 1000

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
