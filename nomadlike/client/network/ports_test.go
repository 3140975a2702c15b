package network

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestPortMappingsRange: a range becomes one portmap entry per port and
// protocol, host port i to the port i inside; to unset maps onto the same
// ports; the host IP (a host network's address) is kept on each entry.
func TestPortMappingsRange(t *testing.T) {
	got := portMappings([]structs.PortMapping{
		{Label: "http", Value: 25000, To: 80, HostIP: "10.0.0.5"},
		{Label: "rtp", Value: 20100, To: 10000, HostIP: "192.0.2.7", Count: 2},
		{Label: "media", Value: 30000, Count: 2},
	})
	want := []portMapping{
		{HostPort: 25000, ContainerPort: 80, Protocol: "tcp", HostIP: "10.0.0.5"},
		{HostPort: 25000, ContainerPort: 80, Protocol: "udp", HostIP: "10.0.0.5"},
		{HostPort: 20100, ContainerPort: 10000, Protocol: "tcp", HostIP: "192.0.2.7"},
		{HostPort: 20100, ContainerPort: 10000, Protocol: "udp", HostIP: "192.0.2.7"},
		{HostPort: 20101, ContainerPort: 10001, Protocol: "tcp", HostIP: "192.0.2.7"},
		{HostPort: 20101, ContainerPort: 10001, Protocol: "udp", HostIP: "192.0.2.7"},
		{HostPort: 30000, ContainerPort: 30000, Protocol: "tcp"},
		{HostPort: 30000, ContainerPort: 30000, Protocol: "udp"},
		{HostPort: 30001, ContainerPort: 30001, Protocol: "tcp"},
		{HostPort: 30001, ContainerPort: 30001, Protocol: "udp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("portmap entries (-want +got):\n%s", diff)
	}
}
