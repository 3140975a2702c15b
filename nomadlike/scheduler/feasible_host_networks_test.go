package scheduler_test

import (
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// withHostNetwork gives node the host network name with address addr and
// reserved ports, as the client's fingerprint reports it.
func withHostNetwork(node *structs.Node, name, addr, reserved string) {
	if node.HostNetworks == nil {
		node.HostNetworks = map[string]*structs.ClientHostNetworkConfig{}
	}
	node.HostNetworks[name] = &structs.ClientHostNetworkConfig{Name: name, Interface: "eth1", ReservedPorts: reserved}
	node.NodeResources.NodeNetworks = append(node.NodeResources.NodeNetworks, &structs.NodeNetworkResource{
		Mode: "host", Device: "eth1",
		Addresses: []structs.NodeNetworkAddress{{Family: "ipv4", Alias: name, Address: addr, ReservedPorts: reserved}}})
}

// TestHostNetworkPorts: a port naming a host network goes to a node that
// has it, on that network's address (outside its reserved ports); a node
// without it is filtered with a reason naming the network and the port;
// ports naming none (or "default") keep the node's address.
func TestHostNetworkPorts(t *testing.T) {
	h := schedtest.NewHarness()
	h.CheckFit = true
	nodes := h.Nodes(3, func(i int, n *structs.Node) {
		if i == 1 {
			// Only 31998 and 32000 are free on this network's address.
			withHostNetwork(n, "public", "203.0.113.5", "20000-31997,31999")
		}
	})
	job := rangeJob(3, 50,
		structs.Port{Label: "pub", HostNetwork: "public"},
		structs.Port{Label: "plain"},
		structs.Port{Label: "dflt", HostNetwork: "default"})
	register(t, h, job)
	placed := live(h, job.ID)
	if len(placed) != 2 {
		t.Fatalf("got %d placements, want 2 (one per free port of the host network)", len(placed))
	}
	pub := map[int]bool{}
	for _, a := range placed {
		if a.NodeID != nodes[1].ID {
			t.Errorf("allocation %s placed on %s, want the node with host network public", a.Name, a.NodeName)
		}
		for _, pm := range a.AllocatedResources.Shared.Ports {
			switch pm.Label {
			case "pub":
				pub[pm.Value] = true
				if pm.HostIP != "203.0.113.5" {
					t.Errorf("port pub on %s, want 203.0.113.5", pm.HostIP)
				}
			default:
				if pm.HostIP != "192.168.0.100" {
					t.Errorf("port %s on %s, want the node's address 192.168.0.100", pm.Label, pm.HostIP)
				}
			}
		}
	}
	if !pub[31998] || !pub[32000] {
		t.Errorf("pub ports %v, want 31998 and 32000 (the only ones not reserved on the host network)", pub)
	}
	m := h.LastEval().FailedTGAllocs["web"]
	if want := `missing host network "public" for port "pub"`; m == nil || m.ConstraintFiltered[want] != 2 {
		t.Errorf("failed metric %+v, want 2 nodes filtered by %q", m, want)
	}
	if m != nil && m.DimensionExhausted["network: dynamic port selection failed"] == 0 {
		t.Errorf("failed metric %+v, want the host network's node exhausted on ports", m)
	}
}

// TestHostNetworkDefault: a client's own host_network "default" replaces
// the node's address for ports naming "default".
func TestHostNetworkDefault(t *testing.T) {
	h := schedtest.NewHarness()
	h.Nodes(1, func(_ int, n *structs.Node) { withHostNetwork(n, "default", "10.1.2.3", "") })
	job := rangeJob(1, 50, structs.Port{Label: "dflt", HostNetwork: "default"}, structs.Port{Label: "plain"})
	register(t, h, job)
	placed := live(h, job.ID)
	if len(placed) != 1 {
		t.Fatalf("got %d placements, want 1", len(placed))
	}
	got := map[string]string{}
	for _, pm := range placed[0].AllocatedResources.Shared.Ports {
		got[pm.Label] = pm.HostIP
	}
	if got["dflt"] != "10.1.2.3" || got["plain"] != "192.168.0.100" {
		t.Errorf("host IPs %v, want dflt on 10.1.2.3 and plain on 192.168.0.100", got)
	}
}
