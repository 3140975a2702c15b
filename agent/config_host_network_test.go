package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHostNetworkConfig checks the client's host_network blocks and their errors.
func TestHostNetworkConfig(t *testing.T) {
	c := DefaultConfig()
	src := `client {
  enabled = true
  host_network "public" {
    cidr           = "203.0.113.0/24"
    reserved_ports = "22,8000-8100"
  }
  host_network "lab" {
    interface = "dummy0"
  }
}
`
	if err := ParseConfig(c, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := map[string]*structs.ClientHostNetworkConfig{
		"public": {Name: "public", CIDR: "203.0.113.0/24", ReservedPorts: "22,8000-8100"},
		"lab":    {Name: "lab", Interface: "dummy0"},
	}
	if d := cmp.Diff(want, c.Client.HostNetworks); d != "" {
		t.Errorf("HostNetworks (-want +got):\n%s", d)
	}
	wantParseErrors(t, []struct{ src, want string }{
		{"client {\n  host_network \"p\" {\n    reserved_ports = \"22\"\n  }\n}\n", `agent.hcl:2:20: client.host_network "p" needs a cidr or an interface (or both)`},
		{"client {\n  host_network \"p\" {\n    cidr = \"10.0.0.0\"\n  }\n}\n", `client.host_network "p": cidr "10.0.0.0" is not a CIDR block`},
		{"client {\n  host_network \"p\" {\n    cidr = \"10.0.0.0/8\"\n    reserved_ports = \"22,90-80\"\n  }\n}\n", `client.host_network "p": reserved_ports: "90-80" is not a range`},
		{"client {\n  host_network \"p\" {\n    cidr = \"10.0.0.0/8\"\n    mode = \"x\"\n  }\n}\n", `agent.hcl:4:5: Unsupported argument`},
		{"client {\n  host_network \"p\" {\n    cidr = \"10.0.0.0/8\"\n  }\n  host_network \"p\" {\n    interface = \"lo\"\n  }\n}\n", `client.host_network "p" is already defined`},
	})
}
