package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fileHostNetwork is a client's host_network block, as Nomad's:
//
//	client {
//	  host_network "public" {
//	    cidr           = "203.0.113.0/24"
//	    interface      = "eth1"
//	    reserved_ports = "22,80"
//	  }
//	}
type fileHostNetwork struct {
	Name          string   `hcl:"name,label"`
	CIDR          *string  `hcl:"cidr,optional"`
	Interface     *string  `hcl:"interface,optional"`
	ReservedPorts *string  `hcl:"reserved_ports,optional"`
	Remain        hcl.Body `hcl:",remain"`
}

// applyHostNetworks adds the client block's host networks to c; a later
// file replaces a network of the same name. Their addresses are found on
// the host's interfaces when the client fingerprints
// (nomadlike/client/fingerprint).
func (cl *fileClient) applyHostNetworks(c *Config) error {
	seen := map[string]hcl.Range{}
	for _, hn := range cl.HostNetworks {
		if diags := gohcl.DecodeBody(hn.Remain, nil, &struct{}{}); diags.HasErrors() {
			return diagError(diags)
		}
		at := hn.Remain.MissingItemRange()
		if prev, ok := seen[hn.Name]; ok {
			return fmt.Errorf("%s: client.host_network %q is already defined at %s; names must be unique", loc(at), hn.Name, loc(prev))
		}
		seen[hn.Name] = at
		v := &structs.ClientHostNetworkConfig{Name: hn.Name}
		setStr(&v.CIDR, hn.CIDR)
		setStr(&v.Interface, hn.Interface)
		setStr(&v.ReservedPorts, hn.ReservedPorts)
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%s: client.%w", loc(at), err)
		}
		if c.Client.HostNetworks == nil {
			c.Client.HostNetworks = map[string]*structs.ClientHostNetworkConfig{}
		}
		c.Client.HostNetworks[hn.Name] = v
	}
	return nil
}
