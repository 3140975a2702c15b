package structs

import (
	"fmt"
	"maps"
	"time"
)

// Node statuses.
const (
	NodeStatusInit         = "initializing"
	NodeStatusReady        = "ready"
	NodeStatusDown         = "down"
	NodeStatusDisconnected = "disconnected"
)

// Node scheduling eligibility.
const (
	NodeSchedulingEligible   = "eligible"
	NodeSchedulingIneligible = "ineligible"
)

// DefaultHeartbeatTTL is the minimum time a client has to heartbeat before it is marked down.
const DefaultHeartbeatTTL = 10 * time.Second

// Node is a client host that runs allocations.
type Node struct {
	ID string
	// SecretID is never served by read endpoints (Sanitized blanks it);
	// the key stays, empty, as in Nomad's responses.
	SecretID              string
	Datacenter            string
	Name                  string
	HTTPAddr              string
	TLSEnabled            bool
	Attributes            map[string]string
	NodeResources         *NodeResources
	ReservedResources     *NodeReservedResources
	Links                 map[string]string
	Meta                  map[string]string
	NodeClass             string
	NodePool              string
	Drain                 bool
	SchedulingEligibility string
	Status                string
	StatusDescription     string
	StatusUpdatedAt       int64
	Events                []*NodeEvent
	Drivers               map[string]*DriverInfo
	CreateIndex           uint64
	ModifyIndex           uint64

	// DrainStrategy is set while the node drains (nil otherwise).
	DrainStrategy *DrainStrategy
	// LastDrain is the node's most recent drain (nil: never drained).
	LastDrain *DrainMetadata

	// ComputedClass identifies the nodes feasibility cannot tell apart (see
	// ComputeClass); set by the server when the node registers.
	ComputedClass string

	// HostVolumes are the client's host_volume blocks by name.
	HostVolumes map[string]*ClientHostVolumeConfig `json:",omitempty"`
	// HostNetworks are the client's host_network blocks by name (their
	// addresses are in NodeResources.NodeNetworks).
	HostNetworks map[string]*ClientHostNetworkConfig `json:",omitempty"`
}

// Validate checks a node registration.
func (n *Node) Validate() error {
	var v ValidationError
	if n.ID == "" {
		v.add("ID", "node needs an ID")
	}
	if n.SecretID == "" {
		v.add("SecretID", "node needs a secret")
	}
	if n.Datacenter == "" {
		v.add("Datacenter", "node needs a datacenter")
	}
	if n.Name == "" {
		v.add("Name", "node needs a name")
	}
	if n.NodeResources == nil {
		v.add("NodeResources", "node must report its resources")
	}
	switch {
	case n.NodePool == NodePoolAll:
		v.add("NodePool", "a node cannot be in the built-in pool %q (it always holds every node); set another client node_pool", NodePoolAll)
	case n.NodePool != "" && !validNodePoolName.MatchString(n.NodePool):
		v.add("NodePool", "node pool name %q is invalid: use 1 to 128 letters, digits, dashes and underscores", n.NodePool)
	}
	return v.err()
}

// Ready reports whether the scheduler may place work on the node.
func (n *Node) Ready() bool {
	return n.Status == NodeStatusReady && !n.Drain && n.SchedulingEligibility != NodeSchedulingIneligible
}

// TerminalStatus reports whether the node is down.
func (n *Node) TerminalStatus() bool { return n.Status == NodeStatusDown }

// Copy returns a deep copy of n.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Attributes = copyMap(n.Attributes)
	c.Links = copyMap(n.Links)
	c.Meta = copyMap(n.Meta)
	if n.NodeResources != nil {
		r := *n.NodeResources
		r.Networks = copyNetworks(n.NodeResources.Networks)
		r.NodeNetworks = copyNodeNetworks(n.NodeResources.NodeNetworks)
		r.Cpu.ReservableCpuCores = append([]uint16(nil), n.NodeResources.Cpu.ReservableCpuCores...)
		c.NodeResources = &r
	}
	if n.ReservedResources != nil {
		r := *n.ReservedResources
		c.ReservedResources = &r
	}
	if n.Events != nil {
		c.Events = make([]*NodeEvent, len(n.Events))
		for i, e := range n.Events {
			if e != nil {
				ec := *e
				ec.Details = maps.Clone(e.Details)
				c.Events[i] = &ec
			}
		}
	}
	c.DrainStrategy = n.DrainStrategy.Copy()
	c.LastDrain = n.LastDrain.Copy()
	c.HostVolumes = CopyHostVolumes(n.HostVolumes)
	c.HostNetworks = CopyHostNetworks(n.HostNetworks)
	if n.Drivers != nil {
		c.Drivers = make(map[string]*DriverInfo, len(n.Drivers))
		for k, d := range n.Drivers {
			dc := *d
			dc.Attributes = copyMap(d.Attributes)
			c.Drivers[k] = &dc
		}
	}
	return &c
}

