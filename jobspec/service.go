package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var serviceSpec = blockSpec{
	Attrs:  []string{"name", "port", "tags", "canary_tags", "provider", "address_mode", "meta", "task", "on_update"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "meta"}, {Type: "check"}, {Type: "check_restart"}},
	// enable_tag_override (Consul tag handling) and a check's
	// initial_status (a Consul check state) have no effect here: refused
	// with their position rather than silently dropped.
	Unsupported: []string{"identity", "canary_meta", "enable_tag_override", "tagged_addresses",
		"address", "weights", "cluster"},
	Features: []string{"connect"},
}

// decodeServices decodes the service blocks of a group or task; path is the
// owner's field path (for locating validation errors).
func (d *decoder) decodeServices(c *hcl.BodyContent, path string) []*structs.Service {
	var out []*structs.Service
	for i, b := range blocksOf(c, "service") {
		sp := fmt.Sprintf("%s.Services[%d]", path, i)
		out = append(out, d.decodeService(b, sp))
		d.recordRange(sp, b.DefRange)
	}
	return out
}

// decodeService decodes one service block. provider = "consul" is refused
// here, at the attribute, since nomadlike has no Consul integration.
func (d *decoder) decodeService(b *hcl.Block, path string) *structs.Service {
	s := &structs.Service{}
	c := d.content(b.Body, serviceSpec)
	a := c.Attributes
	d.setString(a, "name", &s.Name)
	d.setString(a, "port", &s.PortLabel)
	d.setString(a, "provider", &s.Provider)
	d.setString(a, "address_mode", &s.AddressMode)
	d.setString(a, "task", &s.TaskName)
	d.setStringList(a, "tags", &s.Tags)
	d.setStringList(a, "canary_tags", &s.CanaryTags)
	d.setOnUpdate(a, &s.OnUpdate)
	s.Meta = d.mapAttrOrBlock(c, "meta")
	d.recordAttrRanges(a, path+".", map[string]string{"name": "Name", "port": "PortLabel", "address_mode": "AddressMode", "on_update": "OnUpdate"})
	for j, cb := range blocksOf(c, "check") {
		cp := fmt.Sprintf("%s.Checks[%d]", path, j)
		s.Checks = append(s.Checks, d.decodeCheck(cb, cp))
		d.recordRange(cp, cb.DefRange)
	}
	if rb := d.single(c, "check_restart"); rb != nil {
		s.CheckRestart = d.decodeCheckRestart(rb)
	}
	if attr, ok := a["provider"]; ok {
		switch s.Provider {
		case structs.ServiceProviderNomad:
		case structs.ServiceProviderConsul:
			d.feature(attr.Expr.Range(), "provider_consul")
			s.Provider = structs.ServiceProviderNomad
		default:
			d.errorf(attr.Expr.Range(), "Invalid provider", "provider must be \"nomad\", got %q", s.Provider)
		}
	} else {
		s.Provider = structs.ServiceProviderNomad
	}
	d.checkAddressMode(a, s.AddressMode)
	return s
}

// checkAddressMode reports an address_mode other than Nomad's four.
func (d *decoder) checkAddressMode(a hcl.Attributes, mode string) {
	if attr, ok := a["address_mode"]; ok {
		switch mode {
		case structs.AddressModeAuto, structs.AddressModeHost, structs.AddressModeAlloc, structs.AddressModeDriver:
		default:
			d.errorf(attr.Expr.Range(), "Invalid address_mode",
				"address_mode must be \"auto\", \"host\", \"alloc\" or \"driver\", got %q", mode)
		}
	}
}

// setOnUpdate decodes on_update, reporting a value Nomad does not know.
func (d *decoder) setOnUpdate(a hcl.Attributes, dst *string) {
	d.setString(a, "on_update", dst)
	if attr, ok := a["on_update"]; ok {
		switch *dst {
		case structs.OnUpdateRequireHealthy, structs.OnUpdateIgnoreWarn, structs.OnUpdateIgnore:
		default:
			d.errorf(attr.Expr.Range(), "Invalid on_update",
				"on_update must be %q, %q or %q, got %q", structs.OnUpdateRequireHealthy, structs.OnUpdateIgnoreWarn, structs.OnUpdateIgnore, *dst)
		}
	}
}

