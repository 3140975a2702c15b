package fingerprint

import (
	"net"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHostNetworks: addresses are matched by interface and cidr (either
// alone, or both), an address may serve two host networks, and a host
// network without an address on this host is reported missing.
func TestHostNetworks(t *testing.T) {
	ifaces := []Iface{
		{Name: "lo", Addrs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}},
		{Name: "eth0", MAC: "02:00:00:00:00:01", Addrs: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fd00::5")}},
		{Name: "eth1", Addrs: []net.IP{net.ParseIP("203.0.113.7"), net.ParseIP("192.168.1.9")}},
	}
	cfg := map[string]*structs.ClientHostNetworkConfig{
		"private": {Name: "private", CIDR: "10.0.0.0/8", ReservedPorts: "22"},
		"public":  {Name: "public", Interface: "eth1", CIDR: "203.0.113.0/24"},
		"uplink":  {Name: "uplink", Interface: "eth1"},
		"nowhere": {Name: "nowhere", CIDR: "198.51.100.0/24"},
	}
	nets, missing := HostNetworks(cfg, ifaces)
	want := []*structs.NodeNetworkResource{
		{Mode: "host", Device: "eth0", MacAddress: "02:00:00:00:00:01", Addresses: []structs.NodeNetworkAddress{
			{Family: "ipv4", Alias: "private", Address: "10.0.0.5", ReservedPorts: "22"}}},
		{Mode: "host", Device: "eth1", Addresses: []structs.NodeNetworkAddress{
			{Family: "ipv4", Alias: "public", Address: "203.0.113.7"},
			{Family: "ipv4", Alias: "uplink", Address: "203.0.113.7"},
			{Family: "ipv4", Alias: "uplink", Address: "192.168.1.9"}}},
	}
	if diff := cmp.Diff(want, nets); diff != "" {
		t.Errorf("node networks (-want +got):\n%s", diff)
	}
	if !slices.Equal(missing, []string{"nowhere"}) {
		t.Errorf("missing %v, want [nowhere]", missing)
	}
	node := &structs.Node{NodeResources: &structs.NodeResources{NodeNetworks: nets}, HostNetworks: cfg,
		Attributes: map[string]string{"unique.network.ip-address": "10.0.0.5"}}
	if a, ok := node.HostNetworkAddress("uplink"); !ok || a.Address != "203.0.113.7" {
		t.Errorf("HostNetworkAddress(uplink) = %+v, %v; want the first address, 203.0.113.7", a, ok)
	}
	if _, ok := node.HostNetworkAddress("nowhere"); ok {
		t.Error("HostNetworkAddress(nowhere) found an address")
	}
}
