package structs

import (
	"errors"
	"fmt"
	"net"
	"slices"
)

// DefaultHostNetwork is the host network of a port that names none: the
// node's own address (unless the client defines a host_network "default").
const DefaultHostNetwork = "default"

// ClientHostNetworkConfig is one host_network block of a client's config,
// as the node reports it (Node.HostNetworks; Nomad's HostNetworkInfo): the
// addresses on Interface (any interface when empty) within CIDR (any when
// empty) belong to the host network Name, and ReservedPorts ("22,8000-8100")
// are never handed out on them.
type ClientHostNetworkConfig struct {
	Name          string
	CIDR          string
	Interface     string
	ReservedPorts string
}

// Validate checks a host_network block: a name, an interface or a cidr
// (or both), a valid cidr and reserved_ports.
func (h *ClientHostNetworkConfig) Validate() error {
	switch {
	case h.Name == "":
		return errors.New(`host_network needs a name: host_network "public" { cidr = "203.0.113.0/24" }`)
	case h.CIDR == "" && h.Interface == "":
		return fmt.Errorf(`host_network %q needs a cidr or an interface (or both) to find its addresses, for example cidr = "10.0.0.0/8"`, h.Name)
	}
	if h.CIDR != "" {
		if _, _, err := net.ParseCIDR(h.CIDR); err != nil {
			return fmt.Errorf(`host_network %q: cidr %q is not a CIDR block such as "10.0.0.0/8"`, h.Name, h.CIDR)
		}
	}
	if err := ValidatePortRanges(h.ReservedPorts); err != nil {
		return fmt.Errorf("host_network %q: reserved_ports: %w", h.Name, err)
	}
	return nil
}

// CopyHostNetworks returns a deep copy of a node's host networks.
func CopyHostNetworks(in map[string]*ClientHostNetworkConfig) map[string]*ClientHostNetworkConfig {
	if in == nil {
		return nil
	}
	out := make(map[string]*ClientHostNetworkConfig, len(in))
	for k, v := range in {
		out[k] = copyPtr(v)
	}
	return out
}

// NodeNetworkResource is one of a node's network interfaces with the
// addresses its host networks found on it (Nomad's NodeResources.NodeNetworks).
type NodeNetworkResource struct {
	Mode       string // "host"
	Device     string
	MacAddress string
	Speed      int
	Addresses  []NodeNetworkAddress
}

// NodeNetworkAddress is an address of a node network; Alias is the host
// network it belongs to.
type NodeNetworkAddress struct {
	Family        string // "ipv4" or "ipv6"
	Alias         string
	Address       string
	ReservedPorts string
	Gateway       string
}

// copyNodeNetworks returns a deep copy of a node's networks.
func copyNodeNetworks(in []*NodeNetworkResource) []*NodeNetworkResource {
	if in == nil {
		return nil
	}
	out := make([]*NodeNetworkResource, len(in))
	for i, n := range in {
		if n != nil {
			c := *n
			c.Addresses = slices.Clone(n.Addresses)
			out[i] = &c
		}
	}
	return out
}

// HostNetworkAddress returns the node's address on host network name (an
// IPv4 one first) and that address's reserved ports. A port naming no host
// network, or "default" when the client defines none of that name, gets
// the node's address with ok true and no reserved ports of its own.
func (n *Node) HostNetworkAddress(name string) (addr NodeNetworkAddress, ok bool) {
	var found []NodeNetworkAddress
	if n.NodeResources != nil && name != "" {
		for _, nn := range n.NodeResources.NodeNetworks {
			if nn == nil {
				continue
			}
			for _, a := range nn.Addresses {
				if a.Alias == name {
					found = append(found, a)
				}
			}
		}
	}
	if len(found) > 0 {
		for _, a := range found {
			if a.Family != "ipv6" {
				return a, true
			}
		}
		return found[0], true
	}
	if name == "" || (name == DefaultHostNetwork && n.HostNetworks[DefaultHostNetwork] == nil) {
		return NodeNetworkAddress{Alias: DefaultHostNetwork, Address: n.Attributes["unique.network.ip-address"]}, true
	}
	return NodeNetworkAddress{}, false
}
