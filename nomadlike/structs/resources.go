package structs

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
)

// Defaults for a task's resources when the job spec says nothing, as Nomad's.
const (
	DefaultCPU      = 100
	DefaultMemoryMB = 300
	// MinDynamicPort and MaxDynamicPort bound the dynamic port range, as Nomad's defaults.
	MinDynamicPort = 20000
	MaxDynamicPort = 32000
	// MemoryNoLimit as MemoryMaxMB (memory_max = -1) means no hard memory
	// limit: MemoryMB is a reservation only, as Nomad's.
	MemoryNoLimit = -1
)

// Resources is what a task asks for (or, deprecated in Nomad, what a node has).
type Resources struct {
	CPU         int // MHz
	Cores       int
	MemoryMB    int
	MemoryMaxMB int
	DiskMB      int
	Networks    []*NetworkResource
}

// UnmarshalJSON applies Nomad's defaults for fields absent from the JSON, as
// the official client's Canonicalize does, so a job registered by curl gets
// the same defaults as one from the CLI.
func (r *Resources) UnmarshalJSON(b []byte) error {
	type plain Resources
	p := plain{CPU: DefaultCPU, MemoryMB: DefaultMemoryMB}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Resources(p)
	return nil
}

// DefaultResources returns the resources of a task that asks for none.
func DefaultResources() *Resources {
	return &Resources{CPU: DefaultCPU, MemoryMB: DefaultMemoryMB}
}

// Copy returns a deep copy of r.
func (r *Resources) Copy() *Resources {
	if r == nil {
		return nil
	}
	n := *r
	n.Networks = copyNetworks(r.Networks)
	return &n
}

// Validate checks that the amounts are sane.
func (r *Resources) Validate() error {
	var v ValidationError
	if r.CPU < 1 && r.Cores == 0 {
		v.add("CPU", "must be at least 1 MHz, got %d", r.CPU)
	}
	if r.Cores < 0 {
		v.add("Cores", "cannot be negative, got %d", r.Cores)
	}
	if r.MemoryMB < 10 {
		v.add("MemoryMB", "must be at least 10 MB, got %d", r.MemoryMB)
	}
	switch {
	case r.MemoryMaxMB < MemoryNoLimit:
		v.add("MemoryMaxMB", "must be -1 (no limit), 0 (unset) or at least MemoryMB, got %d", r.MemoryMaxMB)
	case r.MemoryMaxMB > 0 && r.MemoryMaxMB < r.MemoryMB:
		v.add("MemoryMaxMB", "%d is less than MemoryMB %d", r.MemoryMaxMB, r.MemoryMB)
	}
	if r.DiskMB < 0 {
		v.add("DiskMB", "cannot be negative, got %d", r.DiskMB)
	}
	return v.err()
}

// NetworkResource is a network ask (group network block) or an allocated network.
type NetworkResource struct {
	Mode          string // host (default) or bridge
	Device        string
	CIDR          string
	IP            string
	ReservedPorts []Port // static ports
	DynamicPorts  []Port // ports the scheduler picks
	Hostname      string
	MBits         int
	// DNS, when set, is written to the allocation's resolv.conf (bridge and
	// cni/<name> modes).
	DNS *DNSConfig `json:",omitempty"`
	// CNI holds the cni block's arguments for the CNI plugins (cni/<name>
	// and bridge modes), as Nomad's.
	CNI *CNIConfig `json:",omitempty"`
}

// CNIConfig is a network block's cni block: Args are passed to the CNI
// plugins in CNI_ARGS (KEY=VALUE;...), interpolated by the client
// (${node.pool}, ${NOMAD_ALLOC_DIR}).
type CNIConfig struct {
	Args map[string]string
}

// Copy returns a deep copy of c.
func (c *CNIConfig) Copy() *CNIConfig {
	if c == nil {
		return nil
	}
	return &CNIConfig{Args: maps.Clone(c.Args)}
}

// DNSConfig is a network block's dns block (and an allocation's reported DNS).
type DNSConfig struct {
	Servers  []string
	Searches []string
	Options  []string
}

