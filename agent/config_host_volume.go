package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fileHostVolume is a client's host_volume block, as Nomad's:
//
//	client {
//	  host_volume "data" {
//	    path      = "/srv/data"
//	    read_only = false
//	  }
//	}
type fileHostVolume struct {
	Name     string   `hcl:"name,label"`
	Path     *string  `hcl:"path,optional"`
	ReadOnly *bool    `hcl:"read_only,optional"`
	Remain   hcl.Body `hcl:",remain"`
}

// applyHostVolumes adds the client block's host volumes to c; a later file
// replaces a volume of the same name. That each path exists is checked
// when the client starts (nomadlike/client/fingerprint).
func (cl *fileClient) applyHostVolumes(c *Config) error {
	seen := map[string]hcl.Range{}
	for _, hv := range cl.HostVolumes {
		if diags := gohcl.DecodeBody(hv.Remain, nil, &struct{}{}); diags.HasErrors() {
			return diagError(diags)
		}
		at := hv.Remain.MissingItemRange()
		if prev, ok := seen[hv.Name]; ok {
			return fmt.Errorf("%s: client.host_volume %q is already defined at %s; names must be unique", loc(at), hv.Name, loc(prev))
		}
		seen[hv.Name] = at
		if hv.Name == "" {
			return fmt.Errorf("%s: client.host_volume needs a name: host_volume \"data\" { path = \"/srv/data\" }", loc(at))
		}
		if hv.Path == nil || *hv.Path == "" {
			return fmt.Errorf("%s: client.host_volume %q needs a path, for example path = \"/srv/%s\"", loc(at), hv.Name, hv.Name)
		}
		if c.Client.HostVolumes == nil {
			c.Client.HostVolumes = map[string]*structs.ClientHostVolumeConfig{}
		}
		v := &structs.ClientHostVolumeConfig{Name: hv.Name, Path: *hv.Path}
		setBool(&v.ReadOnly, hv.ReadOnly)
		c.Client.HostVolumes[hv.Name] = v
	}
	return nil
}