var checkRestartSpec = blockSpec{Attrs: []string{"limit", "grace", "ignore_warnings"}}

// decodeCheckRestart decodes a check_restart block (of a service or check).
func (d *decoder) decodeCheckRestart(b *hcl.Block) *structs.CheckRestart {
	r := &structs.CheckRestart{}
	c := d.content(b.Body, checkRestartSpec)
	a := c.Attributes
	if d.setInt(a, "limit", &r.Limit) && r.Limit < 0 {
		d.errorf(a["limit"].Expr.Range(), "Invalid limit", "limit cannot be negative, got %d", r.Limit)
	}
	d.setDuration(a, "grace", &r.Grace)
	d.setBool(a, "ignore_warnings", &r.IgnoreWarnings)
	return r
}

var checkSpec = blockSpec{
	Attrs: []string{"name", "type", "path", "method", "protocol", "interval", "timeout", "port", "expose",
		"command", "args", "address_mode", "tls_skip_verify", "body", "on_update", "task"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "header"}, {Type: "check_restart"}},
	Unsupported: []string{"initial_status", "grpc_service", "grpc_use_tls",
		"success_before_passing", "failures_before_critical",
		"failures_before_warning", "tls_server_name", "notes"},
}

// decodeCheck decodes a service's check block (http, tcp and script checks,
// run by the client).
func (d *decoder) decodeCheck(b *hcl.Block, path string) *structs.ServiceCheck {
	ck := &structs.ServiceCheck{}
	c := d.content(b.Body, checkSpec)
	a := c.Attributes
	d.recordAttrRanges(a, path+".", map[string]string{"port": "PortLabel", "task": "TaskName", "interval": "Interval",
		"timeout": "Timeout", "path": "Path", "protocol": "Protocol", "command": "Command", "name": "Name"})
	d.setString(a, "name", &ck.Name)
	d.setString(a, "type", &ck.Type)
	d.setString(a, "path", &ck.Path)
	d.setString(a, "method", &ck.Method)
	d.setString(a, "protocol", &ck.Protocol)
	d.setDuration(a, "interval", &ck.Interval)
	d.setDuration(a, "timeout", &ck.Timeout)
	d.setString(a, "port", &ck.PortLabel)
	d.setBool(a, "expose", &ck.Expose)
	d.setString(a, "command", &ck.Command)
	d.setStringList(a, "args", &ck.Args)
	d.setString(a, "address_mode", &ck.AddressMode)
	d.checkAddressMode(a, ck.AddressMode)
	d.setBool(a, "tls_skip_verify", &ck.TLSSkipVerify)
	d.setString(a, "body", &ck.Body)
	d.setOnUpdate(a, &ck.OnUpdate)
	d.setString(a, "task", &ck.TaskName)
	if hb := d.single(c, "header"); hb != nil {
		ck.Header = d.decodeHeader(hb)
	}
	if rb := d.single(c, "check_restart"); rb != nil {
		ck.CheckRestart = d.decodeCheckRestart(rb)
	}
	if attr, ok := a["type"]; ok {
		switch ck.Type {
		case structs.ServiceCheckHTTP, structs.ServiceCheckTCP, structs.ServiceCheckScript:
		case "grpc":
			d.errorf(attr.Expr.Range(), "Unsupported check type",
				"check type \"grpc\" is not supported by nomadlike; use \"http\" (a gRPC health gateway), \"tcp\" or \"script\" (grpc_health_probe in the task)")
		default:
			d.errorf(attr.Expr.Range(), "Unsupported check type",
				"check type %q is not supported by nomadlike; use \"http\", \"tcp\" or \"script\"", ck.Type)
		}
	}
	return ck
}

// decodeHeader decodes a check's header block: each attribute is a header
// name and a list of values (header { Authorization = ["Basic ..."] }).
func (d *decoder) decodeHeader(b *hcl.Block) map[string][]string {
	out := map[string][]string{}
	for name, attr := range d.justAttributes(b.Body) {
		var vals []string
		d.setStringList(hcl.Attributes{name: attr}, name, &vals)
		out[name] = vals
	}
	return out
}