// Copy returns a deep copy of d.
func (d *DNSConfig) Copy() *DNSConfig {
	if d == nil {
		return nil
	}
	return &DNSConfig{Servers: slices.Clone(d.Servers), Searches: slices.Clone(d.Searches), Options: slices.Clone(d.Options)}
}

// Network modes a group network may ask for besides "host".
const (
	NetworkModeHost   = "host"
	NetworkModeBridge = "bridge"
	// NetworkModeCNIPrefix starts "cni/<name>": the CNI network list <name>
	// from the client's cni_config_dir.
	NetworkModeCNIPrefix = "cni/"
)

// Isolated reports whether the network gives the allocation a network
// namespace of its own (bridge and cni/<name> modes).
func (n *NetworkResource) Isolated() bool {
	return n != nil && (n.Mode == NetworkModeBridge || strings.HasPrefix(n.Mode, NetworkModeCNIPrefix))
}

// Copy returns a deep copy of n.
func (n *NetworkResource) Copy() *NetworkResource {
	if n == nil {
		return nil
	}
	c := *n
	c.ReservedPorts = append([]Port(nil), n.ReservedPorts...)
	c.DynamicPorts = append([]Port(nil), n.DynamicPorts...)
	c.DNS = n.DNS.Copy()
	c.CNI = n.CNI.Copy()
	return &c
}

// Port is a labelled port: Value is the host port (static, or chosen by the
// scheduler for dynamic ports), To the port inside the task's network.
// Count (beyond Nomad, its request #3242) asks for a range of Count
// contiguous ports starting at Value (and at To inside); 0 is one port.
type Port struct {
	Label           string
	Value           int
	To              int
	HostNetwork     string
	IgnoreCollision bool
	Count           int `json:",omitempty"`
}

func copyNetworks(in []*NetworkResource) []*NetworkResource {
	if in == nil {
		return nil
	}
	out := make([]*NetworkResource, len(in))
	for i, n := range in {
		out[i] = n.Copy()
	}
	return out
}

