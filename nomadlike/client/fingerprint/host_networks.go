package fingerprint

import (
	"net"
	"sort"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Iface is one host interface with its addresses, as HostNetworks reads
// them (net.Interfaces in production, a list in tests).
type Iface struct {
	Name, MAC string
	Addrs     []net.IP
}

// LocalIfaces lists this host's interfaces and their addresses.
func LocalIfaces() ([]Iface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Iface, 0, len(ifs))
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			return nil, err
		}
		f := Iface{Name: i.Name, MAC: i.HardwareAddr.String()}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				f.Addrs = append(f.Addrs, n.IP)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// HostNetworks finds the addresses of the client's host_network blocks
// among ifaces, as Nomad does: an address belongs to a host network when
// it is on the block's interface (any, when it names none) and inside its
// cidr (any, when it has none). An address may belong to several host
// networks (one NodeNetworkAddress each). It returns the interfaces with
// at least one such address (Node.NodeResources.NodeNetworks) and the
// names of the host networks that found none (the node lacks them).
func HostNetworks(cfg map[string]*structs.ClientHostNetworkConfig, ifaces []Iface) (nets []*structs.NodeNetworkResource, missing []string) {
	if len(cfg) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(cfg))
	cidrs := map[string]*net.IPNet{}
	for name, hn := range cfg {
		names = append(names, name)
		if hn.CIDR != "" {
			if _, n, err := net.ParseCIDR(hn.CIDR); err == nil {
				cidrs[name] = n
			}
		}
	}
	sort.Strings(names)
	found := map[string]bool{}
	for _, i := range ifaces {
		nn := &structs.NodeNetworkResource{Mode: structs.NetworkModeHost, Device: i.Name, MacAddress: i.MAC}
		for _, ip := range i.Addrs {
			for _, name := range names {
				hn := cfg[name]
				if hn.Interface != "" && hn.Interface != i.Name {
					continue
				}
				if hn.CIDR != "" && (cidrs[name] == nil || !cidrs[name].Contains(ip)) {
					continue
				}
				family := "ipv4"
				if ip.To4() == nil {
					family = "ipv6"
				}
				nn.Addresses = append(nn.Addresses, structs.NodeNetworkAddress{
					Family: family, Alias: name, Address: ip.String(), ReservedPorts: hn.ReservedPorts})
				found[name] = true
			}
		}
		if len(nn.Addresses) > 0 {
			nets = append(nets, nn)
		}
	}
	for _, name := range names {
		if !found[name] {
			missing = append(missing, name)
		}
	}
	return nets, missing
}
