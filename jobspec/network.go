package jobspec

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var networkSpec = blockSpec{
	Attrs:  []string{"mode", "hostname", "mbits"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "port", LabelNames: []string{"label"}}, {Type: "dns"}, {Type: "cni"}},
}

var cniSpec = blockSpec{Attrs: []string{"args"}}

var dnsSpec = blockSpec{Attrs: []string{"servers", "searches", "options"}}

var portSpec = blockSpec{Attrs: []string{"static", "to", "host_network", "ignore_collision", "count"}}

// decodeNetwork decodes a network block: a port with static set becomes a
// reserved port, any other a dynamic port the scheduler picks. count (beyond
// Nomad) makes the port a range of contiguous ports.
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
		if d.setInt(pa, "count", &p.Count) {
			d.checkPortCount(pa["count"].Expr.Range(), p)
		}
		d.setString(pa, "host_network", &p.HostNetwork)
		d.setBool(pa, "ignore_collision", &p.IgnoreCollision)
		if static {
			for _, q := range n.ReservedPorts {
				if p.Value <= q.Last() && q.Value <= p.Last() {
					d.errorf(pa["static"].Expr.Range(), "Overlapping ports",
						"port %q (%s) overlaps port %q (%s) defined at line %d; give each static port or range its own ports",
						label, portSpan(p), q.Label, portSpan(q), seen[q.Label].DefRange.Start.Line)
					break
				}
			}
			n.ReservedPorts = append(n.ReservedPorts, p)
		} else {
			n.DynamicPorts = append(n.DynamicPorts, p)
		}
	}
	return n
}

// checkPortCount reports a port range's count out of bounds, or a range
// (static or mapped with to) that goes beyond port 65535, at rng.
func (d *decoder) checkPortCount(rng hcl.Range, p structs.Port) {
	switch {
	case p.Count < 1 || p.Count > structs.MaxPortCount:
		d.errorf(rng, "Invalid port count", "count of port %q must be between 1 and %d, got %d", p.Label, structs.MaxPortCount, p.Count)
	case p.Value > 0 && p.Last() > 65535:
		d.errorf(rng, "Invalid port count", "port %q: static = %d with count = %d ends at %d, beyond 65535; lower static or count", p.Label, p.Value, p.Count, p.Last())
	case p.To > 0 && p.To+p.Count-1 > 65535:
		d.errorf(rng, "Invalid port count", "port %q: to = %d with count = %d ends at %d, beyond 65535; lower to or count", p.Label, p.To, p.Count, p.To+p.Count-1)
	}
}

// portSpan is a static port or range as a user wrote it: "8080" or "30000-30099".
func portSpan(p structs.Port) string {
	if p.Span() == 1 {
		return strconv.Itoa(p.Value)
	}
	return fmt.Sprintf("%d-%d", p.Value, p.Last())
}