func validateNetworks(nets []*NetworkResource) error {
	var v ValidationError
	seen := map[string]bool{}
	static := map[int]string{} // static host port -> label
	for i, n := range nets {
		f := fmt.Sprintf("Networks[%d]", i)
		switch {
		case n.Mode == "" || n.Mode == NetworkModeHost || n.Mode == NetworkModeBridge:
		case strings.HasPrefix(n.Mode, NetworkModeCNIPrefix):
			if strings.TrimPrefix(n.Mode, NetworkModeCNIPrefix) == "" {
				v.add(f+".Mode", "network mode %q names no CNI network; use \"cni/<name>\" with the name of a network list in the client's cni_config_dir", n.Mode)
			}
		default:
			v.add(f+".Mode", "network mode %q is not supported; use \"host\", \"bridge\" or \"cni/<name>\"", n.Mode)
		}
		if n.DNS != nil && !n.Isolated() {
			v.add(f+".DNS", "a dns block needs network mode \"bridge\" or \"cni/<name>\" (in host mode tasks use the host's resolv.conf)")
		}
		if n.CNI != nil && len(n.CNI.Args) > 0 && !n.Isolated() {
			v.add(f+".CNI", "cni args go to the CNI plugins of network mode \"bridge\" or \"cni/<name>\"; in host mode there are none")
		}
		if n.CNI != nil {
			for k := range n.CNI.Args {
				if k == "" || strings.ContainsAny(k, "=;") {
					v.add(f+".CNI.Args", "argument name %q cannot be empty or hold '=' or ';' (CNI_ARGS is KEY=VALUE;...)", k)
				}
			}
		}
		if n.DNS != nil {
			for _, s := range n.DNS.Servers {
				if net.ParseIP(s) == nil {
					v.add(f+".DNS.Servers", "%q is not an IP address", s)
				}
			}
		}
		for j, p := range append(append([]Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
			pf := fmt.Sprintf("%s.Ports[%d]", f, j)
			if p.Label == "" {
				v.add(pf, "port has no label")
			}
			if seen[p.Label] {
				v.add(pf, "port label %q is used twice", p.Label)
			}
			seen[p.Label] = true
		}
		for _, p := range n.ReservedPorts {
			if p.Value < 1 || p.Value > 65535 {
				v.add(f, "static port %q = %d is outside 1-65535", p.Label, p.Value)
			}
			for q := p.Value; q <= p.Last() && q <= 65535; q++ {
				if prev, ok := static[q]; ok {
					v.add(f, "static port %d of %q is already reserved by port %q; give each static port or range its own ports", q, p.Label, prev)
					break
				}
				static[q] = p.Label
			}
		}
		for j, p := range append(append([]Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
			validatePortRange(&v, fmt.Sprintf("%s.Ports[%d]", f, j), p)
		}
		validateIsolatedPorts(&v, f, n)
	}
	return v.err()
}

// AllocatedResources is what the scheduler gave an allocation.
type AllocatedResources struct {
	Tasks  map[string]*AllocatedTaskResources
	Shared AllocatedSharedResources
}

// Copy returns a deep copy of a.
func (a *AllocatedResources) Copy() *AllocatedResources {
	if a == nil {
		return nil
	}
	n := &AllocatedResources{Tasks: make(map[string]*AllocatedTaskResources, len(a.Tasks))}
	for k, t := range a.Tasks {
		tc := *t
		tc.Networks = copyNetworks(t.Networks)
		tc.Cpu.ReservedCores = append([]uint16(nil), t.Cpu.ReservedCores...)
		n.Tasks[k] = &tc
	}
	n.Shared = a.Shared
	n.Shared.Networks = copyNetworks(a.Shared.Networks)
	n.Shared.Ports = append([]PortMapping(nil), a.Shared.Ports...)
	return n
}

// Comparable sums the allocation's resources for fit checks.
func (a *AllocatedResources) Comparable() ComparableResources {
	var c ComparableResources
	if a == nil {
		return c
	}
	for _, t := range a.Tasks {
		c.CPU += t.Cpu.CpuShares
		c.MemoryMB += t.Memory.MemoryMB
	}
	c.DiskMB = a.Shared.DiskMB
	return c
}

// AllocatedTaskResources is one task's share.
type AllocatedTaskResources struct {
	Cpu      AllocatedCpuResources
	Memory   AllocatedMemoryResources
	Networks []*NetworkResource
}

// AllocatedSharedResources are shared by the tasks of a group.
type AllocatedSharedResources struct {
	DiskMB   int64
	Networks []*NetworkResource
	Ports    []PortMapping
}

// PortMapping maps a port label to its host port (Value) and in-task port
// (To). Count > 0 maps a range: host ports Value..Value+Count-1 to To..
// To+Count-1 (Nomad's official client reads the first port only).
type PortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
	Count  int `json:",omitempty"`
}

// AllocatedCpuResources is CPU in MHz (CpuShares, as Nomad names it).
type AllocatedCpuResources struct {
	CpuShares     int64
	ReservedCores []uint16
}

// AllocatedMemoryResources is memory in MB.
type AllocatedMemoryResources struct {
	MemoryMB    int64
	MemoryMaxMB int64
}

// ComparableResources is a flat sum used to check fit.
type ComparableResources struct {
	CPU      int64
	MemoryMB int64
	DiskMB   int64
}

// Add adds o to c.
func (c *ComparableResources) Add(o ComparableResources) {
	c.CPU += o.CPU
	c.MemoryMB += o.MemoryMB
	c.DiskMB += o.DiskMB
}

// Superset reports whether c holds o; if not, it names the exhausted dimension
// ("cpu", "memory" or "disk") as Nomad's metrics do.
func (c ComparableResources) Superset(o ComparableResources) (bool, string) {
	switch {
	case c.CPU < o.CPU:
		return false, "cpu"
	case c.MemoryMB < o.MemoryMB:
		return false, "memory"
	case c.DiskMB < o.DiskMB:
		return false, "disk"
	}
	return true, ""
}
