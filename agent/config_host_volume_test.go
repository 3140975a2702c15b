package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHostVolumeConfig checks the client's host_volume blocks and their errors.
func TestHostVolumeConfig(t *testing.T) {
	c := DefaultConfig()
	src := `client {
  enabled = true
  host_volume "data" {
    path = "/srv/data"
  }
  host_volume "certs" {
    path      = "/etc/ssl/certs"
    read_only = true
  }
}
`
	if err := ParseConfig(c, "agent.hcl", []byte(src)); err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := map[string]*structs.ClientHostVolumeConfig{
		"data":  {Name: "data", Path: "/srv/data"},
		"certs": {Name: "certs", Path: "/etc/ssl/certs", ReadOnly: true},
	}
	if d := cmp.Diff(want, c.Client.HostVolumes); d != "" {
		t.Errorf("HostVolumes (-want +got):\n%s", d)
	}
	wantParseErrors(t, []struct{ src, want string }{
		{"client {\n  host_volume \"d\" {\n    read_only = true\n  }\n}\n", `client.host_volume "d" needs a path`},
		{"client {\n  host_volume \"d\" {\n    path = \"/a\"\n    pth = \"/b\"\n  }\n}\n", `agent.hcl:4:5: Unsupported argument`},
		{"client {\n  host_volume \"d\" {\n    path = \"/a\"\n  }\n  host_volume \"d\" {\n    path = \"/b\"\n  }\n}\n", `client.host_volume "d" is already defined`},
	})
}
