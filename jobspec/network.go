package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var networkSpec = blockSpec{
	Attrs:  []string{"mode", "hostname", "mbits"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "port", LabelNames: []string{"label"}}, {Type: "dns"}, {Type: "cni"}},
}

var cniSpec = blockSpec{Attrs: []string{"args"}}

var dnsSpec = blockSpec{Attrs: []string{"servers", "searches", "options"}}

var portSpec = blockSpec{Attrs: []string{"static", "to", "host_network", "ignore_collision"}}

// decodeNetwork decodes a network block: a port with static set becomes a
// reserved port, any other a dynamic port the scheduler picks.
func (d *decoder) decodeNetwork(b *hcl.Block) *structs.NetworkResource {
	n := &structs.NetworkResource{}
	c := d.content(b.Body, networkSpec)
	a := c.Attributes
	d.setString(a, "mode", &n.Mode)
	d.setString(a, "hostname", &n.Hostname)
	d.setInt(a, "mbits", &n.MBits)
	if db := d.single(c, "dns"); db != nil {
		dc := d.content(db.Body, dnsSpec)
		n.DNS = &structs.DNSConfig{}
		d.setStringList(dc.Attributes, "servers", &n.DNS.Servers)
		d.setStringList(dc.Attributes, "searches", &n.DNS.Searches)
		d.setStringList(dc.Attributes, "options", &n.DNS.Options)
	}
	if cb := d.single(c, "cni"); cb != nil {
		cc := d.content(cb.Body, cniSpec)
		n.CNI = &structs.CNIConfig{}
		if a, ok := cc.Attributes["args"]; ok {
			n.CNI.Args = d.stringMap(a)
		}
	}
	seen := map[string]*hcl.Block{}
	for _, pb := range blocksOf(c, "port") {
		label := pb.Labels[0]
		if prev, ok := seen[label]; ok {
			d.errorf(pb.LabelRanges[0], "Duplicate port",
				"port %q is already defined at line %d; port labels must be unique", label, prev.DefRange.Start.Line)
			continue
		}
		seen[label] = pb
		p := structs.Port{Label: label}
		pc := d.content(pb.Body, portSpec)
		pa := pc.Attributes
		static := d.setInt(pa, "static", &p.Value)
		if static && (p.Value < 1 || p.Value > 65535) {
			d.errorf(pa["static"].Expr.Range(), "Invalid port", "static port %q must be between 1 and 65535, got %d", label, p.Value)
		}
		if d.setInt(pa, "to", &p.To) && (p.To < -1 || p.To > 65535) {
			d.errorf(pa["to"].Expr.Range(), "Invalid port", "to of port %q must be between -1 and 65535, got %d", label, p.To)
		}
		d.setString(pa, "host_network", &p.HostNetwork)
		d.setBool(pa, "ignore_collision", &p.IgnoreCollision)
		if static {
			n.ReservedPorts = append(n.ReservedPorts, p)
		} else {
			n.DynamicPorts = append(n.DynamicPorts, p)
		}
	}
	return n
}