// Sanitized returns a copy without the secret, for read endpoints.
func (n *Node) Sanitized() *Node {
	if n == nil || n.SecretID == "" {
		return n
	}
	c := *n
	c.SecretID = ""
	return &c
}

// Comparable returns the node's schedulable resources: its total minus what is reserved.
func (n *Node) Comparable() ComparableResources {
	var c ComparableResources
	if n.NodeResources == nil {
		return c
	}
	c.CPU = n.NodeResources.Cpu.CpuShares
	c.MemoryMB = n.NodeResources.Memory.MemoryMB
	c.DiskMB = n.NodeResources.Disk.DiskMB
	if r := n.ReservedResources; r != nil {
		c.CPU -= int64(r.Cpu.CpuShares)
		c.MemoryMB -= int64(r.Memory.MemoryMB)
		c.DiskMB -= int64(r.Disk.DiskMB)
	}
	return c
}

// Stub returns the node's list entry.
func (n *Node) Stub() *NodeListStub {
	addr := n.Attributes["unique.network.ip-address"]
	return &NodeListStub{
		Address: addr, ID: n.ID, Datacenter: n.Datacenter, Name: n.Name,
		NodeClass: n.NodeClass, NodePool: n.NodePool, Version: n.Attributes["nomad.version"],
		Drain: n.Drain, SchedulingEligibility: n.SchedulingEligibility, Status: n.Status,
		StatusDescription: n.StatusDescription, Drivers: n.Drivers,
		NodeResources: n.NodeResources, ReservedResources: n.ReservedResources,
		CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex, LastDrain: n.LastDrain.Copy(),
	}
}

// NodeListStub is a node's entry in GET /v1/nodes.
type NodeListStub struct {
	Address               string
	ID                    string
	Attributes            map[string]string `json:",omitempty"`
	Datacenter            string
	Name                  string
	NodeClass             string
	NodePool              string
	Version               string
	Drain                 bool
	SchedulingEligibility string
	Status                string
	StatusDescription     string
	Drivers               map[string]*DriverInfo
	NodeResources         *NodeResources         `json:",omitempty"`
	ReservedResources     *NodeReservedResources `json:",omitempty"`
	LastDrain             *DrainMetadata
	CreateIndex           uint64
	ModifyIndex           uint64
}

// NodeResources is what a node has.
type NodeResources struct {
	Cpu      NodeCpuResources
	Memory   NodeMemoryResources
	Disk     NodeDiskResources
	Networks []*NetworkResource
	// NodeNetworks are the interfaces with the addresses of the client's
	// host networks (Alias is the host network's name), as Nomad's.
	NodeNetworks   []*NodeNetworkResource `json:",omitempty"`
	MinDynamicPort int
	MaxDynamicPort int
}

// NodeCpuResources is the node's CPU: CpuShares is the total in MHz.
type NodeCpuResources struct {
	CpuShares          int64
	TotalCpuCores      uint16
	ReservableCpuCores []uint16
}

// NodeMemoryResources is the node's memory in MB.
type NodeMemoryResources struct{ MemoryMB int64 }

// NodeDiskResources is the node's free disk in the data dir, in MB.
type NodeDiskResources struct{ DiskMB int64 }

// NodeReservedResources is kept back from scheduling.
type NodeReservedResources struct {
	Cpu      NodeReservedCpuResources
	Memory   NodeReservedMemoryResources
	Disk     NodeReservedDiskResources
	Networks NodeReservedNetworkResources
}

// NodeReservedCpuResources is reserved CPU in MHz.
type NodeReservedCpuResources struct{ CpuShares uint64 }

// NodeReservedMemoryResources is reserved memory in MB.
type NodeReservedMemoryResources struct{ MemoryMB uint64 }

// NodeReservedDiskResources is reserved disk in MB.
type NodeReservedDiskResources struct{ DiskMB uint64 }

// NodeReservedNetworkResources lists host ports the scheduler must not hand out, e.g. "22,80,8000-8100".
type NodeReservedNetworkResources struct{ ReservedHostPorts string }

// DriverInfo is a driver's fingerprint on a node.
type DriverInfo struct {
	Attributes        map[string]string
	Detected          bool
	Healthy           bool
	HealthDescription string
	UpdateTime        time.Time
}

// NodeEvent is a notable change in a node's life.
type NodeEvent struct {
	Message     string
	Subsystem   string
	Details     map[string]string
	Timestamp   time.Time
	CreateIndex uint64
}

// String renders the node as logs name it.
func (n *Node) String() string { return fmt.Sprintf("%s (%s)", n.Name, ShortID(n.ID)) }
