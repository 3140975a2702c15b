package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var serviceSpec = blockSpec{
	Attrs:  []string{"name", "port", "tags", "provider", "address_mode", "meta", "task"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "meta"}, {Type: "check"}},
	// canary_tags, enable_tag_override (Consul tag handling) and a check's
	// initial_status (a Consul check state) have no effect here: refused
	// with their position rather than silently dropped.
	Unsupported: []string{"connect", "identity", "canary_meta", "canary_tags", "enable_tag_override", "tagged_addresses",
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
	s.Meta = d.mapAttrOrBlock(c, "meta")
	for _, cb := range blocksOf(c, "check") {
		s.Checks = append(s.Checks, d.decodeCheck(cb))
	}
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

var checkSpec = blockSpec{
	Attrs: []string{"name", "type", "path", "method", "protocol", "interval", "timeout", "port"},
	Unsupported: []string{"initial_status", "header", "check_restart", "grpc_service", "grpc_use_tls", "expose", "command", "args",
		"address_mode", "tls_skip_verify", "body", "success_before_passing", "failures_before_critical",
		"failures_before_warning", "on_update", "task", "tls_server_name", "notes"},
}

// decodeCheck decodes a service's check block (http and tcp checks, run by
// the client).
func (d *decoder) decodeCheck(b *hcl.Block) *structs.ServiceCheck {
	ck := &structs.ServiceCheck{}
	c := d.content(b.Body, checkSpec)
	a := c.Attributes
	d.setString(a, "name", &ck.Name)
	d.setString(a, "type", &ck.Type)
	d.setString(a, "path", &ck.Path)
	d.setString(a, "method", &ck.Method)
	d.setString(a, "protocol", &ck.Protocol)
	d.setDuration(a, "interval", &ck.Interval)
	d.setDuration(a, "timeout", &ck.Timeout)
	if attr, ok := a["port"]; ok {
		d.errorf(attr.NameRange, "Unsupported argument",
			"a check's own port is not supported yet by nomadlike; the check probes the service's port")
	}
	if attr, ok := a["type"]; ok && ck.Type != structs.ServiceCheckHTTP && ck.Type != structs.ServiceCheckTCP {
		d.errorf(attr.Expr.Range(), "Unsupported check type",
			"check type %q is not supported by nomadlike; use \"http\" or \"tcp\"", ck.Type)
	}
	return ck
}
