package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var serviceSpec = blockSpec{
	Attrs:  []string{"name", "port", "tags", "provider", "address_mode", "meta", "task", "canary_tags", "enable_tag_override"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "meta"}},
	Unsupported: []string{"check", "connect", "identity", "canary_meta", "tagged_addresses",
		"check_restart", "address", "on_update", "weights", "cluster"},
}

// decodeServices decodes the service blocks of a group or task; path is the
// owner's field path (for locating validation errors).
func (d *decoder) decodeServices(c *hcl.BodyContent, path string) []*structs.Service {
	var out []*structs.Service
	for i, b := range blocksOf(c, "service") {
		out = append(out, d.decodeService(b))
		d.recordRange(fmt.Sprintf("%s.Services[%d]", path, i), b.DefRange)
	}
	return out
}

// decodeService decodes one service block. provider = "consul" is refused
// here, at the attribute, since nomadlike has no Consul integration.
func (d *decoder) decodeService(b *hcl.Block) *structs.Service {
	s := &structs.Service{}
	c := d.content(b.Body, serviceSpec)
	a := c.Attributes
	d.setString(a, "name", &s.Name)
	d.setString(a, "port", &s.PortLabel)
	d.setString(a, "provider", &s.Provider)
	d.setString(a, "address_mode", &s.AddressMode)
	d.setString(a, "task", &s.TaskName)
	d.setStringList(a, "tags", &s.Tags)
	var canary []string
	d.setStringList(a, "canary_tags", &canary)
	var override bool
	d.setBool(a, "enable_tag_override", &override)
	s.Meta = d.mapAttrOrBlock(c, "meta")
	if attr, ok := a["provider"]; ok {
		switch s.Provider {
		case structs.ServiceProviderNomad:
		case structs.ServiceProviderConsul:
			d.errorf(attr.Expr.Range(), "Unsupported provider",
				"Consul is not supported by nomadlike; use provider = \"nomad\" (Nomad's built-in service discovery, read with nomadService in templates)")
		default:
			d.errorf(attr.Expr.Range(), "Invalid provider", "provider must be \"nomad\", got %q", s.Provider)
		}
	} else {
		s.Provider = structs.ServiceProviderNomad
	}
	if attr, ok := a["address_mode"]; ok {
		switch s.AddressMode {
		case structs.AddressModeAuto, structs.AddressModeHost:
		default:
			d.errorf(attr.Expr.Range(), "Invalid address_mode",
				"address_mode must be \"auto\" or \"host\", got %q", s.AddressMode)
		}
	}
	if _, ok := a["name"]; !ok {
		d.errorf(b.DefRange, "Missing service name", "a service block needs a name, for example name = \"web\"")
	}
	return s
}
